"""A float32 TFLite graph as data: its tensors (constants with their values), its ops in order, its
input and output; read from a `.tflite` flatbuffer and written back to one.

A GMM block's scorer is such a graph (docs/gmm.md). An EON-compiled export holds the same graph as C
arrays and kernel calls (`ei_anomaly.blocks.export.eon` rebuilds a `Graph` from them and writes it as
a flatbuffer here), and `interpreter.run_graph` computes it as a named target does. The flatbuffer
schema is the one that ships with `ai-edge-litert` (a runtime requirement), so no TensorFlow is needed.

A model file is untrusted input: only the ops of a GMM scorer are accepted (`GMM_SCORER_OPS`), every
tensor is float32 or int32 with a static shape, and sizes are bounded before anything is computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import MetadataError

__all__ = [
    "GMM_SCORER_OPS",
    "MAX_GRAPH_OPS",
    "MAX_TENSOR_VALUES",
    "Graph",
    "Op",
    "Tensor",
    "check_gmm_scorer",
    "read_tflite",
    "write_tflite",
]

# The ops a GMM anomaly scorer is made of (Studio's graph uses the first eleven), each with a float
# kernel in `interpreter`. Anything else is not a GMM scorer's and is refused by name.
GMM_SCORER_OPS = (
    "FULLY_CONNECTED",
    "ADD",
    "SUB",
    "MUL",
    "DIV",
    "RESHAPE",
    "SUM",
    "REDUCE_MAX",
    "EXP",
    "LOG",
    "ABS",
    "NEG",
    "SQUARE",
    "SQUARED_DIFFERENCE",
)
_REDUCERS = frozenset({"SUM", "REDUCE_MAX"})
_WITH_ACTIVATION = frozenset({"FULLY_CONNECTED", "ADD", "SUB", "MUL", "DIV"})
MAX_GRAPH_OPS = 256  # Studio's GMM scorer has 20
MAX_TENSOR_VALUES = 4_000_000  # values in one tensor: far above any GMM block the metadata limits allow


@dataclass(frozen=True)
class Tensor:
    """One tensor: its declared shape (batch first), float32 or int32, and its values if constant."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # "float32" | "int32"
    data: npt.NDArray[np.float32] | npt.NDArray[np.int32] | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class Op:
    """One op: what it computes, its input and output tensors (-1: an optional input left out), its
    fused activation ("NONE" for a GMM scorer) and, for reducers, whether the reduced axes stay."""

    kind: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    activation: str = "NONE"
    keep_dims: bool = False


@dataclass(frozen=True)
class Graph:
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    @property
    def n_inputs(self) -> int:
        """Values per row: the input's size (a GMM scorer's input is (1, axes))."""
        return self.tensors[self.inputs[0]].size

    def constant(self, index: int) -> npt.NDArray[np.float32] | npt.NDArray[np.int32]:
        data = self.tensors[index].data
        if data is None:
            raise MetadataError(f"the model's tensor {index} ({self.tensors[index].name}) should be a constant")
        return data


def _check_shape(shape: tuple[int, ...], where: str) -> None:
    if any(d < 1 for d in shape) or len(shape) > 6:
        raise MetadataError(f"{where} has the shape {list(shape)}; a GMM scorer's shapes are static and small")
    if prod(shape) > MAX_TENSOR_VALUES:
        raise MetadataError(f"{where} holds {prod(shape):,} values; a GMM scorer's hold far fewer")


