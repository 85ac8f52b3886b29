"""GMM anomaly blocks (`anomaly-gmm`): the mixture from `gmm/metadata` and the block's scorer.

A GMM block has no clusters, and its metadata's `mean`/`scale` (one value each) standardise the
training log-likelihoods, not the features (docs/gmm.md). Its score is what the block's own
float32 TFLite graph outputs; `GmmBlock` scores with that file through LiteRT's reference kernels
(`litert_scoring`). Its map is the components' ellipses in the axes' raw units; its score has no
per-axis decomposition, and `handoff` does not apply (the firmware's check is the TFLite file).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import MetadataError, UsageError
from ..limits import Limits, too_big
from ..litert_scoring import ReferenceScorer
from ..metadata import AnomalyMetadata, check_common_fields
from ..scores import Method
from ..tflm import Arithmetic, Graph, read_tflite, run_graph
from .base import BlockBase, MapOverlay, ScoreDefinition, Scores, Units
from .parts import BlockFiles, BlockKind, DeviceMargin, KMeansParameters, ScoringSetup, Target

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from ..explanation import WindowExplanation

__all__ = ["DRAWN_COMPONENTS", "NOT_FOR_GMM", "GmmBlock", "GmmParameters", "parse_gmm"]

DRAWN_COMPONENTS = 50  # the map and the 3-D view draw the heaviest components (three traces each on the map)
DENSITY_CHUNK_VALUES = 1 << 20  # rows x components of float64 computed at once (8 MB)

NOT_FOR_GMM = (
    "Explaining a window by its nearest cluster applies to K-means blocks. A GMM block's score is the "
    "standardised log-likelihood of the whole mixture, with no per-axis decomposition; the Clusters page "
    "shows the window beside the mixture's components."
)
HANDOFF_NOT_FOR_GMM = (
    "handoff writes the policy for a K-means block; for a GMM block the firmware's check is its "
    "own TFLite file (model.tflite in the block directory) and the threshold from `report`"
)
MEANING = (
    "how unusual the window's likelihood is, in standard deviations of the training windows' "
    "log-likelihoods (0 = typical; always >= 0)"
)
EXACT_TO = {
    Target.LINUX: (
        "the SDK built for a Linux/x86 runner: LiteRT's reference interpreter on the block's own float32 TFLite "
        "file, bit for bit (TFLite Micro's float kernels compiled with g++ give the same bits)"
    ),
    Target.CORTEX_M: (
        "the SDK built for a Cortex-M with a single-precision FPU (arm-none-eabi-gcc and newlib): TFLite Micro's "
        "float kernels on the block's own graph with GCC's fused multiply-adds and newlib's expf/logf, bit for bit"
    ),
}


CORTEX_M_ARITHMETIC = Arithmetic(fused_multiply_add=True, libm="newlib")
# The `cortex-m` target is exact for a single-precision FPU (Cortex-M4F, M33: checked in QEMU). On a
# Cortex-M7 with a double-precision FPU, newlib's expf/logf are its double-based ones: measured with
# scripts/device_parity.py on two public GMM exports (docs/gmm.md).
DOUBLE_FPU_MARGIN = DeviceMargin(
    relative=3.3e-6,
    devices="a Cortex-M with a double-precision FPU (Cortex-M7), whose newlib expf/logf differ",
    measured="the SDK built for a Cortex-M7 (double-precision FPU) and run in QEMU differed from the cortex-m "
    "target on 18 of 20,000 rows of two public GMM exports, by at most 3.3e-6 of the score (48 float32 ULPs)",
)


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
        """Per row, the component of the highest weighted density: rows x components of float64 at
        most `DENSITY_CHUNK_VALUES` at a time."""
        rows = np.asarray(x)
        out = np.zeros(len(rows), np.int32)
        step = max(1, DENSITY_CHUNK_VALUES // self.n_components)
        for start in range(0, len(rows), step):
            out[start : start + step] = np.argmax(self.weighted_log_densities(rows[start : start + step]), axis=1)
        return out

    def heaviest(self, count: int) -> npt.NDArray[np.intp]:
        """The `count` components of the largest weight, heaviest first (ties: lower index first)."""
        return np.argsort(-self.weights, kind="stable")[:count]

    def to_answer(self) -> dict[str, Any]:
        """The `gmm/metadata` answer for these parameters."""
        return {
            "success": True,
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
            "weights": self.weights.tolist(),
        }


def _check_sizes(data: dict[str, Any], n_axes: int, limits: Limits) -> None:
    """The mixture's sizes, before its values are validated: the number of components against its
    own limit and the model size, and the lengths of `means` and `covariances` (each row too)
    against `weights` and the axes. Cheap: lengths only, stopping at the first that differs."""
    means, covariances, weights = data.get("means"), data.get("covariances"), data.get("weights")
    if not (isinstance(means, list) and isinstance(covariances, list) and isinstance(weights, list)):
        return  # the schema says which is missing
    n = len(weights)
    if n > limits.components:
        raise MetadataError(
            too_big(f"the GMM ({n:,} components)", f"{n:,} components", f"{limits.components:,}", "components")
        )
    size = n * n_axes * (n_axes + 1)
    if size > limits.model_values:
        raise MetadataError(
            too_big(
                f"the GMM ({n:,} components x {n_axes:,} axes)",
                f"{size:,} values",
                f"{limits.model_values:,}",
                "model_values",
            )
        )
    if n == 0:
        return  # said below: no components
    expected = f"the block has {n:,} components x {n_axes:,} axes"
    if len(means) != n or any(not isinstance(row, list) or len(row) != n_axes for row in means):
        raise MetadataError(f"gmm: `means` has shape ({len(means):,}, ...) but {expected}")
    if len(covariances) != n or any(
        not isinstance(matrix, list)
        or len(matrix) != n_axes
        or any(not isinstance(row, list) or len(row) != n_axes for row in matrix)
        for matrix in covariances
    ):
        raise MetadataError(
            f"gmm: `covariances` has shape ({len(covariances):,}, ...); expected {n:,} full "
            f"{n_axes} x {n_axes} matrices"
        )


def parse_gmm(data: dict[str, Any], n_axes: int, limits: Limits | None = None) -> GmmParameters:
    """Validate a `gmm/metadata` answer against the block's axes; raise MetadataError naming the field."""
    limits = limits or Limits.from_env()
    if not isinstance(data, dict):
        raise MetadataError("gmm: expected a JSON object with `means`, `covariances`, `weights`")
    if data.get("success") is False:
        raise MetadataError(f"gmm: the API reported failure: {str(data.get('error') or 'no reason given')[:500]}")
    _check_sizes(data, n_axes, limits)
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
class GmmBlock(BlockBase):
    """A GMM anomaly block: its metadata, its mixture and its own float32 TFLite file."""

    gmm: GmmParameters
    tflite: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_common_fields(self.metadata)
        if self.scorer.n_inputs != len(self.axes):
            raise MetadataError(
                f"the block's TFLite file takes {self.scorer.n_inputs} values but the block has "
                f"{len(self.axes)} axes: the model file is not this block's"
            )

    def __getstate__(self) -> dict[str, Any]:
        """Pickles (to Dask workers) without the interpreter; it is rebuilt on first use."""
        kept = ("metadata", "feature_names", "setup", "gmm", "tflite")
        return {k: v for k, v in self.__dict__.items() if k in kept}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def kind(self) -> BlockKind:
        return BlockKind.GMM

    @property
    def title(self) -> str:
        return "GMM anomaly block"

    @property
    def units(self) -> Units:
        return Units("component", self.gmm.n_components)

    @property
    def n_components(self) -> int:
        return self.gmm.n_components

    @cached_property
    def scorer(self) -> ReferenceScorer:
        return ReferenceScorer(self.tflite)

    @cached_property
    def graph(self) -> Graph:
        """The block's graph as data (what the Cortex-M target computes)."""
        return read_tflite(self.tflite)

    def _graph_scores(self, rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Element 0 of the graph's output per row, on the setup's target's arithmetic."""
        if self.setup.target is Target.CORTEX_M:
            return run_graph(self.graph, rows, CORTEX_M_ARITHMETIC)
        return self.scorer.score(rows)

    @cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(b"gmm")
        digest.update(np.asarray(self.axes, np.int64).tobytes())
        digest.update(self.tflite)
        digest.update(self._setup_digest())
        return digest.hexdigest()[:16]

    @property
    def log_likelihood_scaler(self) -> tuple[float | None, float | None]:
        """The metadata's one-value `mean` and `scale`: the training log-likelihoods' mean and spread."""
        meta = self.metadata
        return (meta.mean[0] if len(meta.mean) == 1 else None, meta.scale[0] if len(meta.scale) == 1 else None)

    @cached_property
    def score_definition(self) -> ScoreDefinition:
        mean, scale = self.log_likelihood_scaler
        scaler = f"   mean {mean:.4g}, scale {scale:.4g}" if mean is not None and scale is not None else ""
        formula = (
            "x[j]  = f[axes[j]]         raw, not scaled",
            "ll    = log sum_k w_k N(x; mu_k, Sigma_k)",
            f"score = | (ll - mean) / scale |{scaler}",
        )
        exact_to = EXACT_TO[self.setup.target]
        summary = (
            f"A GMM block's score is {MEANING}: "
            + "; ".join(" ".join(line.split()) for line in formula)
            + f". Exact to {exact_to}; a window is an anomaly when its score is strictly greater than "
            "the threshold."
        )
        hint = (
            f"A GMM score is {MEANING}, not a probability. A window is an anomaly when its score is **strictly "
            "greater** than the threshold."
        )
        return ScoreDefinition(formula, MEANING, exact_to, summary, hint)

    @property
    def target_matters(self) -> bool:
        return True

    @property
    def device_margin(self) -> DeviceMargin | None:
        return DOUBLE_FPU_MARGIN if self.setup.target is Target.CORTEX_M else None

    @property
    def nearest_column(self) -> str:
        return "most likely component"

    def threshold_words(self, value: float) -> str:
        return (
            f"its log-likelihood under the mixture is more than {value:.4g} standard deviations (of the training "
            "windows' log-likelihoods) away from their mean"
        )

    def _score_rows(self, x: npt.NDArray[np.generic], columns: npt.NDArray[np.int64], method: Method) -> Scores:
        if x.ndim != 2:
            raise ValueError(f"expected a 2-D array of rows, got shape {x.shape}")
        values = np.asarray(x[:, columns], np.float32)
        scorable = np.isfinite(values).all(axis=1)
        score = np.full(len(values), np.nan, np.float32)
        nearest = np.full(len(values), -1, np.int32)
        good = values[scorable]
        if len(good):
            score[scorable] = self._graph_scores(good)
            nearest[scorable] = self.gmm.most_likely_component(good)
        scorable &= ~np.isnan(score)  # a graph may give NaN for finite input: unscorable, never flagged
        nearest[~scorable] = -1
        return Scores(score=score, nearest_cluster=nearest, scorable=scorable)

    # --- the map: the components in the axes' raw units (the block scores raw values)

    @property
    def map_caption(self) -> str:
        drawn = self._drawn
        some = (
            f" The {len(drawn)} heaviest are drawn ({float(self.gmm.weights[drawn].sum()):.0%} of the weight); the "
            "table lists every one."
            if len(drawn) < self.n_components
            else ""
        )
        return (
            f"A GMM block has no clusters: it models normal data as {self.units.text} (Gaussian, full "
            "covariances, raw axis units). Each is drawn at 1, 2 and 3 standard deviations of its shadow on the "
            "two axes (exact for that pair, not for the others), thicker the more weight it has." + some
        )

    @property
    def has_scaled_space(self) -> bool:
        return False

    def to_map(self, axis_values: npt.ArrayLike) -> npt.NDArray[np.floating]:
        raw: npt.NDArray[np.floating] = np.asarray(self._as_scored(np.asarray(axis_values, np.float32)), np.float32)
        return raw

    def map_figure(
        self, ax1: int, ax2: int, overlays: Sequence[MapOverlay] = (), original_units: bool = False
    ) -> go.Figure:
        from ..figures.gmm import fig_gmm_map

        gmm, labels, pair, drawn = self.gmm, self.axis_labels, [ax1, ax2], self._drawn
        covs = gmm.covariances[drawn][:, pair][:, :, pair]
        means = gmm.means[drawn][:, pair]
        return fig_gmm_map(means, covs, gmm.weights[drawn], (labels[ax1], labels[ax2]), overlays, drawn.tolist())

    def figure_3d(self, picks: Sequence[int]) -> go.Figure:
        from ..figures.gmm import fig_gmm_3d

        gmm, labels, chosen, drawn = self.gmm, self.axis_labels, list(picks), self._drawn
        sub = gmm.covariances[drawn][:, chosen][:, :, chosen]
        titles = (labels[chosen[0]], labels[chosen[1]], labels[chosen[2]])
        return fig_gmm_3d(gmm.means[drawn][:, chosen], sub, gmm.weights[drawn], titles, indices=drawn.tolist())

    @cached_property
    def _drawn(self) -> npt.NDArray[np.intp]:
        """The components the map and the 3-D view draw: the heaviest, in the block's order."""
        return np.sort(self.gmm.heaviest(DRAWN_COMPONENTS))

    def parallel_figure(self) -> go.Figure:
        from ..figures.gmm import fig_gmm_parallel

        return fig_gmm_parallel(self.gmm.means, self.gmm.weights, self.axis_labels)

    def unit_table(self) -> pd.DataFrame:
        import pandas as pd

        gmm, labels = self.gmm, self.axis_labels
        table = pd.DataFrame(gmm.means, columns=labels)
        table.insert(0, "component", range(gmm.n_components))
        table["weight"] = gmm.weights
        for j, label in enumerate(labels):
            table[f"sd {label}"] = np.sqrt(gmm.covariances[:, j, j])
        return table

    @property
    def unit_table_note(self) -> str:
        return (
            "Means and standard deviations in the axes' raw units (the block scores raw values). In scored files, "
            "`nearest_cluster` is, for a GMM block, the most likely component of each window."
        )

    def axes_table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.axis_table_start())

    @property
    def explain_refusal(self) -> str | None:
        return NOT_FOR_GMM

    def explain(self, axis_values: npt.ArrayLike, row: int | None = None) -> WindowExplanation:
        raise UsageError(NOT_FOR_GMM)

    def handoff_parameters(self) -> KMeansParameters:
        raise UsageError(HANDOFF_NOT_FOR_GMM)

    def open_scoring(self) -> int:
        self.scorer.score(self.gmm.means[:1])  # loads the file in its worker: MetadataError past a limit
        return self.scorer.working_bytes

    def files(self, metadata_fields: set[str] | None = None) -> BlockFiles:
        meta = self.metadata.model_dump(mode="json", by_alias=True, include=metadata_fields)
        return BlockFiles(meta, self.gmm.to_answer(), self.tflite, self.setup)

    # --- parity with another block: its graph is compared by its output on probe rows

    def parity_arrays(self) -> dict[str, npt.NDArray[np.float32]]:
        return {}

    def probe_rows(self, count: int) -> npt.NDArray[np.float32]:
        """Draws from the mixture, its components' means, and points out to 4 standard deviations."""
        gmm = self.gmm
        rng = np.random.default_rng(0)
        k = rng.choice(gmm.n_components, count, p=gmm.weights / gmm.weights.sum())
        chol = np.linalg.cholesky(gmm.covariances)
        spread = rng.choice([0.0, 1.0, 2.0, 4.0], count)
        noise = np.einsum("kij,kj->ki", chol[k], rng.standard_normal((count, gmm.means.shape[1])))
        rows: npt.NDArray[np.float32] = (gmm.means[k] + noise * spread[:, None]).astype(np.float32)
        return rows

    def with_feature_names(self, names: dict[int, str]) -> GmmBlock:
        return dataclasses.replace(self, feature_names=dict(names))

    @classmethod
    def from_parts(
        cls,
        meta: AnomalyMetadata,
        gmm: dict[str, Any],
        tflite: bytes,
        feature_names: dict[int, str] | None = None,
        limits: Limits | None = None,
        setup: ScoringSetup | None = None,
    ) -> GmmBlock:
        """The block of validated metadata, its `gmm/metadata` answer and its model file."""
        parsed = parse_gmm(gmm, len(meta.axes), limits)
        return cls(meta, dict(feature_names or {}), setup or ScoringSetup(), gmm=parsed, tflite=tflite)
