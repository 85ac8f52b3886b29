"""A float32 graph computed as TensorFlow Lite Micro's reference kernels compute it, on a named
target's arithmetic (`Arithmetic`): many rows at once, each row exactly as one invoke on the device.

Each kernel does what TFLM's float kernel does, operation by operation, in float32:
FULLY_CONNECTED accumulates `total += input[d] * weight[d]` over d in order, then adds the bias (a
Cortex-M build contracts that accumulation into fused multiply-adds: `Arithmetic.fused_multiply_add`);
ADD, SUB, MUL, DIV clamp their result to +-FLT_MAX (the "no activation" range); SUM and REDUCE_MAX
fold their axes element by element in index order (never numpy's pairwise sum); EXP and LOG call the
target's `expf` and `logf` (`floats`). Rows are an extra leading axis: every tensor keeps its declared
shape (batch 1) after it, so broadcasting is the graph's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Literal, cast

import numpy as np
import numpy.typing as npt

from . import floats
from .graph import Graph, Op

__all__ = ["CHUNK_ROWS", "Arithmetic", "evaluate_tensor", "run_graph"]

CHUNK_ROWS = 32_768  # rows computed together: every intermediate tensor stays a few MB
_F32 = npt.NDArray[np.float32]
_MAX = np.float32(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Arithmetic:
    """How a target computes float32: whether GCC fused FULLY_CONNECTED's multiply-adds, and whose
    `expf`/`logf` it calls ("host": this process's C library; "newlib": newlib on a Cortex-M)."""

    fused_multiply_add: bool
    libm: Literal["host", "newlib"]


def run_graph(graph: Graph, rows: npt.ArrayLike, arithmetic: Arithmetic) -> _F32:
    """Element 0 of the graph's output for every row (float32 values of its input, shape (n, inputs))."""
    x = np.ascontiguousarray(rows, np.float32)
    if x.ndim != 2 or x.shape[1] != graph.n_inputs:
        raise ValueError(f"expected rows of {graph.n_inputs} values, got shape {x.shape}")
    out = np.empty(len(x), np.float32)
    for start in range(0, len(x), CHUNK_ROWS):
        values = _run_chunk(graph, x[start : start + CHUNK_ROWS], arithmetic, graph.outputs[0])
        out[start : start + CHUNK_ROWS] = values[:, 0]
    return out


def evaluate_tensor(graph: Graph, rows: npt.ArrayLike, arithmetic: Arithmetic, tensor: int) -> _F32:
    """The values of one tensor of the graph for every row, shape (rows, its size): the computation
    stops once it is written."""
    x = np.ascontiguousarray(rows, np.float32).reshape(-1, graph.n_inputs)
    return _run_chunk(graph, x, arithmetic, tensor)


def _run_chunk(graph: Graph, x: _F32, arithmetic: Arithmetic, wanted: int) -> _F32:
    n = len(x)
    values: dict[int, _F32] = {}
    first = graph.inputs[0]
    values[first] = x.reshape(n, *graph.tensors[first].shape)

    def get(index: int) -> _F32:
        if index in values:
            return values[index]
        data = graph.constant(index)
        return np.asarray(data).reshape(1, *graph.tensors[index].shape)  # type: ignore[return-value]

    with np.errstate(all="ignore"):  # inf and NaN are results here, as on the device
        for op in graph.ops:
            shape = graph.tensors[op.outputs[0]].shape
            result = _KERNELS[op.kind](op, get, graph, arithmetic)
            values[op.outputs[0]] = np.ascontiguousarray(result, np.float32).reshape(n, *shape)
            if op.outputs[0] == wanted:
                break
    return np.ascontiguousarray(values[wanted].reshape(n, -1))


Get = Callable[[int], _F32]  # a tensor's values, by index
Kernel = Callable[[Op, Get, Graph, Arithmetic], _F32]


def _aligned(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic]) -> tuple[npt.NDArray[np.generic], ...]:
    """Both operands with the same number of axes (ones put after the rows axis): the graph's
    broadcasting, with the rows axis kept first."""
    rank = max(a.ndim, b.ndim)
    return tuple(v.reshape(v.shape[0], *([1] * (rank - v.ndim)), *v.shape[1:]) for v in (a, b))


def _clamp(v: npt.NDArray[np.generic]) -> _F32:
    """TFLM's "no activation": min(max(v, lowest), max); NaN stays NaN."""
    return cast(_F32, np.minimum(np.maximum(v, -_MAX), _MAX))


