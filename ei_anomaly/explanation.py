"""A window's score explained, for block kinds whose score decomposes axis by axis (K-means:
`ei_anomaly.blocks.KMeansBlock.explain` computes it): its nearest cluster (the SDK's) and each
axis's share of the squared distance to that cluster's center, in the scaled space the device uses.

The score is `sqrt(sum_j d_j^2) - maxError_k` with `d_j = z_j - center_k[j]`, so the squared terms
decompose it exactly: each axis's share is `d_j^2 / sum_j d_j^2`. The terms are computed with the
SDK's own float32 steps (the accumulation through a double, as C++ `pow(float, 2)` does), and
`recomputed` is the score rebuilt from them: it equals the scorer's, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["AxisShare", "WindowExplanation"]


@dataclass(frozen=True)
class AxisShare:
    label: str
    value: float  # the window's feature, original units
    scaled: float  # z
    center: float  # the nearest cluster's center on this axis, scaled
    squared: float  # (z - center)^2, exact (double) from the float32 difference
    share: float  # of the squared distance, 0..1


@dataclass(frozen=True)
class WindowExplanation:
    row: int | None
    score: float
    cluster: int
    max_error: float
    squared_distance: float  # the SDK's float32 accumulation
    recomputed: float  # sqrt(squared_distance) - maxError, float32: equals `score`
    axes: list[AxisShare]
    scaled: npt.NDArray[np.float32]  # the window in scaled space, axis order

    @property
    def top(self) -> AxisShare:
        return max(self.axes, key=lambda a: a.share)

    def sentence(self) -> str:
        """One line: `score 0.82: 1.79 from cluster 12 (edge at 0.97); accY RMS gives 71% of it`."""
        return (
            f"score {self.score:.4g}: distance {np.sqrt(self.squared_distance):.4g} from cluster {self.cluster}'s "
            f"center, whose edge is at {self.max_error:.4g}; {self.top.label} gives {self.top.share:.0%} of the "
            "squared distance"
        )
