"""What a block's kind changes in a review: how its score is defined, what it is exact to, and
which views apply. K-means and GMM blocks are reviewed alike except where this says otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import AnomalyModel, BlockKind

__all__ = ["KMEANS_ONLY", "ScoreDefinition", "block_title", "gmm_components", "score_definition"]

# Why a K-means view has nothing to show for a GMM block.
KMEANS_ONLY = (
    "A GMM block has no clusters and no feature scaler: its `mean` and `scale` standardise the training "
    "log-likelihoods. The Clusters page shows its mixture components instead."
)


@dataclass(frozen=True)
class ScoreDefinition:
    """How the block's score is formed, in lines a page or the report prints as they are."""

    formula: tuple[str, ...]
    meaning: str
    exact_to: str


def gmm_components(model: AnomalyModel) -> str:
    n = int(getattr(model, "n_components", 0))
    return f"{n} component{'s' if n != 1 else ''}"


def block_title(model: AnomalyModel) -> str:
    return f"{model.kind.label} anomaly block"


def score_definition(model: AnomalyModel) -> ScoreDefinition:
    if model.kind is BlockKind.KMEANS:
        return ScoreDefinition(
            (
                "x[j]  = f[axes[j]]",
                "z[j]  = (x[j] - mean[j]) / scale[j]",
                "score = min(1000, min over clusters k of ( sqrt(sum_j (z[j] - center_k[j])^2) - maxError_k ))",
            ),
            "the distance from the nearest cluster's edge in scaled units: negative inside a cluster",
            "the Edge Impulse SDK's float32 arithmetic, bit for bit",
        )
    mean = model.metadata.mean[0] if len(model.metadata.mean) == 1 else None
    scale = model.metadata.scale[0] if len(model.metadata.scale) == 1 else None
    scaler = f"   mean {mean:.4g}, scale {scale:.4g}" if mean is not None and scale is not None else ""
    return ScoreDefinition(
        (
            "x[j]  = f[axes[j]]         raw, not scaled",
            "ll    = log sum_k w_k N(x; mu_k, Sigma_k)",
            f"score = | (ll - mean) / scale |{scaler}",
        ),
        "how unusual the window's likelihood is, in standard deviations of the training windows' "
        "log-likelihoods (0 = typical; always >= 0)",
        "LiteRT's reference interpreter on the block's own float32 TFLite file, bit for bit "
        "(TFLite Micro's float kernels derive from those reference kernels)",
    )