def check_gmm_scorer(graph: Graph) -> None:
    """Raise MetadataError unless `graph` could be a GMM anomaly scorer: one float32 input of shape
    (1, axes), a float32 output, only `GMM_SCORER_OPS` without fused activations, consistent
    constants. Everything `interpreter.run_graph` relies on is checked here."""
    if len(graph.inputs) != 1 or not graph.outputs:
        raise MetadataError("a GMM scorer's graph has one input and an output")
    if not graph.ops or len(graph.ops) > MAX_GRAPH_OPS:
        raise MetadataError(f"the graph has {len(graph.ops)} ops; a GMM scorer's has a few dozen at most")
    n = len(graph.tensors)
    for i, t in enumerate(graph.tensors):
        if t.dtype not in ("float32", "int32"):
            raise MetadataError(f"tensor {i} ({t.name[:80]}) is {t.dtype}; a GMM scorer is float32")
        _check_shape(t.shape, f"tensor {i} ({t.name[:80]})")
        if t.data is not None and t.data.size != t.size:
            raise MetadataError(f"tensor {i} ({t.name[:80]}) has {t.data.size} values for the shape {list(t.shape)}")
    first = graph.tensors[graph.inputs[0]] if 0 <= graph.inputs[0] < n else None
    if first is None or first.dtype != "float32" or len(first.shape) != 2 or first.shape[0] != 1:
        shape = list(first.shape) if first is not None else "none"
        raise MetadataError(f"the graph's input has shape {shape}; a GMM scorer's is float32 (1, axes)")
    if not 0 <= graph.outputs[0] < n or graph.tensors[graph.outputs[0]].dtype != "float32":
        raise MetadataError("a GMM scorer's output is float32")
    known = {graph.inputs[0]} | {i for i, t in enumerate(graph.tensors) if t.data is not None}
    for k, op in enumerate(graph.ops):
        if op.kind not in GMM_SCORER_OPS:
            raise MetadataError(
                f"op {k} of the graph is {op.kind}: not one of a GMM scorer's ops ({', '.join(GMM_SCORER_OPS)})"
            )
        if op.activation != "NONE":
            raise MetadataError(f"op {k} ({op.kind}) has a fused {op.activation}: a GMM scorer's ops have none")
        if len(op.outputs) != 1 or not all(-1 <= i < n for i in (*op.inputs, *op.outputs)):
            raise MetadataError(f"op {k} ({op.kind}) refers to tensors the graph does not have")
        needed = [i for i in op.inputs if i >= 0]
        if any(i not in known for i in needed):
            raise MetadataError(f"op {k} ({op.kind}) reads a tensor no earlier op wrote")
        constant_second = len(needed) >= 2 and graph.tensors[op.inputs[1]].data is not None
        if (op.kind in _REDUCERS or op.kind == "FULLY_CONNECTED") and not constant_second:
            raise MetadataError(f"op {k} ({op.kind}) needs a constant second input")
        if op.kind in _REDUCERS and 0 in np.asarray(graph.constant(op.inputs[1])).reshape(-1) % len(
            graph.tensors[op.inputs[0]].shape
        ):
            raise MetadataError(f"op {k} ({op.kind}) reduces over the batch: not a GMM scorer's")
        known.add(op.outputs[0])
    if graph.outputs[0] not in known:
        raise MetadataError("no op of the graph writes its output")


_TYPES = {0: "float32", 2: "int32"}  # TensorType.FLOAT32, TensorType.INT32
_DTYPES = {"float32": np.float32, "int32": np.int32}
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


def _schema() -> Any:
    """The flatbuffer schema's generated module (it has no type information)."""
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _op_names() -> dict[int, str]:
    codes = _schema().BuiltinOperator
    return {getattr(codes, name): name for name in dir(codes) if name.isupper()}


def read_tflite(data: bytes, limit_bytes: int | None = None) -> Graph:
    """The graph of a `.tflite` flatbuffer; MetadataError when it is not one, or not a small
    float32 graph of one subgraph. `check_gmm_scorer` says whether it is a GMM scorer."""
    if limit_bytes is not None and len(data) > limit_bytes:
        raise MetadataError(f"the model file is {len(data):,} bytes; the limit is {limit_bytes:,}")
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise MetadataError("the model is not a TFLite file (no TFL3 identifier)")
    tfl = _schema()
    try:
        model = tfl.ModelT.InitFromPackedBuf(bytearray(data), 0)
        names = _op_names()
        if model.subgraphs is None or len(model.subgraphs) != 1:
            raise MetadataError("the model has several subgraphs; a GMM scorer has one")
        sub = model.subgraphs[0]
        codes = [c.builtinCode if c.builtinCode else c.deprecatedBuiltinCode for c in model.operatorCodes or []]
        tensors = []
        for i, t in enumerate(sub.tensors or []):
            shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
            dtype = _TYPES.get(int(t.type), f"type {int(t.type)}")
            name = t.name.decode("utf-8", "replace") if isinstance(t.name, bytes) else str(t.name or "")
            if dtype in _DTYPES:
                _check_shape(shape, f"tensor {i}")
            values: npt.NDArray[np.float32] | npt.NDArray[np.int32] | None = None
            buffer = model.buffers[t.buffer] if model.buffers and 0 < t.buffer < len(model.buffers) else None
            if buffer is not None and buffer.data is not None and len(buffer.data) and dtype in _DTYPES:
                raw = np.asarray(buffer.data, np.uint8).tobytes()
                values = np.frombuffer(raw, _DTYPES[dtype]).copy()  # type: ignore[assignment]  # float32 or int32 by dtype
            elif buffer is not None and (buffer.offset or 0) > 1:
                raise MetadataError("the model keeps its constants outside the flatbuffer; a GMM scorer does not")
            tensors.append(Tensor(name, shape, dtype, values))
        ops = []
        for o in sub.operators or []:
            kind = names.get(codes[o.opcodeIndex], f"op {codes[o.opcodeIndex]}")
            options = o.builtinOptions
            activation = _ACTIVATIONS.get(int(getattr(options, "fusedActivationFunction", 0) or 0), "other")
            keep = bool(getattr(options, "keepDims", False))
            ops.append(Op(kind, tuple(int(i) for i in o.inputs), tuple(int(i) for i in o.outputs), activation, keep))
        graph = Graph(tuple(tensors), tuple(ops), tuple(int(i) for i in sub.inputs), tuple(int(i) for i in sub.outputs))
    except MetadataError:
        raise
    except Exception as exc:  # a malformed flatbuffer fails in the generated reader in many ways
        raise MetadataError(f"the model file is not a readable TFLite flatbuffer ({type(exc).__name__})") from None
    return graph


