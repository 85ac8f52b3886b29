"""One palette for every page and the report: Okabe and Ito's colour-blind-safe colours
(Okabe & Ito, "Color Universal Design", 2008), told apart under every common colour-vision
deficiency. Normal is blue, anomaly is vermillion, everywhere; anomalies also carry a second cue
that does not need colour: a triangle marker (`ANOMALY_SYMBOL`) or a hatched bar (`ANOMALY_PATTERN`)."""

# Okabe-Ito: blue, vermillion, bluish green, reddish purple, orange, sky blue, yellow, black.
OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish_green": "#009E73",
    "reddish_purple": "#CC79A7",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
NORMAL = OKABE_ITO["blue"]
ANOMALY = OKABE_ITO["vermillion"]
THRESHOLD = "#111827"
MUTED = "#8c8c8c"  # a neutral grey: context (trained windows, envelopes), not a series of its own
CLUSTER = OKABE_ITO["bluish_green"]
ENGINE_COLORS = {"TFLite": OKABE_ITO["sky_blue"], "EON": OKABE_ITO["blue"], "EON RAM-optimized": OKABE_ITO["orange"]}
# Normal labels and other series, in order (never the anomaly's vermillion; yellow last: it is faint on white).
SEQUENCE = [
    OKABE_ITO["blue"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["orange"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
    OKABE_ITO["yellow"],
]
NORMAL_SYMBOL = "circle"
ANOMALY_SYMBOL = "triangle-up"  # 2-D markers; WebGL 3-D traces have fewer shapes: ANOMALY_SYMBOL_3D
ANOMALY_SYMBOL_3D = "diamond"
ANOMALY_PATTERN = {"shape": "/", "fgcolor": "#ffffff", "fgopacity": 0.6, "size": 6}  # hatched bars
FONT = "Inter, system-ui, -apple-system, Segoe UI, sans-serif"


def label_color(label: str, is_anomaly: bool, index: int) -> str:
    """Anomalous labels are always ANOMALY; normal labels get distinct calm colours."""
    return ANOMALY if is_anomaly else SEQUENCE[index % len(SEQUENCE)]


def symbol_for(color: str, three_d: bool = False) -> str:
    """The marker shape of a series drawn in `color`: the anomaly's own shape, else a circle."""
    if color != ANOMALY:
        return NORMAL_SYMBOL
    return ANOMALY_SYMBOL_3D if three_d else ANOMALY_SYMBOL
