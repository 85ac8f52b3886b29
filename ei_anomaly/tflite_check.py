"""A GMM block's model file, read as what it is: a program from outside, checked before it runs.

A TFLite file is a graph of operators that LiteRT runs; a crafted one can loop forever (WHILE),
size its tensors from its input (SHAPE -> FILL: small per row, gigabytes for a block of rows), call
code by name (custom ops) or read data from outside itself. `inspect_tflite` reads the flatbuffer
(with the schema that ships with `ai-edge-litert`, in pure Python: nothing of the file runs here)
and accepts only the graph a GMM scorer is:

- one subgraph (no control flow: WHILE, IF and CALL_ONCE need more), no custom ops, version 3;
- only the operators in `ALLOWED_OPS`: the arithmetic, reductions, matrix products and shape
  changes that a mixture's log-likelihood (Studio's JAX scorer, converted to TFLite) is made of;
- tensors of float32, int32, int64 or bool, not variable, sparse or quantized, with static shapes
  (a shape signature may leave only the batch dimension open);
- every integer tensor an operator reads (a shape, an axis, a permutation) is a constant of the
  file: no size is computed from the input, so tensors grow at most with the rows of a block;
- every buffer inside the file (no offsets past it, no external buffers);
- one float32 input of shape (1, axes), a float32 output;
- at most `MAX_OPERATORS` operators and `MAX_TENSORS` tensors, and the tensors' declared sizes for
  one row within the model worker's memory.

What passes still runs only in a worker process with memory and CPU-time limits
(`litert_scoring`), which also measures how the memory grows with the rows of a block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import MetadataError
from .limits import Limits, human_bytes

__all__ = ["ALLOWED_OPS", "MAX_OPERATORS", "MAX_TENSORS", "ModelFileFacts", "inspect_tflite"]

TFLITE_MAGIC = b"TFL3"
MAX_OPERATORS = 10_000  # Studio's graph has a few operators per component (at most 1,000 components)
MAX_TENSORS = 20_000
MAX_RANK = 8

# The operators a GMM scorer is made of: element-wise arithmetic and functions, comparisons and
# selection (log-sum-exp's guard against -inf), reductions, matrix products, and shape changes whose
# sizes are constants of the file. Nothing here loops, calls another subgraph or sizes a tensor
# from data.
ALLOWED_OPS = (
    "ABS",
    "ADD",
    "BATCH_MATMUL",
    "BROADCAST_TO",
    "CAST",
    "CONCATENATION",
    "DIV",
    "EQUAL",
    "EXP",
    "EXPAND_DIMS",
    "FULLY_CONNECTED",
    "GREATER",
    "GREATER_EQUAL",
    "LESS",
    "LESS_EQUAL",
    "LOG",
    "LOGICAL_AND",
    "LOGICAL_NOT",
    "LOGICAL_OR",
    "MAXIMUM",
    "MEAN",
    "MINIMUM",
    "MUL",
    "NEG",
    "NOT_EQUAL",
    "PACK",
    "POW",
    "REDUCE_MAX",
    "REDUCE_MIN",
    "RESHAPE",
    "RSQRT",
    "SELECT",
    "SELECT_V2",
    "SLICE",
    "SQRT",
    "SQUARE",
    "SQUARED_DIFFERENCE",
    "SQUEEZE",
    "STRIDED_SLICE",
    "SUB",
    "SUM",
    "TRANSPOSE",
    "UNPACK",
)

_ITEM_BYTES = {"FLOAT32": 4, "INT32": 4, "INT64": 8, "BOOL": 1}


@dataclass(frozen=True)
class ModelFileFacts:
    """What the check read: the input's width, the operators used, and the declared size of the
    tensors that are not constants (one row: the input's batch dimension is 1)."""

    n_inputs: int
    ops: tuple[str, ...]
    operators: int
    tensors: int
    one_row_bytes: int


def _refuse(detail: str) -> MetadataError:
    return MetadataError(f"the block's TFLite file: {detail}")


def inspect_tflite(data: bytes, limits: Limits | None = None) -> ModelFileFacts:
    """The facts of a model file that is a GMM scorer and nothing else; MetadataError saying what
    is refused otherwise. Pure Python over the flatbuffer: no part of the file runs."""
    limits = limits or Limits.from_env()
    if len(data) < 8 or data[4:8] != TFLITE_MAGIC:
        raise _refuse("not a TFLite file (no TFL3 identifier)")
    try:
        return _inspect(bytes(data), limits)
    except MetadataError:
        raise
    except Exception as exc:  # the schema's readers on a malformed buffer: struct, index, unicode errors...
        raise _refuse(f"not a readable TFLite file (its structure is damaged: {type(exc).__name__})") from None


def _names() -> tuple[Any, dict[int, str], dict[int, str]]:
    from ai_edge_litert import schema_py_generated as tfl

    ops = {v: k for k, v in vars(tfl.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(tfl.TensorType).items() if not k.startswith("_")}
    return tfl, ops, types


def _count(what: str, n: int, most: int) -> None:
    if n > most:
        raise _refuse(f"has {n:,} {what}; a GMM scorer has at most {most:,}")


def _inspect(data: bytes, limits: Limits) -> ModelFileFacts:
    tfl, op_names, type_names = _names()
    model = tfl.Model.GetRootAs(data, 0)
    if model.Version() != 3:
        raise _refuse(f"schema version {model.Version()}; TFLite files are version 3")
    if model.SubgraphsLength() != 1:
        raise _refuse(
            f"has {model.SubgraphsLength():,} subgraphs; a GMM scorer has one (control flow such as WHILE or IF "
            "is not accepted)"
        )
    if model.ExternalBuffersLength() or model.ExternalBufferGroupsLength():
        raise _refuse("refers to data outside the file (external buffers)")
    allowed = set(ALLOWED_OPS)
    _count("operator codes", model.OperatorCodesLength(), MAX_OPERATORS)
    codes: list[str] = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        number = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        name = op_names.get(number, f"#{number}")
        if name == "CUSTOM" or code.CustomCode():
            raise _refuse("uses a custom operator; a GMM scorer uses only built-in ones")
        if name not in allowed:
            raise _refuse(
                f"uses the operator {name}, which a GMM scorer does not use (accepted: {', '.join(ALLOWED_OPS)})"
            )
        codes.append(name)
    _count("buffers", model.BuffersLength(), MAX_TENSORS + 1)
    buffer_sizes = []
    for i in range(model.BuffersLength()):
        buf = model.Buffers(i)
        if buf.Offset() > 1 or buf.Size() > 0:
            raise _refuse("keeps data outside its flatbuffer (buffer offsets); a GMM scorer's weights are inside it")
        buffer_sizes.append(buf.DataLength())
    graph = model.Subgraphs(0)
    _count("tensors", graph.TensorsLength(), MAX_TENSORS)
    _count("operators", graph.OperatorsLength(), MAX_OPERATORS)
    n_tensors = graph.TensorsLength()
    kinds: list[str] = []
    constant: list[bool] = []
    one_row = 0
    for i in range(n_tensors):
        t = graph.Tensors(i)
        kind = type_names.get(t.Type(), f"#{t.Type()}")
        if kind not in _ITEM_BYTES:
            raise _refuse(f"tensor {i} is of type {kind}; a float32 GMM scorer uses float32, int32, int64 and bool")
        if t.IsVariable() or t.Sparsity() is not None or t.VariantTensorsLength() or t.ExternalBuffer():
            raise _refuse(f"tensor {i} is variable, sparse or external; a GMM scorer's tensors are plain")
        quant = t.Quantization()
        if quant is not None and (quant.ScaleLength() or quant.ZeroPointLength()):
            raise _refuse(f"tensor {i} is quantized; give the block's float32 model file")
        _count(f"dimensions in tensor {i}", t.ShapeLength(), MAX_RANK)
        shape = [int(t.Shape(d)) for d in range(t.ShapeLength())]
        if any(d < 0 for d in shape):
            raise _refuse(f"tensor {i} has the shape {shape}; a GMM scorer's shapes are static")
        if t.ShapeSignatureLength():
            signature = [int(t.ShapeSignature(d)) for d in range(t.ShapeSignatureLength())]
            open_dims = [d for d, (s, n) in enumerate(zip(signature, shape, strict=False)) if s != n]
            if len(signature) != len(shape) or any(d != 0 or signature[d] != -1 for d in open_dims):
                raise _refuse(f"tensor {i} has the dynamic shape {signature}; only the batch dimension may be open")
        size = math.prod(shape) * _ITEM_BYTES[kind]
        index = int(t.Buffer())
        if not 0 <= index < len(buffer_sizes):
            raise _refuse(f"tensor {i} points at buffer {index}, which the file does not have")
        is_constant = buffer_sizes[index] > 0
        if is_constant and buffer_sizes[index] != size:
            raise _refuse(
                f"tensor {i} has {buffer_sizes[index]:,} bytes of data for its shape {shape} ({size:,} bytes)"
            )
        if not is_constant:
            one_row += size
        kinds.append(kind)
        constant.append(is_constant)
    if one_row > limits.model_memory_bytes:
        raise _refuse(
            f"its tensors for one row take {human_bytes(one_row)}; a model may use "
            f"{human_bytes(limits.model_memory_bytes)} "
            f"(`{Limits.variable('model_memory_bytes')}`)"
        )
    used: set[str] = set()
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        if not 0 <= op.OpcodeIndex() < len(codes):
            raise _refuse(f"operator {i} has no operator code")
        name = codes[op.OpcodeIndex()]
        used.add(name)
        if op.CustomOptionsLength() or op.MutatingVariableInputsLength() or op.IntermediatesLength():
            raise _refuse(f"operator {i} ({name}) has custom options or variables; a GMM scorer's have none")
        _count(f"inputs of operator {i}", op.InputsLength(), 64)
        _count(f"outputs of operator {i}", op.OutputsLength(), 64)
        inputs = [int(op.Inputs(k)) for k in range(op.InputsLength())]
        outputs = [int(op.Outputs(k)) for k in range(op.OutputsLength())]
        for k in inputs + outputs:
            if not -1 <= k < n_tensors:
                raise _refuse(f"operator {i} ({name}) refers to tensor {k}, which the file does not have")
        for k in outputs:
            if k < 0 or constant[k]:
                raise _refuse(f"operator {i} ({name}) writes into a constant or a missing tensor")
        for k in inputs:
            if k >= 0 and kinds[k] in ("INT32", "INT64") and not constant[k]:
                raise _refuse(
                    f"operator {i} ({name}) reads an integer tensor computed by the graph (a size or an index from "
                    "the data); a GMM scorer's shapes and axes are constants of the file"
                )
    return ModelFileFacts(
        _input_width(graph, kinds, n_tensors), tuple(sorted(used)), graph.OperatorsLength(), n_tensors, one_row
    )


def _input_width(graph: Any, kinds: list[str], n_tensors: int) -> int:
    if graph.InputsLength() != 1 or not 0 <= graph.Inputs(0) < n_tensors or kinds[graph.Inputs(0)] != "FLOAT32":
        raise _refuse("a GMM block's model file takes one float32 input (is it the float32 model?)")
    if graph.OutputsLength() < 1 or not 0 <= graph.Outputs(0) < n_tensors or kinds[graph.Outputs(0)] != "FLOAT32":
        raise _refuse("a GMM block's model file gives a float32 output (is it the float32 model?)")
    t = graph.Tensors(graph.Inputs(0))
    shape = [int(t.Shape(d)) for d in range(t.ShapeLength())]
    if len(shape) != 2 or shape[0] != 1 or shape[1] < 1:
        raise _refuse(f"its input has shape {shape}; a GMM block's is (1, axes)")
    return shape[1]
