"""The Edge Impulse rules every path obeys, each written once.

- A window is an anomaly when its score is strictly greater than the threshold, both in
  float32 (the SDK's `result.anomaly > threshold` on the device).
- The anomaly threshold of a block is the one keyed `min_anomaly_score`; without thresholds,
  Studio's default 0.3.
- Scores are capped at 1000 (the SDK starts its minimum there).
- The device holds thresholds in float32: a value float32 cannot hold (beyond about ±3.4e38) is
  never written, and is a metadata error when read.
- A review shows the recommended model type, else the first one the block has.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

__all__ = [
    "ANOMALY_THRESHOLD_KEY",
    "FLOAT32_MAX",
    "SCORE_CAP",
    "STUDIO_DEFAULT_THRESHOLD",
    "choose_model_type",
    "count_anomalies",
    "fits_float32",
    "is_anomaly",
]

ANOMALY_THRESHOLD_KEY = "min_anomaly_score"
STUDIO_DEFAULT_THRESHOLD = 0.3
SCORE_CAP = np.float32(1000.0)
FLOAT32_MAX = float(np.finfo(np.float32).max)


def fits_float32(value: float) -> bool:
    """Whether float32 holds `value` as a finite number (it may round; it must not overflow)."""
    with np.errstate(over="ignore"):
        return bool(np.isfinite(np.float32(value)))


def is_anomaly(scores: npt.ArrayLike, threshold: float) -> npt.NDArray[np.bool_]:
    """Per score: strictly above the threshold, compared in float32 as the device does.
    NaN (unscorable) is never an anomaly."""
    flags: npt.NDArray[np.bool_] = np.asarray(scores, np.float32) > np.float32(threshold)
    return flags


def count_anomalies(scores: npt.ArrayLike, threshold: float) -> int:
    return int(np.count_nonzero(is_anomaly(scores, threshold)))


def choose_model_type(available: Iterable[str], recommended: str | None) -> str | None:
    """The recommended model type when the block has it, else the first; None when there is none."""
    types = list(available)
    if recommended is not None and recommended in types:
        return recommended
    return types[0] if types else None
