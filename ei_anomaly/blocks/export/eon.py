"""An EON-compiled graph (`tflite_anomaly_<id>_compiled.cpp`) read back into a `tflm.Graph`.

The EON compiler writes no flatbuffer: it writes each constant tensor as a C array
(`tensor_data<N>`), each tensor's shape (`tensor_dimension<N>`), a table of every tensor (its type, and
either its constant array or its place in the arena: `tensorData[]`), each op's input and output
tensor lists (`inputs<N>`, `outputs<N>`) and options (`opdata<N>`), and the kernels in the order they
run (`used_ops[]`; older versions put the op in each `nodeData[]` entry). From those the same float32
graph is rebuilt, checked to be a GMM scorer's (`tflm.check_gmm_scorer`: any other op is refused by
name), and written as a `.tflite` flatbuffer, which the rest of the block uses as it would Studio's.
"""

from __future__ import annotations

import re

import numpy as np

from ...errors import MetadataError
from ...tflm import Graph, Op, Tensor, check_gmm_scorer
from .cheader import Definition, c_float32, c_int, definitions, elements, strip_comments

__all__ = ["graph_from_eon"]

_TYPES = {"kTfLiteFloat32": "float32", "kTfLiteInt32": "int32"}
_ACTIVATIONS = {
    "kTfLiteActNone": "NONE",
    "kTfLiteActRelu": "RELU",
    "kTfLiteActReluN1To1": "RELU_N1_TO_1",
    "kTfLiteActRelu6": "RELU6",
    "kTfLiteActTanh": "TANH",
    "kTfLiteActSignBit": "SIGN_BIT",
    "kTfLiteActSigmoid": "SIGMOID",
}
_NUMBERED = re.compile(r"(tensor_data|tensor_dimension|inputs|outputs|opdata)(\d+)\b")


def _flat(items: list) -> list[str]:  # type: ignore[type-arg]
    out: list[str] = []
    for item in items:
        out.extend(_flat(item) if isinstance(item, list) else [item])
    return [x for x in out if x]


def _int_array(defs: dict[str, Definition], name: str, file: str) -> list[int]:
    """A `TfArray<n, int> name = { n, { ... } }`: its values."""
    if name not in defs:
        raise MetadataError(f"{file}: {name} is missing: expected the EON compiler's tensor tables")
    items = elements(defs[name].body)
    values = _flat(items[1:]) if len(items) >= 2 else []
    count = c_int(str(items[0]), f"{file}: {name}") if items and isinstance(items[0], str) else -1
    ints = [c_int(v, f"{file}: {name}") for v in values]
    if count != len(ints):
        raise MetadataError(f"{file}: {name} says {count} values but lists {len(ints)}")
    return ints


def _constant(defs: dict[str, Definition], name: str, dtype: str, file: str) -> np.ndarray:
    if name not in defs:
        raise MetadataError(f"{file}: the constant {name} is missing")
    values = _flat(elements(defs[name].body))
    if dtype == "float32":
        return np.array([c_float32(v, f"{file}: {name}") for v in values], np.float32)
    return np.array([c_int(v, f"{file}: {name}") for v in values], np.int32)


def _activation(defs: dict[str, Definition], name: str | None, file: str) -> tuple[str, bool]:
    """(fused activation, keep_dims) of an op's options; raw byte options (`uint8_t opdata4[1]`)
    are a reducer's keep_dims or an int32 activation."""
    if name is None or name not in defs:
        return "NONE", False
    d = defs[name]
    values = _flat(elements(d.body))
    if d.type in ("uint8_t", "unsigned char"):
        raw = bytes(c_int(v, f"{file}: {name}") & 0xFF for v in values)
        if len(raw) == 1:
            return "NONE", raw[0] != 0
        code = int.from_bytes(raw[:4].ljust(4, b"\0"), "little")
        return {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}.get(code, f"activation {code}"), False
    if d.type == "TfLiteReducerParams":
        return "NONE", bool(values and values[0].strip() in ("true", "1"))
    if values and values[0].startswith("kTfLiteAct"):
        return _ACTIVATIONS.get(values[0], values[0]), False
    return "NONE", False


