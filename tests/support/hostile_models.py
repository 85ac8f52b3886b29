"""Crafted TFLite model files, each a few hundred bytes to a few KB, built with the flatbuffer
schema that ships with `ai-edge-litert` (as `scripts/gmm_tflite.py` builds the demo's graph).

Each is what a hostile visitor could upload as a GMM block's `model.tflite` (issue 27):

- `shape_fill`: tensor sizes from SHAPE -> FILL of `(batch, K)`: small per row, gigabytes for a block;
- `while_doubling` / `while_forever`: a WHILE loop that doubles a tensor, or never ends;
- `batch_squared`: only allowed ops, but a `(batch, batch)` tensor (TRANSPOSE then a broadcast ADD);
- `broadcast_heavy`: only allowed ops, a constant BROADCAST_TO of `rows x cols` floats per row
  (memory and CPU time per invoke that a small file does not show);
- `constant_score`: scores `value * x[0]` (x[0] in -1..1: +-3.4e38 for a value of 3.4e38);
- `corrupted_copies`: a model file with random bytes changed, for fuzzing.

Every graph takes `(1, axes)` float32 and gives `(1, 1)` float32, as a GMM block's does.
"""

from __future__ import annotations

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as tfl

OPS = tfl.BuiltinOperator
OPTIONS = tfl.BuiltinOptions
VERSIONS = {OPS.BROADCAST_TO: 2}  # the lowest version LiteRT registers


class Graphs:
    """A model of one or more subgraphs; `sub(i)` is the subgraph being written."""

    def __init__(self) -> None:
        self.buffers: list[tfl.BufferT] = [tfl.BufferT()]
        self.opcodes: list[int] = []
        self.subgraphs: list[tfl.SubGraphT] = []

    def new_subgraph(self) -> int:
        sub = tfl.SubGraphT()
        sub.tensors, sub.operators, sub.inputs, sub.outputs = [], [], [], []
        self.subgraphs.append(sub)
        return len(self.subgraphs) - 1

    def tensor(self, g: int, shape: list[int], data: np.ndarray | None = None, dtype: str = "f") -> int:
        t = tfl.TensorT()
        t.name, t.shape = f"t{len(self.subgraphs[g].tensors)}", list(shape)
        t.type = {"f": tfl.TensorType.FLOAT32, "i": tfl.TensorType.INT32, "b": tfl.TensorType.BOOL}[dtype]
        t.buffer = 0
        if data is not None:
            np_type = {"f": np.float32, "i": np.int32, "b": np.bool_}[dtype]
            buf = tfl.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(data, np_type).tobytes(), np.uint8)
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        self.subgraphs[g].tensors.append(t)
        return len(self.subgraphs[g].tensors) - 1

    def op(
        self, g: int, code: int, inputs: list[int], outputs: list[int], opt_type: int = 0, opt: object = None
    ) -> None:
        if code not in self.opcodes:
            self.opcodes.append(code)
        o = tfl.OperatorT()
        o.opcodeIndex = self.opcodes.index(code)
        o.inputs, o.outputs = inputs, outputs
        o.builtinOptionsType, o.builtinOptions = opt_type, opt
        self.subgraphs[g].operators.append(o)

    def finish(self) -> bytes:
        codes = []
        for code in self.opcodes:
            c = tfl.OperatorCodeT()
            c.builtinCode, c.deprecatedBuiltinCode, c.version = code, min(code, 127), VERSIONS.get(code, 1)
            codes.append(c)
        model = tfl.ModelT()
        model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, codes, self.subgraphs, self.buffers
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _reducer(keep: bool) -> tfl.ReducerOptionsT:
    r = tfl.ReducerOptionsT()
    r.keepDims = keep
    return r


def _sum_to_score(m: Graphs, g: int, x: int, width: int) -> int:
    """(1, width) -> (1, 1): SUM over axis 1, keeping it."""
    axis = m.tensor(g, [1], np.asarray([1]), "i")
    out = m.tensor(g, [1, 1])
    m.op(g, OPS.SUM, [x, axis], [out], OPTIONS.ReducerOptions, _reducer(True))
    return out


