"""`AnomalyModel`: a validated K-means block plus what users of it need (scores, flags).

`ei_anomaly.gmm.GmmAnomalyModel` is its GMM counterpart (same scoring interface); `kind` tells
them apart for the views that need K-means clusters."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from . import rules
from .metadata import AnomalyMetadata, Threshold
from .rules import ANOMALY_THRESHOLD_KEY, STUDIO_DEFAULT_THRESHOLD
from .scoring import Method, score_features


class BlockKind(str, enum.Enum):
    """The anomaly learn block's `type` in the impulse (`GET /api/{projectId}/impulse`)."""

    KMEANS = "anomaly"
    GMM = "anomaly-gmm"

    @property
    def label(self) -> str:
        """How a page names the kind: K-means or GMM."""
        return "K-means" if self is BlockKind.KMEANS else "GMM"


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


@dataclass(frozen=True)
class AnomalyModel:
    """A K-means anomaly block. Build it with `ei_anomaly.load_metadata`."""

    metadata: AnomalyMetadata
    feature_names: dict[int, str] = field(default_factory=dict)

    @property
    def kind(self) -> BlockKind:
        return BlockKind.KMEANS

    @property
    def axes(self) -> list[int]:
        return list(self.metadata.axes)

    @cached_property
    def mean(self) -> npt.NDArray[np.float32]:
        return np.asarray(self.metadata.mean, np.float32)

    @cached_property
    def scale(self) -> npt.NDArray[np.float32]:
        return np.asarray(self.metadata.scale, np.float32)

    @cached_property
    def centers(self) -> npt.NDArray[np.float32]:
        """Cluster centers in scaled space, shape (clusters, axes)."""
        return np.asarray([c.center for c in self.metadata.clusters], np.float32)

    @cached_property
    def max_errors(self) -> npt.NDArray[np.float32]:
        return np.asarray([c.max_error for c in self.metadata.clusters], np.float32)

    @cached_property
    def fingerprint(self) -> str:
        """Identifies the scoring parameters (for cache keys): equal fingerprints score alike."""
        digest = hashlib.sha256()
        for part in (np.asarray(self.axes, np.int64), self.mean, self.scale, self.centers, self.max_errors):
            digest.update(part.tobytes())
        return digest.hexdigest()[:16]

    @property
    def n_clusters(self) -> int:
        return len(self.metadata.clusters)

    @property
    def n_features_required(self) -> int:
        """How many columns a full feature vector needs for the highest axis index."""
        return max(self.axes) + 1

    def feature_label(self, index: int) -> str:
        return self.feature_names.get(index) or f"feature {index}"

    @property
    def axis_labels(self) -> list[str]:
        return [self.feature_label(ix) for ix in self.axes]

    def centers_in_original_units(self) -> npt.NDArray[np.floating]:
        return self.to_original(self.centers)

    def to_scaled(self, x_axes: npt.ArrayLike) -> npt.NDArray[np.floating]:
        """Axis values (columns in axis order) -> the scaled space the clusters live in."""
        return (np.asarray(x_axes, np.float32) - self.mean) / self.scale

    def to_original(self, z: npt.ArrayLike) -> npt.NDArray[np.floating]:
        """Scaled-space values (columns in axis order) -> original feature units."""
        return np.asarray(z, np.float32) * self.scale + self.mean

    def axis_to_original(self, values: npt.ArrayLike, j: int) -> npt.NDArray[np.floating]:
        """Scaled values of axis j alone -> original units of that feature."""
        # numpy's stubs lose the dtype of array * scalar (Any); the result is float32 here
        original: npt.NDArray[np.floating] = np.asarray(values, np.float32) * self.scale[j] + self.mean[j]
        return original

    @property
    def anomaly_threshold(self) -> Threshold | None:
        """The block's own anomaly threshold entry, if it carries one."""
        for t in self.metadata.thresholds:
            if t.key == ANOMALY_THRESHOLD_KEY:
                return t
        numeric = [t for t in self.metadata.thresholds if t.numeric_value is not None]
        return numeric[0] if numeric else None

    @property
    def default_threshold(self) -> float:
        """`min_anomaly_score`'s value, else the first numeric threshold, else Studio's 0.3."""
        t = self.anomaly_threshold
        if t is not None and t.numeric_value is not None:
            return t.numeric_value
        return STUDIO_DEFAULT_THRESHOLD

    def _score(self, x: npt.ArrayLike, columns: npt.NDArray[np.int64], method: Method) -> Scores:
        score, nearest = score_features(
            np.asarray(x), columns, self.mean, self.scale, self.centers, self.max_errors, method
        )
        return Scores(score=score, nearest_cluster=nearest, scorable=~np.isnan(score))

    def score_axes(self, x_axes: npt.ArrayLike, method: Method = "auto") -> Scores:
        """Score rows whose columns are the block's axes in order; NaN/inf rows are unscorable."""
        x = np.asarray(x_axes)
        if x.ndim != 2 or x.shape[1] != len(self.axes):
            raise ValueError(f"expected {len(self.axes)} columns (one per axis), got shape {x.shape}")
        return self._score(x, np.arange(len(self.axes)), method)

    def score_full(self, features: npt.ArrayLike, method: Method = "auto") -> Scores:
        """Score FULL feature vectors (column i is feature index i)."""
        return self._score(features, np.asarray(self.axes), method)

    def score(self, features: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Anomaly score per row of FULL feature vectors, as the device computes it."""
        return self.score_full(features).score

    def nearest_cluster(self, features: npt.ArrayLike) -> npt.NDArray[np.int32]:
        return self.score_full(features).nearest_cluster

    def is_anomaly(self, features: npt.ArrayLike, threshold: float | None = None) -> npt.NDArray[np.bool_]:
        t = self.default_threshold if threshold is None else threshold
        return self.score_full(features).is_anomaly(t)
