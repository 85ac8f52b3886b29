"""Explain one window's score: its nearest cluster (the SDK's) and each axis's share of the
squared distance to that cluster's center, in the scaled space the device uses.

The score is `sqrt(sum_j d_j^2) - maxError_k` with `d_j = z_j - center_k[j]`, so the squared terms
decompose it exactly: each axis's share is `d_j^2 / sum_j d_j^2`. The terms are computed with the
SDK's own float32 steps (the accumulation through a double, as C++ `pow(float, 2)` does), and
`recomputed` is the score rebuilt from them: it equals the scorer's, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..errors import FeatureFileError, UsageError
from ..model import AnomalyModel, BlockKind

__all__ = ["NOT_FOR_GMM", "AxisShare", "WindowExplanation", "explain_window"]

NOT_FOR_GMM = (
    "Explaining a window by its nearest cluster applies to K-means blocks. A GMM block's score is the "
    "standardised log-likelihood of the whole mixture, with no per-axis decomposition; the Clusters page "
    "shows the window beside the mixture's components."
)


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


def explain_window(model: AnomalyModel, axis_values: npt.ArrayLike, row: int | None = None) -> WindowExplanation:
    """`axis_values`: the window's features on the block's axes, in axis order (K-means blocks only)."""
    if model.kind is BlockKind.GMM:
        raise UsageError(NOT_FOR_GMM)
    x = np.asarray(axis_values, np.float32).reshape(-1)
    if x.shape[0] != len(model.axes):
        raise ValueError(f"{x.shape[0]} values for {len(model.axes)} axes")
    where = f"row {row}" if row is not None else "the window"
    if not np.isfinite(x).all():
        raise FeatureFileError(f"{where} has an empty or non-numeric feature: it has no score to explain")
    scored = model.score_axes(x[None, :])
    k = int(scored.nearest_cluster[0])
    f32 = np.float32
    z = ((x - model.mean) / model.scale).astype(f32)
    d = (z - model.centers[k]).astype(f32)
    squared = d.astype(np.float64) * d.astype(np.float64)
    acc = f32(0.0)
    for term in squared:
        acc = f32(float(acc) + float(term))
    total = float(squared.sum())
    recomputed = f32(np.sqrt(acc)) - model.max_errors[k]
    labels = model.axis_labels
    return WindowExplanation(
        row=row,
        score=float(scored.score[0]),
        cluster=k,
        max_error=float(model.max_errors[k]),
        squared_distance=float(acc),
        recomputed=float(recomputed),
        axes=[
            AxisShare(
                labels[j],
                float(x[j]),
                float(z[j]),
                float(model.centers[k][j]),
                float(squared[j]),
                float(squared[j] / total) if total > 0 else 0.0,
            )
            for j in range(len(labels))
        ],
        scaled=z,
    )
