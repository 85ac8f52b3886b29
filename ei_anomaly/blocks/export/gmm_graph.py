"""A GMM block's mixture, read back from its scorer graph (an export carries no `gmm/metadata`).

Studio's scorer (docs/gmm.md) starts with one FULLY_CONNECTED of (components x axes) units whose
weight rows are, per component k, a matrix A_k, minus (or plus) a constant vector b: component k's
squared Mahalanobis distance is ||A_k x - b_k||^2. So mean_k = A_k^-1 b_k and covariance_k =
(A_k^T A_k)^-1. The component's weight comes from the graph's own per-component log-likelihood (the
input of its REDUCE_MAX) at x = mean_k: log w_k + log N(mean_k) = that value, with log N(mean_k) =
-m/2 log(2 pi) + log |det A_k|. The training log-likelihoods' mean and scale are the constants of
the SUB and DIV before the final ABS. The scores never come from these numbers: they come from the
graph itself; the mixture draws the map and names the most likely component.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ...errors import MetadataError
from ...tflm import Arithmetic, Graph
from ...tflm.interpreter import evaluate_tensor

__all__ = ["RecoveredMixture", "recover_mixture"]

NOT_STUDIOS = "the graph is not the GMM scorer Studio builds"


@dataclass(frozen=True)
class RecoveredMixture:
    answer: dict[str, Any]  # as `gmm/metadata` answers: means, covariances, weights
    log_likelihood_mean: float | None
    log_likelihood_scale: float | None


def _consumers(graph: Graph, tensor: int) -> list[int]:
    return [k for k, op in enumerate(graph.ops) if tensor in op.inputs]


def _constant_operand(graph: Graph, k: int, tensor: int) -> npt.NDArray[np.float64] | None:
    op = graph.ops[k]
    others = [i for i in op.inputs if i != tensor and i >= 0]
    if len(others) != 1 or graph.tensors[others[0]].data is None:
        return None
    return np.asarray(graph.constant(others[0]), np.float64).reshape(-1)


def recover_mixture(graph: Graph, n_axes: int) -> RecoveredMixture:
    """The mixture of a GMM scorer graph; MetadataError when it is not shaped like Studio's."""
    fc = [k for k, op in enumerate(graph.ops) if op.kind == "FULLY_CONNECTED"]
    if len(fc) != 1:
        raise MetadataError(f"{NOT_STUDIOS}: it has {len(fc)} FULLY_CONNECTED ops, not one")
    op = graph.ops[fc[0]]
    weights = np.asarray(graph.constant(op.inputs[1]), np.float64).reshape(graph.tensors[op.inputs[1]].shape)
    units, depth = weights.shape
    if depth != n_axes or units % n_axes:
        raise MetadataError(f"{NOT_STUDIOS}: its FULLY_CONNECTED has {units} x {depth} weights for {n_axes} axes")
    n = units // n_axes
    offset = np.zeros(units)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        offset += np.asarray(graph.constant(op.inputs[2]), np.float64).reshape(-1)
    after = _consumers(graph, op.outputs[0])
    if len(after) == 1 and graph.ops[after[0]].kind in ("SUB", "ADD"):
        const = _constant_operand(graph, after[0], op.outputs[0])
        if const is not None and const.size == units:
            offset += -const if graph.ops[after[0]].kind == "SUB" else const
    blocks = weights.reshape(n, n_axes, n_axes)
    shifts = offset.reshape(n, n_axes)  # y_k = A_k x + shift_k
    try:
        means = np.stack([np.linalg.solve(blocks[k], -shifts[k]) for k in range(n)])
        precisions = np.einsum("kji,kjl->kil", blocks, blocks)
        covariances = np.linalg.inv(precisions)
    except np.linalg.LinAlgError:
        raise MetadataError(f"{NOT_STUDIOS}: a component's matrix is singular") from None
    maxes = [k for k, o in enumerate(graph.ops) if o.kind == "REDUCE_MAX"]
    if len(maxes) != 1:
        raise MetadataError(f"{NOT_STUDIOS}: it has no single REDUCE_MAX over its components")
    per_component = graph.ops[maxes[0]].inputs[0]
    if graph.tensors[per_component].size != n:
        raise MetadataError(
            f"{NOT_STUDIOS}: its REDUCE_MAX is over {graph.tensors[per_component].size} values, not {n}"
        )
    at_means = evaluate_tensor(graph, means.astype(np.float32), Arithmetic(False, "host"), per_component)
    log_det = np.array([np.linalg.slogdet(blocks[k])[1] for k in range(n)])
    log_w = np.diagonal(at_means.reshape(n, n)).astype(np.float64) + 0.5 * n_axes * math.log(2 * math.pi) - log_det
    weights_k = np.exp(log_w)
    if not np.all(np.isfinite(weights_k)) or not 0.9 < weights_k.sum() < 1.1:
        raise MetadataError(f"{NOT_STUDIOS}: its components' weights add up to {weights_k.sum():.3g}, not 1")
    mean, scale = _log_likelihood_scaler(graph)
    answer = {
        "success": True,
        "means": means.tolist(),
        "covariances": ((covariances + covariances.transpose(0, 2, 1)) / 2).tolist(),
        "weights": (weights_k / weights_k.sum()).tolist(),
    }
    return RecoveredMixture(answer, mean, scale)


def _log_likelihood_scaler(graph: Graph) -> tuple[float | None, float | None]:
    """The constants of `ABS(DIV(SUB(ll, mean), scale))` at the graph's end, when it ends so."""
    producer = {o.outputs[0]: k for k, o in enumerate(graph.ops)}
    k = producer.get(graph.outputs[0])
    if k is None or graph.ops[k].kind != "ABS":
        return None, None
    div = producer.get(graph.ops[k].inputs[0])
    if div is None or graph.ops[div].kind != "DIV":
        return None, None
    scale = _constant_operand(graph, div, graph.ops[div].inputs[0])
    sub = producer.get(graph.ops[div].inputs[0])
    if sub is None or graph.ops[sub].kind != "SUB" or scale is None or scale.size != 1:
        return None, None
    mean = _constant_operand(graph, sub, graph.ops[sub].inputs[0])
    if mean is None or mean.size != 1:
        return None, None
    return float(np.float32(mean[0])), float(np.float32(scale[0]))