def graph_from_eon(text: str, file: str) -> Graph:
    """The graph of an EON-compiled `.cpp`; MetadataError naming the file when it is not a GMM scorer's."""
    defs = definitions(strip_comments(text))
    table = defs.get("tensorData")
    if table is None:
        raise MetadataError(f"{file}: no tensorData table: expected an EON-compiled graph (tflite_..._compiled.cpp)")
    if "tflTensors_subgraph_index" in defs and len(_flat(elements(defs["tflTensors_subgraph_index"].body))) > 2:
        raise MetadataError(f"{file}: the graph has several subgraphs; a GMM scorer has one")
    tensors: list[Tensor] = []
    for i, entry in enumerate(elements(table.body)):
        parts = _flat(entry) if isinstance(entry, list) else []
        joined = " ".join(parts)
        kind = next((p for p in parts if p.startswith("kTfLite") and p not in ("kTfLiteMmapRo", "kTfLiteArenaRw")), "")
        dims = re.search(r"tensor_dimension(\d+)", joined)
        if not dims:
            raise MetadataError(f"{file}: tensorData entry {i} names no shape")
        if "kTfLiteAffineQuantization" in joined:
            raise MetadataError(f"{file}: tensor {i} is quantized; a GMM scorer is float32")
        if kind not in _TYPES:
            raise MetadataError(f"{file}: tensor {i} is {kind or 'of no known type'}; a GMM scorer is float32")
        shape = tuple(_int_array(defs, f"tensor_dimension{dims.group(1)}", file))
        data = re.search(r"tensor_data(\d+)", joined)
        values = _constant(defs, f"tensor_data{data.group(1)}", _TYPES[kind], file) if data else None
        tensors.append(Tensor(f"tensor_{i}", shape, _TYPES[kind], values))
    ops = _ops(defs, file)
    inputs, outputs = _graph_io(defs, tensors, ops, file)
    graph = Graph(tuple(tensors), tuple(ops), inputs, outputs)
    try:
        check_gmm_scorer(graph)
    except MetadataError as exc:
        raise MetadataError(f"{file}: {exc.detail}") from None
    return graph


def _ops(defs: dict[str, Definition], file: str) -> list[Op]:
    nodes = defs.get("tflNodes") or defs.get("nodeData")
    if nodes is None:
        raise MetadataError(f"{file}: no node table (tflNodes or nodeData): expected an EON-compiled graph")
    order = [v.removeprefix("OP_") for v in _flat(elements(defs["used_ops"].body))] if "used_ops" in defs else []
    ops: list[Op] = []
    for k, entry in enumerate(elements(nodes.body)):
        joined = " ".join(_flat(entry) if isinstance(entry, list) else [entry])
        numbered = {kind: number for kind, number in _NUMBERED.findall(joined)}
        named = re.search(r"\bOP_([A-Z0-9_]+)\b", joined)
        kind = named.group(1) if named else (order[k] if k < len(order) else None)
        if kind is None or "inputs" not in numbered or "outputs" not in numbered:
            raise MetadataError(f"{file}: node {k} names no op, inputs or outputs")
        opdata = f"opdata{numbered['opdata']}" if "opdata" in numbered else None
        activation, keep = _activation(defs, opdata, file)
        ops.append(
            Op(
                kind,
                tuple(_int_array(defs, f"inputs{numbered['inputs']}", file)),
                tuple(_int_array(defs, f"outputs{numbered['outputs']}", file)),
                activation,
                keep,
            )
        )
    if order and len(order) != len(ops):
        raise MetadataError(f"{file}: used_ops lists {len(order)} kernels for {len(ops)} nodes")
    return ops


def _graph_io(
    defs: dict[str, Definition], tensors: list[Tensor], ops: list[Op], file: str
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    def listed(name: str) -> tuple[int, ...] | None:
        if name not in defs:
            return None
        return tuple(c_int(v, f"{file}: {name}") for v in _flat(elements(defs[name].body)))

    inputs, outputs = listed("in_tensor_indices"), listed("out_tensor_indices")
    written = {o for op in ops for o in op.outputs}
    if inputs is None:  # the one computed tensor no op writes
        inputs = tuple(i for i, t in enumerate(tensors) if t.data is None and i not in written)[:1]
    if outputs is None and ops:
        outputs = ops[-1].outputs
    if not inputs or not outputs:
        raise MetadataError(f"{file}: cannot tell the graph's input and output")
    return inputs, outputs
