"""Per-row scores, and what scores rows: the seam between the block kinds and the code that reads,
scores and simulates feature files (which needs a block's axes and its scores, never its kind).

`Scorer` is the part of `ei_anomaly.blocks.AnomalyBlock` that feature files, streams and fleet logs
use; every block kind has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from . import rules

__all__ = ["Method", "Scorer", "Scores"]

Method = Literal["auto", "direct", "pruned"]  # how a K-means block's kernel runs (`ei_anomaly.scoring`)


@dataclass(frozen=True)
class Scores:
    """Per-row results. `score` is NaN and `nearest_cluster` -1 for unscorable rows."""

    score: npt.NDArray[np.float32]
    nearest_cluster: npt.NDArray[np.int32]
    scorable: npt.NDArray[np.bool_]

    def is_anomaly(self, threshold: float) -> npt.NDArray[np.bool_]:
        """SDK semantics: strictly greater than the threshold. False for unscorable rows."""
        return rules.is_anomaly(self.score, threshold)

    def count_anomalies(self, threshold: float) -> int:
        return rules.count_anomalies(self.score, threshold)

    def top_indices(self, n: int) -> npt.NDArray[np.intp]:
        """Row indices of the n highest scores, highest first, the earlier row first on ties
        (unscorable rows never included). A partial sort: O(rows), not O(rows log rows)."""
        n = min(n, int(self.scorable.sum()))
        if n <= 0:
            return np.zeros(0, np.int64)
        keyed = np.where(self.scorable, self.score, -np.inf)
        cutoff = np.partition(keyed, len(keyed) - n)[len(keyed) - n]
        candidates = np.flatnonzero(keyed >= cutoff)  # every tie at the cutoff, in row order
        order = np.argsort(-keyed[candidates], kind="stable")
        return candidates[order][:n]

    @property
    def unscorable_count(self) -> int:
        return int(np.count_nonzero(~self.scorable))


class Scorer(Protocol):
    """What scores rows of a feature file: a block's axes (feature indices, in order) and its scores."""

    @property
    def fingerprint(self) -> str:
        """Equal fingerprints score alike (cache keys, "is this the same block?")."""
        ...

    @property
    def axes(self) -> list[int]: ...
    @property
    def axis_labels(self) -> list[str]: ...
    @property
    def feature_names(self) -> dict[int, str]: ...
    def feature_label(self, index: int) -> str: ...
    @property
    def n_features_required(self) -> int: ...
    def score_axes(self, x_axes: npt.ArrayLike, method: Method = "auto") -> Scores:
        """Score rows whose columns are the block's axes in order; NaN/inf rows are unscorable."""
        ...
