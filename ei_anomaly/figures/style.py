"""One palette for every page: normal is blue, anomaly is red-orange, everywhere."""

NORMAL = "#2563eb"
ANOMALY = "#ea580c"
THRESHOLD = "#111827"
MUTED = "#94a3b8"
CLUSTER = "#0f766e"
ENGINE_COLORS = {"TFLite": "#94a3b8", "EON": "#2563eb", "EON RAM-optimized": "#0f766e"}
SEQUENCE = ["#2563eb", "#0f766e", "#7c3aed", "#db2777", "#ca8a04", "#0891b2", "#4d7c0f", "#9333ea"]
FONT = "Inter, system-ui, -apple-system, Segoe UI, sans-serif"


def label_color(label: str, is_anomaly: bool, index: int) -> str:
    """Anomalous labels are always ANOMALY; normal labels get distinct calm colours."""
    return ANOMALY if is_anomaly else SEQUENCE[index % len(SEQUENCE)]
