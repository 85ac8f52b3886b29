"""Build the float32 TFLite graph of a GMM anomaly scorer, as Studio deploys one (for the demo).

Studio translates scikit-learn's `GaussianMixture.score_samples` plus a StandardScaler fitted on
the training log-likelihoods, and an absolute value, through JAX into a float32 TFLite graph
(see docs/gmm.md). Installing TensorFlow and JAX only to regenerate the demo is heavy, so this
writes the same function directly as TFLite builtin ops with the flatbuffer schema that ships
with `ai-edge-litert` (already a runtime requirement): no other dependency. The ops are ones
TFLite Micro has float kernels for:

    y      = FULLY_CONNECTED(x, W, b)         per component k: x @ P_k - mu_k @ P_k  (P_k: precision Cholesky)
    maha   = SUM(RESHAPE(y * y, [-1, n, m]), axis 2)
    wlp    = maha * -0.5 + c                  c_k = -m/2 log(2 pi) + log det P_k + log w_k
    ll     = LOG(SUM(EXP(wlp - max), axis 1)) + max          (log-sum-exp over components)
    score  = ABS((ll - mean) / scale)

Input `(1, m)` float32 (the block's axes, raw), output `(1, 1)`. `batchable=False` writes the
RESHAPE with a fixed batch of 1, as converters often do, so a resized input fails: the tests use
it to check the scorer's row-by-row fallback.
"""

from __future__ import annotations

import math

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as tfl
from sklearn.mixture import GaussianMixture

__all__ = ["gmm_scorer_tflite"]


class _Graph:
    def __init__(self) -> None:
        self.buffers: list[tfl.BufferT] = [tfl.BufferT()]  # buffer 0: the empty one, for activations
        self.tensors: list[tfl.TensorT] = []
        self.operators: list[tfl.OperatorT] = []
        self.opcodes: list[int] = []

    def tensor(self, name: str, shape: list[int], data: np.ndarray | None = None, dtype: str = "f") -> int:
        t = tfl.TensorT()
        t.name, t.shape = name, list(shape)
        t.type = tfl.TensorType.FLOAT32 if dtype == "f" else tfl.TensorType.INT32
        t.buffer = 0
        if data is not None:
            buf = tfl.BufferT()
            buf.data = np.frombuffer(
                np.ascontiguousarray(data, np.float32 if dtype == "f" else np.int32).tobytes(), np.uint8
            )
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, code: int, inputs: list[int], outputs: list[int], opt_type: int = 0, opt: object = None) -> None:
        if code not in self.opcodes:
            self.opcodes.append(code)
        o = tfl.OperatorT()
        o.opcodeIndex = self.opcodes.index(code)
        o.inputs, o.outputs = inputs, outputs
        o.builtinOptionsType, o.builtinOptions = opt_type, opt
        self.operators.append(o)

    def finish(self, inputs: list[int], outputs: list[int]) -> bytes:
        sub = tfl.SubGraphT()
        sub.tensors, sub.operators, sub.inputs, sub.outputs, sub.name = (
            self.tensors,
            self.operators,
            inputs,
            outputs,
            "main",
        )
        codes = []
        for code in self.opcodes:
            c = tfl.OperatorCodeT()
            c.builtinCode, c.deprecatedBuiltinCode, c.version = code, min(code, 127), 1
            codes.append(c)
        model = tfl.ModelT()
        model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, codes, [sub], self.buffers
        model.description = "GMM anomaly scorer (Anomaly Lens demo)"
        builder = flatbuffers.Builder(4096)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _reducer(keep: bool) -> tfl.ReducerOptionsT:
    r = tfl.ReducerOptionsT()
    r.keepDims = keep
    return r


