"""K-means anomaly blocks (`anomaly`): a feature scaler and clusters, scored with the SDK's arithmetic.

The score of a window is its distance, in the scaler's units, from the nearest cluster's edge
(`ei_anomaly.scoring` has the SDK's loop and the kernels that reproduce it bit for bit). Its map is
the clusters' circles in that scaled space; a window's score decomposes axis by axis (`explain`);
`handoff` writes a policy for its arrays.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..errors import FeatureFileError, MetadataError
from ..explanation import AxisShare, WindowExplanation
from ..metadata import GMM_METADATA_ALONE, AnomalyMetadata, check_common_fields
from ..rules import SCORE_CAP
from ..scores import Method
from ..scoring import score_features
from .base import BlockBase, MapOverlay, ScoreDefinition, Scores, Units
from .parts import BlockFiles, BlockKind, DeviceMargin, KMeansParameters, ScoringSetup

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


__all__ = ["KMeansBlock", "KMeansParameters", "check_kmeans_fields"]

SUMMARY = (
    "Each window's features are standard-scaled ((value − mean) / scale); its score is the Euclidean "
    "distance to the nearest cluster center minus that cluster's radius (maxError), "
    f"capped at {SCORE_CAP:g}, "
    "computed in float32 exactly as the Edge Impulse SDK does on the device. Negative means inside a "
    "cluster; a window is an anomaly when its score is strictly greater than the threshold."
)
DEFINITION = ScoreDefinition(
    formula=(
        "x[j]  = f[axes[j]]",
        "z[j]  = (x[j] - mean[j]) / scale[j]",
        "score = min(1000, min over clusters k of ( sqrt(sum_j (z[j] - center_k[j])^2) - maxError_k ))",
    ),
    meaning="the distance from the nearest cluster's edge in scaled units: negative inside a cluster",
    exact_to=(
        "the Edge Impulse SDK's float32 arithmetic, bit for bit, on every target (a Linux/x86 runner, a Cortex-M "
        "with an FPU: its one multiply-add is accumulated in double, exact either way)"
    ),
    summary=SUMMARY,
    threshold_hint=(
        "Scores are distances from the nearest cluster's edge in scaled units, not probabilities: negative is "
        "inside a cluster. A window is an anomaly when its score is **strictly greater** than the threshold. "
        "Fewer clusters give larger scores."
    ),
)
MAP_CAPTION = (
    "Each circle is one cluster's edge: radius `maxError` around its center, in the scaled space the device "
    "uses. Inside a circle the score is negative; on it, 0. On two axes the circle is the exact shadow of the "
    "cluster's ball, so a point inside it can still be far off on another axis."
)


def check_kmeans_fields(meta: AnomalyMetadata) -> None:
    """Raise MetadataError when the metadata cannot describe a scorable K-means block."""
    n = len(meta.axes)
    if not meta.clusters and len(meta.mean) == 1 and len(meta.scale) == 1 and n > 1:
        raise MetadataError(GMM_METADATA_ALONE)
    if "clusters" not in meta.model_fields_set:  # optional only for GMM blocks
        raise MetadataError("`clusters`: field is required")
    for name in ("mean", "scale"):
        size = len(getattr(meta, name))
        if size != n:
            raise MetadataError(f"`{name}` has {size} values but `axes` has {n}")
    if not meta.clusters:
        raise MetadataError("`clusters` is empty; retrain the anomaly block")
    for i, cluster in enumerate(meta.clusters):
        if len(cluster.center) != n:
            raise MetadataError(f"`clusters[{i}].center` has {len(cluster.center)} values but `axes` has {n}")
    zero = [i for i, s in enumerate(meta.scale) if s == 0]
    if zero:
        raise MetadataError(f"`scale[{zero[0]}]` is 0; scaling would divide by zero")
    check_common_fields(meta)


@dataclass(frozen=True)
class KMeansBlock(BlockBase):
    """A K-means anomaly block. Build it with `ei_anomaly.load_block` (or `KMeansBlock.from_metadata`)."""

    @classmethod
    def from_metadata(
        cls, meta: AnomalyMetadata, feature_names: dict[int, str] | None = None, setup: ScoringSetup | None = None
    ) -> KMeansBlock:
        """The block of validated metadata; raises MetadataError when it is not a K-means block's."""
        check_kmeans_fields(meta)
        if setup is not None and setup.normalization is not None and len(setup.normalization.mean) != len(meta.axes):
            raise MetadataError("the data normalization has a value per axis; the counts differ")
        return cls(meta, dict(feature_names or {}), setup or ScoringSetup())

    @property
    def kind(self) -> BlockKind:
        return BlockKind.KMEANS

    @property
    def title(self) -> str:
        return "K-means anomaly block"

    @property
    def units(self) -> Units:
        return Units("cluster", self.n_clusters)

    @property
    def score_definition(self) -> ScoreDefinition:
        return DEFINITION

    @property
    def target_matters(self) -> bool:
        return False

    @property
    def device_margin(self) -> DeviceMargin | None:
        return None  # exact on x86 and on Cortex-M4F, M33 and M7 (docs/gmm.md)

    @property
    def nearest_column(self) -> str:
        return "nearest cluster"

    def threshold_words(self, value: float) -> str:
        if value >= 0:
            return f"it lies more than {value:.4g} (scaled units) outside the edge of its nearest cluster"
        return f"it lies less than {-value:.4g} (scaled units) inside the edge of its nearest cluster, or outside it"

    @cached_property
    def parameters(self) -> KMeansParameters:
        meta = self.metadata
        return KMeansParameters(
            np.asarray(meta.axes, np.int64),
            np.asarray(meta.mean, np.float32),
            np.asarray(meta.scale, np.float32),
            np.asarray([c.center for c in meta.clusters], np.float32),
            np.asarray([c.max_error for c in meta.clusters], np.float32),
        )

    # The SDK's arrays by name, as scikit-learn's KMeans has `cluster_centers_` (K-means blocks only).
    @property
    def mean(self) -> npt.NDArray[np.float32]:
        return self.parameters.mean

    @property
    def scale(self) -> npt.NDArray[np.float32]:
        return self.parameters.scale

    @property
    def centers(self) -> npt.NDArray[np.float32]:
        """Cluster centers in scaled space, shape (clusters, axes)."""
        return self.parameters.centers

    @property
    def max_errors(self) -> npt.NDArray[np.float32]:
        return self.parameters.max_errors

    @property
    def n_clusters(self) -> int:
        return len(self.parameters.centers)

    def to_original(self, z: npt.ArrayLike) -> npt.NDArray[np.floating]:
        """Scaled-space values (columns in axis order) -> the features' original units."""
        return self._to_original(z)

    def centers_in_original_units(self) -> npt.NDArray[np.floating]:
        return self._to_original(self.parameters.centers)

    @cached_property
    def fingerprint(self) -> str:
        p = self.parameters
        digest = hashlib.sha256()
        for part in (p.axes, p.mean, p.scale, p.centers, p.max_errors):
            digest.update(part.tobytes())
        digest.update(self._setup_digest())
        return digest.hexdigest()[:16]

    def _score_rows(self, x: npt.NDArray[np.generic], columns: npt.NDArray[np.int64], method: Method) -> Scores:
        p = self.parameters
        score, nearest = score_features(x, columns, p.mean, p.scale, p.centers, p.max_errors, method)
        return Scores(score=score, nearest_cluster=nearest, scorable=~np.isnan(score))

    # --- the map: the clusters in the scaled space the device uses

    @property
    def map_caption(self) -> str:
        return MAP_CAPTION

    @property
    def has_scaled_space(self) -> bool:
        return True

    def to_map(self, axis_values: npt.ArrayLike) -> npt.NDArray[np.floating]:
        p = self.parameters
        x = self._as_scored(np.asarray(axis_values, np.float32))
        scaled: npt.NDArray[np.floating] = (np.asarray(x, np.float32) - p.mean) / p.scale
        return scaled

    def _to_original(self, z: npt.ArrayLike, j: int | None = None) -> npt.NDArray[np.floating]:
        """Scaled values (every axis, or axis `j` alone) -> the features' original units (the raw DSP
        output's, when rows are normalized with an export's constants first)."""
        p = self.parameters
        mean, scale = (p.mean, p.scale) if j is None else (p.mean[j], p.scale[j])
        original: npt.NDArray[np.floating] = np.asarray(z, np.float32) * scale + mean
        norm = self.setup.normalization
        if norm is not None and self.setup.normalizes_rows:
            u, s = (norm.mean, norm.inverse_scale) if j is None else (norm.mean[j], norm.inverse_scale[j])
            original = original / s + u
        return original

    def map_figure(
        self, ax1: int, ax2: int, overlays: Sequence[MapOverlay] = (), original_units: bool = False
    ) -> go.Figure:
        from ..figures.clusters import fig_cluster_map

        p, labels = self.parameters, self.axis_labels
        centers = self._to_original(p.centers) if original_units else p.centers
        if original_units:
            overlays = [
                (name, self._to_original(x, ax1), self._to_original(y, ax2), color) for name, x, y, color in overlays
            ]
        stretch = (float(p.scale[ax1]), float(p.scale[ax2])) if original_units else (1.0, 1.0)
        unit = "" if original_units else " (scaled)"
        titles = (labels[ax1] + unit, labels[ax2] + unit)
        return fig_cluster_map(centers[:, [ax1, ax2]], p.max_errors, titles, overlays, stretch)

    def figure_3d(self, picks: Sequence[int]) -> go.Figure:
        from ..figures.clusters import fig_cluster_3d

        labels, p = self.axis_labels, self.parameters
        chosen = list(picks)
        titles = (labels[chosen[0]], labels[chosen[1]], labels[chosen[2]])
        return fig_cluster_3d(p.centers[:, chosen], p.max_errors, titles)

    def parallel_figure(self) -> go.Figure:
        from ..figures.clusters import fig_parallel_centers

        return fig_parallel_centers(self.parameters.centers, self.parameters.max_errors, self.axis_labels)

    def unit_table(self) -> pd.DataFrame:
        import pandas as pd

        labels = self.axis_labels
        table = pd.DataFrame(self._to_original(self.parameters.centers), columns=labels)
        table.insert(0, "cluster", range(self.units.count))
        table["maxError (scaled)"] = self.parameters.max_errors
        return table

    @property
    def unit_table_note(self) -> str:
        return "Centers in original units (center × scale + mean); maxError is a distance in scaled space."

    def axes_table(self) -> pd.DataFrame:
        import pandas as pd

        p = self.parameters
        return pd.DataFrame({**self.axis_table_start(), "mean": p.mean, "scale": p.scale})

    # --- explaining a window, and the firmware hand-off

    @property
    def explain_refusal(self) -> str | None:
        return None

    def explain(self, axis_values: npt.ArrayLike, row: int | None = None) -> WindowExplanation:
        """`axis_values`: the window's features on the block's axes, in axis order."""
        p = self.parameters
        raw = np.asarray(axis_values, np.float32).reshape(-1)
        if raw.shape[0] != len(self.axes):
            raise ValueError(f"{raw.shape[0]} values for {len(self.axes)} axes")
        where = f"row {row}" if row is not None else "the window"
        if not np.isfinite(raw).all():
            raise FeatureFileError(f"{where} has an empty or non-numeric feature: it has no score to explain")
        scored = self.score_axes(raw[None, :])
        x = np.asarray(self._as_scored(raw), np.float32)
        k = int(scored.nearest_cluster[0])
        f32 = np.float32
        z = ((x - p.mean) / p.scale).astype(f32)
        d = (z - p.centers[k]).astype(f32)
        squared = d.astype(np.float64) * d.astype(np.float64)
        acc = f32(0.0)
        for term in squared:
            acc = f32(float(acc) + float(term))
        total = float(squared.sum())
        recomputed = f32(np.sqrt(acc)) - p.max_errors[k]
        labels = self.axis_labels
        return WindowExplanation(
            row=row,
            score=float(scored.score[0]),
            cluster=k,
            max_error=float(p.max_errors[k]),
            squared_distance=float(acc),
            recomputed=float(recomputed),
            axes=[
                AxisShare(
                    labels[j],
                    float(x[j]),
                    float(z[j]),
                    float(p.centers[k][j]),
                    float(squared[j]),
                    float(squared[j] / total) if total > 0 else 0.0,
                )
                for j in range(len(labels))
            ],
            scaled=z,
        )

    def handoff_parameters(self) -> KMeansParameters:
        return self.parameters

    def open_scoring(self) -> int:
        return 0

    def files(self, metadata_fields: set[str] | None = None) -> BlockFiles:
        return BlockFiles(
            self.metadata.model_dump(mode="json", by_alias=True, include=metadata_fields), setup=self.setup
        )

    # --- parity with another block

    def parity_arrays(self) -> dict[str, npt.NDArray[np.float32]]:
        p = self.parameters
        return {"mean": p.mean, "scale": p.scale, "centers": p.centers, "maxError": p.max_errors}

    def probe_rows(self, count: int) -> npt.NDArray[np.float32]:
        """Each cluster's centre and points on and around its edge, in the block's own axis units."""
        p = self.parameters
        rng = np.random.default_rng(0)
        k = rng.integers(0, len(p.centers), count)
        direction = rng.standard_normal((count, len(self.axes))).astype(np.float32)
        direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), np.float32(1e-12))
        radius = p.max_errors[k] * rng.choice(np.asarray([0.0, 0.5, 1.0, 1.5, 3.0], np.float32), count)
        z = p.centers[k] + direction * radius[:, None]
        rows: npt.NDArray[np.float32] = (z * p.scale + p.mean).astype(np.float32)
        return rows

    def with_feature_names(self, names: dict[int, str]) -> KMeansBlock:
        return dataclasses.replace(self, feature_names=dict(names))
