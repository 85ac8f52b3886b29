"""What the clusters map shows first, and a scored file's rows on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..evaluation import downsample_keep_flagged
from ..model import AnomalyModel
from ..scored_file import ScoredFile

__all__ = ["ScoredPoints", "default_map_axes", "scored_points"]


def default_map_axes(model: AnomalyModel) -> tuple[int, int]:
    """The two axes the map opens on: the first two (the same one twice for a one-axis block)."""
    return 0, min(1, len(model.axes) - 1)


@dataclass(frozen=True)
class ScoredPoints:
    """A scored file's rows in the clusters' scaled space (columns in axis order), at most
    `max_points` in all: every anomaly first, then a seeded sample of the rest."""

    normal: npt.NDArray[np.float32]
    anomalies: npt.NDArray[np.float32]
    sampled: bool  # fewer rows than the file has scorable ones


def scored_points(model: AnomalyModel, scored: ScoredFile, threshold: float, max_points: int) -> ScoredPoints:
    flags = scored.scores.is_anomaly(threshold)
    keep = downsample_keep_flagged(flags, max_points)
    keep = keep[scored.scores.scorable[keep]]
    z = model.to_scaled(scored.axis_values[keep])
    sampled = len(keep) < int(np.count_nonzero(scored.scores.scorable))
    return ScoredPoints(z[~flags[keep]], z[flags[keep]], sampled)
