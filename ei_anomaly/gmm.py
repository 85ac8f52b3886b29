"""GMM anomaly blocks (`anomaly-gmm`): the mixture from `gmm/metadata` and the block's scorer.

A GMM block has no clusters, and its metadata's `mean`/`scale` (one value each) standardise the
training log-likelihoods, not the features (docs/gmm.md). Its score is what the block's own
float32 TFLite graph outputs; `GmmAnomalyModel` scores with that file through LiteRT's reference
kernels (`litert_scoring`). It is an `AnomalyModel`, so every path that scores through one
(`score_axes`, `score_full`: the app, `score`, `batch`, the report) scores GMM blocks too; views
that need K-means clusters ask `model.kind` first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import MetadataError
from .limits import Limits, too_big
from .litert_scoring import ReferenceScorer
from .model import AnomalyModel, BlockKind, Scores
from .scoring import Method

__all__ = ["GmmAnomalyModel", "GmmParameters", "parse_gmm"]


class _GmmAnswer(BaseModel):
    """`AnomalyGmmMetadataResponse` of the official API models, without `success`/`error`."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    means: list[list[float]]
    covariances: list[list[list[float]]]
    weights: list[float]


@dataclass(frozen=True)
class GmmParameters:
    """means (n, m), full covariances (n, m, m), weights (n), as float64."""

    means: npt.NDArray[np.float64]
    covariances: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]

    @property
    def n_components(self) -> int:
        return int(self.weights.shape[0])

    @cached_property
    def _precision_cholesky(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per component: the upper Cholesky factor of the precision and log det of it."""
        chol = np.linalg.cholesky(self.covariances)  # lower L with Sigma = L L^T
        eye = np.eye(self.means.shape[1])
        inv_t = np.stack([np.linalg.solve(c, eye).T for c in chol])  # L^-T: x @ L^-T gives the whitened rows
        log_det = -np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        return inv_t, log_det

    def weighted_log_densities(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """log w_k + log N(x; mu_k, Sigma_k) per row and component, in float64 (for explanations)."""
        rows = np.asarray(x, np.float64)
        prec, log_det = self._precision_cholesky
        m = self.means.shape[1]
        out = np.empty((len(rows), self.n_components))
        for k in range(self.n_components):
            y = (rows - self.means[k]) @ prec[k]
            out[:, k] = -0.5 * (m * np.log(2 * np.pi) + np.einsum("ij,ij->i", y, y)) + log_det[k]
        return out + np.log(self.weights)

    def most_likely_component(self, x: npt.ArrayLike) -> npt.NDArray[np.int32]:
        if len(np.asarray(x)) == 0:
            return np.zeros(0, np.int32)
        return np.asarray(np.argmax(self.weighted_log_densities(x), axis=1), np.int32)

    def to_answer(self) -> dict[str, Any]:
        """The `gmm/metadata` answer for these parameters."""
        return {
            "success": True,
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
            "weights": self.weights.tolist(),
        }


def parse_gmm(data: dict[str, Any], n_axes: int, limits: Limits | None = None) -> GmmParameters:
    """Validate a `gmm/metadata` answer against the block's axes; raise MetadataError naming the field."""
    limits = limits or Limits.from_env()
    if not isinstance(data, dict):
        raise MetadataError("gmm: expected a JSON object with `means`, `covariances`, `weights`")
    if data.get("success") is False:
        raise MetadataError(f"gmm: the API reported failure: {str(data.get('error') or 'no reason given')[:500]}")
    means, weights = data.get("means"), data.get("weights")
    if isinstance(means, list) and isinstance(weights, list):
        size = len(weights) * n_axes * (n_axes + 1)
        if size > limits.model_values:
            raise MetadataError(
                too_big(
                    f"the GMM ({len(weights):,} components x {n_axes:,} axes)",
                    f"{size:,} values",
                    f"{limits.model_values:,}",
                    "model_values",
                )
            )
    try:
        answer = _GmmAnswer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MetadataError(f"gmm: `{where}`: {first['msg']}") from None
    n = len(answer.weights)
    if n == 0:
        raise MetadataError("gmm: `weights` is empty; the block has no components (retrain it)")
    try:
        mu = np.asarray(answer.means, np.float64)
        cov = np.asarray(answer.covariances, np.float64)
    except ValueError:
        raise MetadataError("gmm: `means` or `covariances` rows differ in length") from None
    if mu.shape != (n, n_axes):
        raise MetadataError(f"gmm: `means` has shape {mu.shape} but the block has {n} components x {n_axes} axes")
    if cov.shape != (n, n_axes, n_axes):
        raise MetadataError(f"gmm: `covariances` has shape {cov.shape}; expected {n} full {n_axes} x {n_axes} matrices")
    w = np.asarray(answer.weights, np.float64)
    if np.any(w <= 0):
        raise MetadataError(f"gmm: `weights[{int(np.flatnonzero(w <= 0)[0])}]` is not positive")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise MetadataError("gmm: a covariance matrix is not positive definite") from None
    return GmmParameters(mu, cov, w)


@dataclass(frozen=True, kw_only=True)
class GmmAnomalyModel(AnomalyModel):
    """A GMM anomaly block: its metadata, its mixture and its own float32 TFLite file."""

    gmm: GmmParameters
    tflite: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if self.scorer.n_inputs != len(self.axes):
            raise MetadataError(
                f"the block's TFLite file takes {self.scorer.n_inputs} values but the block has "
                f"{len(self.axes)} axes: the model file is not this block's"
            )

    def __getstate__(self) -> dict[str, Any]:
        """Pickles (to Dask workers) without the interpreter; it is rebuilt on first use."""
        return {k: v for k, v in self.__dict__.items() if k in ("metadata", "feature_names", "gmm", "tflite")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def kind(self) -> BlockKind:
        return BlockKind.GMM

    @cached_property
    def scorer(self) -> ReferenceScorer:
        return ReferenceScorer(self.tflite)

    @cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(b"gmm")
        digest.update(np.asarray(self.axes, np.int64).tobytes())
        digest.update(self.tflite)
        return digest.hexdigest()[:16]

    @property
    def n_components(self) -> int:
        return self.gmm.n_components

    @property
    def log_likelihood_scaler(self) -> tuple[float | None, float | None]:
        """The metadata's one-value `mean` and `scale`: the training log-likelihoods' mean and spread."""
        meta = self.metadata
        return (meta.mean[0] if len(meta.mean) == 1 else None, meta.scale[0] if len(meta.scale) == 1 else None)

    # A GMM block works in the raw units of its axes: no feature scaler, no clusters.
    @cached_property
    def mean(self) -> npt.NDArray[np.float32]:
        return np.zeros(len(self.axes), np.float32)

    @cached_property
    def scale(self) -> npt.NDArray[np.float32]:
        return np.ones(len(self.axes), np.float32)

    @cached_property
    def centers(self) -> npt.NDArray[np.float32]:
        return np.zeros((0, len(self.axes)), np.float32)

    @cached_property
    def max_errors(self) -> npt.NDArray[np.float32]:
        return np.zeros(0, np.float32)

    def _score(self, x: npt.ArrayLike, columns: npt.NDArray[np.int64], method: Method) -> Scores:
        rows = np.asarray(x)
        if rows.ndim != 2:
            raise ValueError(f"expected a 2-D array of rows, got shape {rows.shape}")
        values = np.asarray(rows[:, columns], np.float32)
        scorable = np.isfinite(values).all(axis=1)
        score = np.full(len(values), np.nan, np.float32)
        nearest = np.full(len(values), -1, np.int32)
        good = values[scorable]
        if len(good):
            score[scorable] = self.scorer.score(good)
            nearest[scorable] = self.gmm.most_likely_component(good)
        scorable &= ~np.isnan(score)  # a graph may give NaN for finite input: unscorable, never flagged
        nearest[~scorable] = -1
        return Scores(score=score, nearest_cluster=nearest, scorable=scorable)