def shape_fill(axes: int = 3, per_row: int = 196_608) -> bytes:
    """FILL of (batch, per_row) zeros, the batch read from the input's SHAPE: 0.75 MB a row, 3 GB a block."""
    m = Graphs()
    g = m.new_subgraph()
    x = m.tensor(g, [1, axes])
    shape = m.tensor(g, [2], dtype="i")
    so = tfl.ShapeOptionsT()
    so.outType = tfl.TensorType.INT32
    m.op(g, OPS.SHAPE, [x], [shape], OPTIONS.ShapeOptions, so)
    begin, end, step = (m.tensor(g, [1], np.asarray([v]), "i") for v in (0, 1, 1))
    batch = m.tensor(g, [1], dtype="i")
    m.op(
        g,
        OPS.STRIDED_SLICE,
        [shape, begin, end, step],
        [batch],
        OPTIONS.StridedSliceOptions,
        tfl.StridedSliceOptionsT(),
    )
    width = m.tensor(g, [1], np.asarray([per_row]), "i")
    dims = m.tensor(g, [2], dtype="i")
    co = tfl.ConcatenationOptionsT()
    m.op(g, OPS.CONCATENATION, [batch, width], [dims], OPTIONS.ConcatenationOptions, co)
    zero = m.tensor(g, [], np.asarray(0.0))
    filled = m.tensor(g, [1, per_row])
    m.op(g, OPS.FILL, [dims, zero], [filled], OPTIONS.FillOptions, tfl.FillOptionsT())
    out = _sum_to_score(m, g, filled, per_row)
    m.subgraphs[g].inputs, m.subgraphs[g].outputs = [x], [out]
    return m.finish()


def _while(body_doubles: bool, axes: int) -> bytes:
    m = Graphs()
    main, cond, body = m.new_subgraph(), m.new_subgraph(), m.new_subgraph()
    # cond: always true
    c_in = m.tensor(cond, [1, axes])
    c_true = m.tensor(cond, [], np.asarray(True), "b")
    c_out = m.tensor(cond, [])
    m.subgraphs[cond].tensors[c_out].type = tfl.TensorType.BOOL
    m.op(cond, OPS.LOGICAL_AND, [c_true, c_true], [c_out])
    m.subgraphs[cond].inputs, m.subgraphs[cond].outputs = [c_in], [c_out]
    # body: the tensor concatenated with itself (doubling), or plus zero (the same size, forever)
    b_in = m.tensor(body, [1, axes])
    b_out = m.tensor(body, [1, axes])
    if body_doubles:
        co = tfl.ConcatenationOptionsT()
        co.axis = 1
        m.op(body, OPS.CONCATENATION, [b_in, b_in], [b_out], OPTIONS.ConcatenationOptions, co)
    else:
        zero = m.tensor(body, [], np.asarray(0.0))
        m.op(body, OPS.ADD, [b_in, zero], [b_out], OPTIONS.AddOptions, tfl.AddOptionsT())
    m.subgraphs[body].inputs, m.subgraphs[body].outputs = [b_in], [b_out]
    # main: WHILE(x), then its sum
    x = m.tensor(main, [1, axes])
    looped = m.tensor(main, [1, axes])
    wo = tfl.WhileOptionsT()
    wo.condSubgraphIndex, wo.bodySubgraphIndex = cond, body
    m.op(main, OPS.WHILE, [x], [looped], OPTIONS.WhileOptions, wo)
    out = _sum_to_score(m, main, looped, axes)
    m.subgraphs[main].inputs, m.subgraphs[main].outputs = [x], [out]
    return m.finish()


def while_doubling(axes: int = 3) -> bytes:
    return _while(True, axes)


def while_forever(axes: int = 3) -> bytes:
    return _while(False, axes)