def gmm_scorer_tflite(gmm: GaussianMixture, ll_mean: float, ll_scale: float, batchable: bool = True) -> bytes:
    """The TFLite flatbuffer of `|(gmm.score_samples(x) - ll_mean) / ll_scale|` for a full-covariance GMM."""
    if gmm.covariance_type != "full":
        raise ValueError("only covariance_type='full' (Studio's) is supported")
    ops = tfl.BuiltinOperator
    opts = tfl.BuiltinOptions
    n, m = gmm.means_.shape
    prec = gmm.precisions_cholesky_  # (n, m, m), float64
    weights = np.concatenate([prec[k] for k in range(n)], axis=1).T  # (n*m, m): row k*m+j = P_k[:, j]
    bias = -np.concatenate([gmm.means_[k] @ prec[k] for k in range(n)])
    log_det = np.log(np.diagonal(prec, axis1=1, axis2=2)).sum(axis=1)
    const = -0.5 * m * math.log(2 * math.pi) + log_det + np.log(gmm.weights_)

    g = _Graph()
    x = g.tensor("features", [1, m])
    w = g.tensor("precision_cholesky", [n * m, m], weights)
    b = g.tensor("minus_mean_times_precision", [n * m], bias)
    y = g.tensor("y", [1, n * m])
    fc = tfl.FullyConnectedOptionsT()
    fc.fusedActivationFunction = tfl.ActivationFunctionType.NONE
    g.op(ops.FULLY_CONNECTED, [x, w, b], [y], opts.FullyConnectedOptions, fc)
    sq = g.tensor("y_squared", [1, n * m])
    g.op(ops.MUL, [y, y], [sq], opts.MulOptions, tfl.MulOptionsT())
    new_shape = [-1 if batchable else 1, n, m]
    shape = g.tensor("shape", [3], np.asarray(new_shape), dtype="i")
    r = g.tensor("y_squared_per_component", [1, n, m])
    ro = tfl.ReshapeOptionsT()
    ro.newShape = new_shape
    g.op(ops.RESHAPE, [sq, shape], [r], opts.ReshapeOptions, ro)
    ax2 = g.tensor("axis_2", [1], np.asarray([2]), dtype="i")
    maha = g.tensor("mahalanobis", [1, n])
    g.op(ops.SUM, [r, ax2], [maha], opts.ReducerOptions, _reducer(False))
    half = g.tensor("minus_half", [], np.asarray(-0.5))
    scaled = g.tensor("minus_half_mahalanobis", [1, n])
    g.op(ops.MUL, [maha, half], [scaled], opts.MulOptions, tfl.MulOptionsT())
    c = g.tensor("log_norm_and_weight", [n], const)
    wlp = g.tensor("weighted_log_prob", [1, n])
    g.op(ops.ADD, [scaled, c], [wlp], opts.AddOptions, tfl.AddOptionsT())
    ax1 = g.tensor("axis_1", [1], np.asarray([1]), dtype="i")
    mx = g.tensor("max", [1, 1])
    g.op(ops.REDUCE_MAX, [wlp, ax1], [mx], opts.ReducerOptions, _reducer(True))
    shifted = g.tensor("shifted", [1, n])
    g.op(ops.SUB, [wlp, mx], [shifted], opts.SubOptions, tfl.SubOptionsT())
    ex = g.tensor("exp", [1, n])
    g.op(ops.EXP, [shifted], [ex], opts.ExpOptions, tfl.ExpOptionsT())
    total = g.tensor("sum_exp", [1, 1])
    g.op(ops.SUM, [ex, ax1], [total], opts.ReducerOptions, _reducer(True))
    lg = g.tensor("log_sum_exp", [1, 1])
    g.op(ops.LOG, [total], [lg])
    ll = g.tensor("log_likelihood", [1, 1])
    g.op(ops.ADD, [lg, mx], [ll], opts.AddOptions, tfl.AddOptionsT())
    mean = g.tensor("log_likelihood_mean", [1], np.asarray([ll_mean]))
    centred = g.tensor("centred", [1, 1])
    g.op(ops.SUB, [ll, mean], [centred], opts.SubOptions, tfl.SubOptionsT())
    scale = g.tensor("log_likelihood_scale", [1], np.asarray([ll_scale]))
    z = g.tensor("standardised", [1, 1])
    g.op(ops.DIV, [centred, scale], [z], opts.DivOptions, tfl.DivOptionsT())
    out = g.tensor("anomaly_score", [1, 1])
    g.op(ops.ABS, [z], [out], opts.AbsOptions, tfl.AbsOptionsT())
    return g.finish([x], [out])
