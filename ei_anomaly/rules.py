"""The Edge Impulse rules every path obeys, each written once.

- A window is an anomaly when its score is strictly greater than the threshold, both in
  float32 (the SDK's `result.anomaly > threshold` on the device).
- The anomaly threshold of a block is the one keyed `min_anomaly_score`; without thresholds,
  Studio's default 0.3.
- Scores are capped at 1000 (the SDK starts its minimum there).
- A review shows the recommended model type, else the first one the block has.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

__all__ = [
    "ANOMALY_THRESHOLD_KEY",
    "SCORE_CAP",
    "STUDIO_DEFAULT_THRESHOLD",
    "choose_model_type",
    "count_anomalies",
    "is_anomaly",
]

ANOMALY_THRESHOLD_KEY = "min_anomaly_score"
STUDIO_DEFAULT_THRESHOLD = 0.3
SCORE_CAP = np.float32(1000.0)


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