def write_tflite(graph: Graph, description: str = "") -> bytes:
    """The graph as a `.tflite` flatbuffer (schema version 3), constants in its buffers."""
    import flatbuffers

    tfl = _schema()
    ops, opts = tfl.BuiltinOperator, tfl.BuiltinOptions
    buffers = [tfl.BufferT()]  # buffer 0: the empty one, for computed tensors
    tensors = []
    for t in graph.tensors:
        out = tfl.TensorT()
        out.name, out.shape = t.name, list(t.shape)
        out.type = tfl.TensorType.FLOAT32 if t.dtype == "float32" else tfl.TensorType.INT32
        out.buffer = 0
        if t.data is not None:
            buf = tfl.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(t.data, _DTYPES[t.dtype]).tobytes(), np.uint8)
            buffers.append(buf)
            out.buffer = len(buffers) - 1
        tensors.append(out)
    opcodes: list[int] = []
    operators = []
    for op in graph.ops:
        code = getattr(ops, op.kind)
        if code not in opcodes:
            opcodes.append(code)
        o = tfl.OperatorT()
        o.opcodeIndex = opcodes.index(code)
        o.inputs, o.outputs = list(op.inputs), list(op.outputs)
        o.builtinOptionsType, o.builtinOptions = _options(tfl, opts, op)
        operators.append(o)
    sub = tfl.SubGraphT()
    sub.tensors, sub.operators, sub.inputs, sub.outputs, sub.name = (
        tensors,
        operators,
        list(graph.inputs),
        list(graph.outputs),
        "main",
    )
    codes = []
    for code in opcodes:
        c = tfl.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.version = code, min(code, 127), 1
        codes.append(c)
    model = tfl.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, codes, [sub], buffers
    model.description = description
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _options(tfl: Any, opts: Any, op: Op) -> tuple[int, object]:
    """The builtin options of one op, as the converter writes them (activation NONE, no keep_num_dims)."""
    if op.kind == "FULLY_CONNECTED":
        fc = tfl.FullyConnectedOptionsT()
        fc.fusedActivationFunction = 0
        return opts.FullyConnectedOptions, fc
    if op.kind in _REDUCERS:
        reducer = tfl.ReducerOptionsT()
        reducer.keepDims = op.keep_dims
        return opts.ReducerOptions, reducer
    simple = {
        "ADD": (opts.AddOptions, tfl.AddOptionsT),
        "SUB": (opts.SubOptions, tfl.SubOptionsT),
        "MUL": (opts.MulOptions, tfl.MulOptionsT),
        "DIV": (opts.DivOptions, tfl.DivOptionsT),
        "RESHAPE": (opts.ReshapeOptions, tfl.ReshapeOptionsT),
        "EXP": (opts.ExpOptions, tfl.ExpOptionsT),
        "ABS": (opts.AbsOptions, tfl.AbsOptionsT),
        "NEG": (opts.NegOptions, tfl.NegOptionsT),
        "SQUARE": (opts.SquareOptions, tfl.SquareOptionsT),
        "SQUARED_DIFFERENCE": (opts.SquaredDifferenceOptions, tfl.SquaredDifferenceOptionsT),
    }
    if op.kind in simple:
        kind, cls = simple[op.kind]
        value = cls()
        if op.kind == "RESHAPE":
            value.newShape = None  # the shape tensor (input 1) carries it
        return kind, value
    return 0, None  # LOG has no options