def batch_squared(axes: int = 3) -> bytes:
    """(batch, 1) + (1, batch) -> (batch, batch): linear ops only, a tensor that grows as batch squared."""
    m = Graphs()
    g = m.new_subgraph()
    x = m.tensor(g, [1, axes])
    col = _sum_to_score(m, g, x, axes)  # (batch, 1)
    perm = m.tensor(g, [2], np.asarray([1, 0]), "i")
    row = m.tensor(g, [1, 1])
    m.op(g, OPS.TRANSPOSE, [col, perm], [row], OPTIONS.TransposeOptions, tfl.TransposeOptionsT())
    square = m.tensor(g, [1, 1])
    m.op(g, OPS.ADD, [col, row], [square], OPTIONS.AddOptions, tfl.AddOptionsT())
    axis = m.tensor(g, [1], np.asarray([1]), "i")
    out = m.tensor(g, [1, 1])
    m.op(g, OPS.REDUCE_MAX, [square, axis], [out], OPTIONS.ReducerOptions, _reducer(True))
    m.subgraphs[g].inputs, m.subgraphs[g].outputs = [x], [out]
    return m.finish()


def broadcast_heavy(axes: int = 3, rows: int = 2000, cols: int = 2000, declared: bool = True) -> bytes:
    """x[0] broadcast to (rows, cols) by a constant shape, then summed: rows x cols floats per invoke.
    `declared` False declares that tensor as (1, 1, 1): its size shows only when LiteRT prepares the graph."""
    m = Graphs()
    g = m.new_subgraph()
    x = m.tensor(g, [1, axes])
    shape = m.tensor(g, [3], np.asarray([1, rows, cols]), "i")
    wide = m.tensor(g, [1, rows, cols] if declared else [1, 1, 1])
    reshaped_shape = m.tensor(g, [3], np.asarray([1, 1, axes]), "i")
    x3 = m.tensor(g, [1, 1, axes])
    ro = tfl.ReshapeOptionsT()
    ro.newShape = [1, 1, axes]
    m.op(g, OPS.RESHAPE, [x, reshaped_shape], [x3], OPTIONS.ReshapeOptions, ro)
    begin, size = m.tensor(g, [3], np.asarray([0, 0, 0]), "i"), m.tensor(g, [3], np.asarray([1, 1, 1]), "i")
    first = m.tensor(g, [1, 1, 1])
    m.op(g, OPS.SLICE, [x3, begin, size], [first], OPTIONS.SliceOptions, tfl.SliceOptionsT())
    m.op(g, OPS.BROADCAST_TO, [first, shape], [wide], OPTIONS.BroadcastToOptions, tfl.BroadcastToOptionsT())
    axis = m.tensor(g, [2], np.asarray([1, 2]), "i")
    summed = m.tensor(g, [1])
    m.op(g, OPS.SUM, [wide, axis], [summed], OPTIONS.ReducerOptions, _reducer(False))
    out_shape = m.tensor(g, [2], np.asarray([1, 1]), "i")
    out = m.tensor(g, [1, 1])
    ro2 = tfl.ReshapeOptionsT()
    ro2.newShape = [1, 1]
    m.op(g, OPS.RESHAPE, [summed, out_shape], [out], OPTIONS.ReshapeOptions, ro2)
    m.subgraphs[g].inputs, m.subgraphs[g].outputs = [x], [out]
    return m.finish()


def constant_score(value: float, axes: int = 3) -> bytes:
    """score = value * x[0] (FULLY_CONNECTED): x[0] = +-1 scores +-value."""
    m = Graphs()
    g = m.new_subgraph()
    x = m.tensor(g, [1, axes])
    weights = np.zeros((1, axes), np.float32)
    weights[0, 0] = value
    w = m.tensor(g, [1, axes], weights)
    b = m.tensor(g, [1], np.zeros(1))
    out = m.tensor(g, [1, 1])
    fc = tfl.FullyConnectedOptionsT()
    m.op(g, OPS.FULLY_CONNECTED, [x, w, b], [out], OPTIONS.FullyConnectedOptions, fc)
    m.subgraphs[g].inputs, m.subgraphs[g].outputs = [x], [out]
    return m.finish()


def corrupted_copies(data: bytes, count: int, seed: int = 0) -> list[bytes]:
    """`count` copies of `data`, each with 1 to 8 random bytes set to random values (the TFL3
    identifier kept, so each is read as a model file)."""
    rng = np.random.default_rng(seed)
    copies = []
    for _ in range(count):
        raw = bytearray(data)
        for at in rng.integers(8, len(raw), size=int(rng.integers(1, 9))):
            raw[int(at)] = int(rng.integers(0, 256))
        copies.append(bytes(raw))
    return copies