def _binary(kind: str) -> Kernel:
    def kernel(op: Op, get: Get, graph: Graph, arithmetic: Arithmetic) -> _F32:
        a, b = _aligned(get(op.inputs[0]), get(op.inputs[1]))
        if kind == "ADD":
            return _clamp(np.add(a, b, dtype=np.float32))
        if kind == "SUB":
            return _clamp(np.subtract(a, b, dtype=np.float32))
        if kind == "MUL":
            return _clamp(np.multiply(a, b, dtype=np.float32))
        if kind == "DIV":
            return _clamp(np.divide(a, b, dtype=np.float32))
        diff = np.subtract(a, b, dtype=np.float32)  # SQUARED_DIFFERENCE
        return cast(_F32, np.multiply(diff, diff, dtype=np.float32))

    return kernel


def _fully_connected(op: Op, get: Get, graph: Graph, arithmetic: Arithmetic) -> _F32:
    weights = np.asarray(graph.constant(op.inputs[1]), np.float32).reshape(graph.tensors[op.inputs[1]].shape)
    units, depth = weights.shape
    x = get(op.inputs[0])
    batches = x.reshape(-1, depth)  # every row's every (1 x depth) input, one after the other
    total = floats.fully_connected(batches, weights, arithmetic.fused_multiply_add).reshape(x.shape[0], -1, units)
    has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
    bias = np.asarray(graph.constant(op.inputs[2]), np.float32).reshape(-1) if has_bias else np.zeros(units, np.float32)
    return _clamp(np.add(total, bias, dtype=np.float32))


def _reduce(kind: str) -> Kernel:
    def kernel(op: Op, get: Get, graph: Graph, arithmetic: Arithmetic) -> _F32:
        x = get(op.inputs[0])
        rank = x.ndim - 1  # declared rank (the rows axis is extra)
        axes = sorted({int(a) % rank + 1 for a in np.asarray(graph.constant(op.inputs[1])).reshape(-1)})
        kept = [i for i in range(x.ndim) if i not in axes]
        moved = np.transpose(x, kept + axes)  # reduced axes last, in order
        lead = moved.shape[: len(kept)]
        acc = np.full(lead, 0.0 if kind == "SUM" else -_MAX, np.float32)
        for index in product(*(range(x.shape[a]) for a in axes)):  # row-major order of the reduced index
            value = moved[(Ellipsis, *index)]  # type: ignore[arg-type]  # numpy's stubs type index tuples narrowly
            # SUM: current + in; REDUCE_MAX: (in > current) ? in : current, as TFLM folds them
            acc = np.add(acc, value, dtype=np.float32) if kind == "SUM" else np.where(value > acc, value, acc)
        return acc

    return kernel


def _unary(kind: str) -> Kernel:
    def kernel(op: Op, get: Get, graph: Graph, arithmetic: Arithmetic) -> _F32:
        x = get(op.inputs[0])
        if kind == "EXP":
            return floats.newlib_expf(x) if arithmetic.libm == "newlib" else floats.host_expf(x)
        if kind == "LOG":
            return floats.newlib_logf(x) if arithmetic.libm == "newlib" else floats.host_logf(x)
        if kind == "ABS":
            return cast(_F32, np.abs(x))
        if kind == "NEG":
            return cast(_F32, np.negative(x))
        if kind == "SQUARE":
            return cast(_F32, np.multiply(x, x, dtype=np.float32))
        return x  # RESHAPE: the values as they are (the caller gives them the output's shape)

    return kernel


_KERNELS: dict[str, Kernel] = {
    "FULLY_CONNECTED": _fully_connected,
    "ADD": _binary("ADD"),
    "SUB": _binary("SUB"),
    "MUL": _binary("MUL"),
    "DIV": _binary("DIV"),
    "SQUARED_DIFFERENCE": _binary("SQUARED_DIFFERENCE"),
    "SUM": _reduce("SUM"),
    "REDUCE_MAX": _reduce("REDUCE_MAX"),
    "EXP": _unary("EXP"),
    "LOG": _unary("LOG"),
    "ABS": _unary("ABS"),
    "NEG": _unary("NEG"),
    "SQUARE": _unary("SQUARE"),
    "RESHAPE": _unary("RESHAPE"),
}
