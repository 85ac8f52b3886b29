"""Input limits, checked before the work: one visitor's file must not take a shared server down.

Defaults suit a team dashboard on a small server; a deployer changes them with environment
variables (read when a file is loaded, so `st.secrets` is not involved):

| variable | default | bounds |
|---|---|---|
| `ANOMALY_LENS_MAX_METADATA_MB` | 32 | metadata JSON size; each file read from a deployment export |
| `ANOMALY_LENS_MAX_EXPORT_MB` | 200 | a deployment export's `.zip` |
| `ANOMALY_LENS_MAX_MODEL_VALUES` | 2,000,000 | clusters x axes |
| `ANOMALY_LENS_MAX_TEXT_CHARS` | 10,000 | each text field of the metadata |
| `ANOMALY_LENS_MAX_FEATURE_FILE_MB` | 2,048 | feature file size (CSV or Parquet) |
| `ANOMALY_LENS_MAX_ROWS` | 10,000,000 | feature file rows |
| `ANOMALY_LENS_MAX_COLUMNS` | 20,000 | feature file columns |
| `ANOMALY_LENS_MAX_DECODED_MB` | 2,048 | a file's decoded size (Parquet: from its footer) |
| `ANOMALY_LENS_MAX_HELD_ITEMS` | 32 | models and uploads the app holds for all visitors together |
| `ANOMALY_LENS_MAX_HELD_MB` | 6,144 | their size in memory, all visitors together |
| `ANOMALY_LENS_MAX_HELD_ITEMS_PER_VISITOR` | 8 | of those, what one visitor (one session) may hold |
| `ANOMALY_LENS_MAX_HELD_MB_PER_VISITOR` | 1,536 | and their size in memory |
| `ANOMALY_LENS_MAX_COMPONENTS` | 1,000 | a GMM block's components |
| `ANOMALY_LENS_MAX_MODEL_MEMORY_MB` | 1,024 | the memory of a GMM model file's worker process (its address space) |
| `ANOMALY_LENS_MAX_MODEL_CPU_SECONDS` | 30 | a model worker's CPU time per call (loading, or 65,536 rows) |
| `ANOMALY_LENS_MAX_MODEL_WORKERS` | 4 | model workers kept running at once (an idle one is stopped for a new one) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from .errors import ConfigError

MB = 1024 * 1024
_ENV = {
    "metadata_bytes": ("ANOMALY_LENS_MAX_METADATA_MB", MB),
    "export_bytes": ("ANOMALY_LENS_MAX_EXPORT_MB", MB),
    "model_values": ("ANOMALY_LENS_MAX_MODEL_VALUES", 1),
    "text_chars": ("ANOMALY_LENS_MAX_TEXT_CHARS", 1),
    "feature_file_bytes": ("ANOMALY_LENS_MAX_FEATURE_FILE_MB", MB),
    "rows": ("ANOMALY_LENS_MAX_ROWS", 1),
    "columns": ("ANOMALY_LENS_MAX_COLUMNS", 1),
    "decoded_bytes": ("ANOMALY_LENS_MAX_DECODED_MB", MB),
    "held_items": ("ANOMALY_LENS_MAX_HELD_ITEMS", 1),
    "held_bytes": ("ANOMALY_LENS_MAX_HELD_MB", MB),
    "held_share_items": ("ANOMALY_LENS_MAX_HELD_ITEMS_PER_VISITOR", 1),
    "held_share_bytes": ("ANOMALY_LENS_MAX_HELD_MB_PER_VISITOR", MB),
    "components": ("ANOMALY_LENS_MAX_COMPONENTS", 1),
    "model_memory_bytes": ("ANOMALY_LENS_MAX_MODEL_MEMORY_MB", MB),
    "model_cpu_seconds": ("ANOMALY_LENS_MAX_MODEL_CPU_SECONDS", 1),
    "model_workers": ("ANOMALY_LENS_MAX_MODEL_WORKERS", 1),
}


@dataclass(frozen=True)
class Limits:
    """Largest inputs accepted. Byte sizes are in bytes here, in MB in the environment."""

    metadata_bytes: int = 32 * MB
    export_bytes: int = 200 * MB
    model_values: int = 2_000_000
    text_chars: int = 10_000
    feature_file_bytes: int = 2048 * MB
    rows: int = 10_000_000
    columns: int = 20_000
    decoded_bytes: int = 2048 * MB
    held_items: int = 32
    held_bytes: int = 6144 * MB
    held_share_items: int = 8
    held_share_bytes: int = 1536 * MB
    components: int = 1_000
    model_memory_bytes: int = 1024 * MB
    model_cpu_seconds: int = 30
    model_workers: int = 4

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """Defaults, overridden by the ANOMALY_LENS_MAX_* variables (positive whole numbers)."""
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            name, unit = _ENV[f.name]
            raw = env.get(name, "").strip().replace("_", "").replace(",", "")
            if not raw:
                continue
            if not raw.isdigit() or int(raw) == 0:
                raise ConfigError(f"{name} must be a positive whole number, not {raw[:40]!r}")
            values[f.name] = int(raw) * unit
        return cls(**values)

    @staticmethod
    def variable(field_name: str) -> str:
        """The environment variable that sets one limit (for messages)."""
        return _ENV[field_name][0]


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KB'; powers of 1024, as the limits are set in MB."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"  # unreachable


def too_big(what: str, size: str, limit: str, field_name: str) -> str:
    """One message shape for every refused input: what, how big, the limit, and who can change it."""
    return (
        f"{what} is {size}; the limit is {limit}. Use a smaller file, or ask whoever runs Anomaly Lens "
        f"to raise `{Limits.variable(field_name)}`."
    )
