"""Small deployment exports written by the tests, in each layout the SDK versions in the wild use
(docs/export.md), from known numbers: no Edge Impulse file is copied. Each writer returns the files
(path inside the export -> text); `write_export` puts them in a folder or a zip.

- `kmeans_types_clusters`: anomaly_types.h + anomaly_clusters.h (2020-2022): brace-initialised axes,
  sizes as macros, clusters as `{ { centre }, maxError }`, double literals.
- `kmeans_clusters_f`: anomaly_clusters.h alone (2023): `( float[3] ) { ...f }` float literals, and a
  K-means config in model_variables.h.
- `kmeans_metadata`: anomaly_metadata.h (2023-): names suffixed with project and block ids, the
  impulse's DSP blocks, the learn block's inputs and, optionally, data normalization constants.
- `gmm_flatbuffer`: the float32 graph as a byte array in tflite_anomaly_<id>.h (2023).
- `gmm_eon`: the graph EON-compiled into tflite_anomaly_<id>_compiled.cpp, with `.anomaly_threshold`.
Older exports set EI_CLASSIFIER_HAS_ANOMALY to 1 for GMM blocks too; the GMM writers do the same.
"""

# ruff: noqa: E501  (the C text these writers emit is easier to check line for line than wrapped)
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.tflm import Graph, read_tflite

HEADER = "/* Written by the Anomaly Lens tests in the layout of an Edge Impulse export. */\n"


def _floats(values: object, suffix: str = "") -> str:
    """Decimal literals of float32 values: 17 significant digits (double) or the shortest float32 repr + f."""
    out = []
    for v in np.asarray(values, np.float32).reshape(-1):
        if suffix:
            out.append(f"{np.format_float_positional(v, unique=True, trim='0')}{suffix}")
        else:
            out.append(f"{float(v):.17g}")
    return ", ".join(out)


def _model_metadata(frame: int, has_anomaly: str = "1", extra: str = "") -> str:
    return (
        HEADER
        + "#ifndef _EI_CLASSIFIER_MODEL_METADATA_H_\n#define _EI_CLASSIFIER_MODEL_METADATA_H_\n"
        + '#define EI_CLASSIFIER_PROJECT_ID                 4242\n#define EI_CLASSIFIER_PROJECT_NAME               "Test press"\n'
        + "#define EI_CLASSIFIER_PROJECT_DEPLOY_VERSION     7\n"
        + f"#define EI_CLASSIFIER_NN_INPUT_FRAME_SIZE        {frame}\n"
        + f"#define EI_CLASSIFIER_HAS_ANOMALY                {has_anomaly}\n"
        + extra
        + "#endif\n"
    )


def kmeans_types_clusters(block: AnomalyBlock) -> dict[str, str]:
    """The oldest layout: anomaly_types.h and anomaly_clusters.h, no block config."""
    p = block.handoff_parameters()
    n, k = len(p.axes), len(p.centers)
    types = (
        HEADER
        + "#define EI_CLASSIFIER_HAS_ANOMALY    1\n\n"
        + f"const uint16_t EI_CLASSIFIER_ANOM_AXIS[]  {{ {', '.join(str(a) for a in p.axes)} }};\n"
        + f"#define EI_CLASSIFIER_ANOM_AXIS_SIZE      {n}\n#define EI_CLASSIFIER_ANOM_CLUSTER_COUNT  {k}\n\n"
        + "typedef struct {\nfloat centroid[EI_CLASSIFIER_ANOM_AXIS_SIZE];\nfloat max_error;\n} ei_classifier_anom_cluster_t;\n"
    )
    clusters = ", ".join(
        f"{{ {{ {_floats(c)} }}, {_floats([m])} }}\n" for c, m in zip(p.centers, p.max_errors, strict=True)
    )
    body = (
        HEADER
        + '#include "edge-impulse-sdk/anomaly/anomaly.h"\n\n// (before - mean) / scale\n'
        + f"const float ei_classifier_anom_scale[EI_CLASSIFIER_ANOM_AXIS_SIZE] = {{ {_floats(p.scale)} }};\n"
        + f"const float ei_classifier_anom_mean[EI_CLASSIFIER_ANOM_AXIS_SIZE] = {{ {_floats(p.mean)} }};\n\n"
        + f"const ei_classifier_anom_cluster_t ei_classifier_anom_clusters[EI_CLASSIFIER_ANOM_CLUSTER_COUNT] = {{ {clusters}}};\n"
    )
    return {
        "model-parameters/anomaly_types.h": types,
        "model-parameters/anomaly_clusters.h": body,
        "model-parameters/model_metadata.h": _model_metadata(max(p.axes) + 1),
    }


def kmeans_clusters_f(block: AnomalyBlock) -> dict[str, str]:
    """anomaly_clusters.h with float literals (`f`), and the block's config in model_variables.h."""
    p = block.handoff_parameters()
    n = len(p.axes)
    clusters = "".join(
        f"\t{{ ( float[{n}] ) {{ {_floats(c, 'f')} }}, {_floats([m], 'f')} }},\n"
        for c, m in zip(p.centers, p.max_errors, strict=True)
    )
    body = (
        HEADER
        + f"const uint16_t ei_classifier_anom_axes[] = {{ {', '.join(str(a) for a in p.axes)} }};\n"
        + f"const float ei_classifier_anom_scale[{n}] = {{ {_floats(p.scale, 'f')} }};\n"
        + f"const float ei_classifier_anom_mean[{n}] = {{ {_floats(p.mean, 'f')} }};\n"
        + f"const ei_classifier_anom_cluster_t ei_classifier_anom_clusters[{len(p.centers)}] = {{\n{clusters}}};\n"
    )
    variables = (
        HEADER
        + "const ei_learning_block_config_anomaly_kmeans_t ei_learning_block_config_1 = {\n"
        + "    .implementation_version = 1,\n    .anom_axis = ei_classifier_anom_axes,\n"
        + f"    .anom_axes_size = {n},\n    .anom_clusters = ei_classifier_anom_clusters,\n"
        + f"    .anom_cluster_count = {len(p.centers)},\n    .anom_scale = ei_classifier_anom_scale,\n"
        + "    .anom_mean = ei_classifier_anom_mean,\n};\n"
    )
    return {
        "model-parameters/anomaly_clusters.h": body,
        "model-parameters/model_variables.h": variables,
        "model-parameters/model_metadata.h": _model_metadata(max(p.axes) + 1),
    }


def _dsp_table(suffix: str, dsp_id: int, outputs: int, normalization: tuple[object, object] | None) -> str:
    text = ""
    dn = "nullptr"
    if normalization is not None:
        mean, inverse = normalization
        text += (
            f"const float ei_dn_standard_scaler_mean_{suffix}_{dsp_id}[{outputs}] = {{ {_floats(mean)} }};\n"
            f"const float ei_dn_standard_scaler_scale_{suffix}_{dsp_id}[{outputs}] = {{ {_floats(inverse)} }};\n"
            f"const float ei_dn_standard_scaler_var_{suffix}_{dsp_id}[{outputs}] = {{ {_floats(np.ones(outputs))} }};\n"
            f"ei_data_normalization_standard_scaler_config_t ei_data_normalization_standard_scaler_config_{suffix}_{dsp_id} = {{\n"
            f"    .mean_data = (float *)ei_dn_standard_scaler_mean_{suffix}_{dsp_id},\n    .mean_data_len = {outputs},\n"
            f"    .scale_data = (float *)ei_dn_standard_scaler_scale_{suffix}_{dsp_id},\n    .scale_data_len = {outputs},\n"
            f"    .var_data = (float *)ei_dn_standard_scaler_var_{suffix}_{dsp_id},\n    .var_data_len = {outputs}\n}};\n"
            f"ei_data_normalization_t ei_data_normalization_config_{suffix}_{dsp_id} = {{\n"
            f"    (void *) &ei_data_normalization_standard_scaler_config_{suffix}_{dsp_id}, // config\n"
            "    DATA_NORMALIZATION_METHOD_STANDARD_SCALER, // method\n    nullptr, // context\n    nullptr, // init func\n"
            "    nullptr, // deinit func\n    &data_normalization_standard_scaler // exec func\n};\n\n"
        )
        dn = f"&ei_data_normalization_config_{suffix}_{dsp_id}"
    text += (
        f"const uint8_t ei_dsp_blocks_{suffix}_1_size = 1;\n"
        f"ei_model_dsp_t ei_dsp_blocks_{suffix}_1[ei_dsp_blocks_{suffix}_1_size] = {{\n"
        f"    {{ // DSP block {dsp_id}\n        {dsp_id},\n        {outputs}, // output size\n"
        "        &extract_spectral_analysis_features, // DSP function pointer\n"
        f"        (void*)&ei_dsp_config_{suffix}_{dsp_id}, // pointer to config struct\n"
        f"        ei_dsp_config_{suffix}_{dsp_id}_axes, // axes\n        ei_dsp_config_{suffix}_{dsp_id}_axes_size,\n"
        f"        1, // version\n        nullptr, // factory function\n        {dn}, // data normalization config\n    }}\n}};\n"
    )
    return text


def kmeans_metadata(
    block: AnomalyBlock,
    block_id: int = 6,
    dsp_id: int = 5,
    normalization: tuple[object, object] | None = None,
    threshold: float | None = None,
) -> dict[str, str]:
    """The newest layout: anomaly_metadata.h with suffixed names, the DSP blocks (with data
    normalization constants for every DSP output when `normalization` = (mean, 1/std) is given) and
    the block's config and inputs in model_variables.h."""
    p = block.handoff_parameters()
    n, suffix = len(p.axes), "4242"
    outputs = max(p.axes) + 1
    clusters = "".join(
        f"\t{{ ( float[{n}] ) {{ {_floats(c)} }}, {_floats([m])} }},\n"
        for c, m in zip(p.centers, p.max_errors, strict=True)
    )
    anomaly = (
        HEADER
        + f"const uint16_t ei_classifier_anom_axes_{suffix}_{block_id}[] = {{ {', '.join(str(a) for a in p.axes)} }};\n\n"
        + "// (before - mean) / scale\n"
        + f"const float ei_classifier_anom_scale_{suffix}_{block_id}[{n}] = {{ {_floats(p.scale)} }};\n"
        + f"const float ei_classifier_anom_mean_{suffix}_{block_id}[{n}] = {{ {_floats(p.mean)} }};\n"
        + f"const ei_classifier_anom_cluster_t ei_classifier_anom_clusters_{suffix}_{block_id}[{len(p.centers)}] = {{\n{clusters}}};\n"
    )
    threshold_field = f"    .anomaly_threshold = {threshold!r},\n" if threshold is not None else ""
    variables = (
        HEADER
        + f"EI_CLASSIFIER_DSP_AXES_INDEX_TYPE ei_dsp_config_{suffix}_{dsp_id}_axes[] = {{ 0, 1, 2 }};\n"
        + f"const uint32_t ei_dsp_config_{suffix}_{dsp_id}_axes_size = 3;\n"
        + f"ei_dsp_config_spectral_analysis_t ei_dsp_config_{suffix}_{dsp_id} = {{ {dsp_id}, 2, 3, 1.0f }};\n\n"
        + _dsp_table(suffix, dsp_id, outputs, normalization)
        + f"const ei_learning_block_config_anomaly_kmeans_t ei_learning_block_config_{suffix}_{block_id} = {{\n"
        + f"    .implementation_version = 1,\n    .block_id = {block_id},\n"
        + f"    .anom_axis = ei_classifier_anom_axes_{suffix}_{block_id},\n    .anom_axes_size = {n},\n"
        + f"    .anom_clusters = ei_classifier_anom_clusters_{suffix}_{block_id},\n"
        + f"    .anom_cluster_count = {len(p.centers)},\n"
        + f"    .anom_scale = ei_classifier_anom_scale_{suffix}_{block_id},\n"
        + f"    .anom_mean = ei_classifier_anom_mean_{suffix}_{block_id},\n{threshold_field}}};\n"
        + f"const uint32_t ei_learning_block_{suffix}_{block_id}_inputs[1] = {{ {dsp_id} }};\n"
        + f"const uint8_t ei_learning_block_{suffix}_{block_id}_inputs_size = 1;\n"
    )
    flag = f"#define EI_CLASSIFIER_HAS_DATA_NORMALIZATION        {1 if normalization is not None else 0}\n"
    return {
        "model-parameters/anomaly_metadata.h": anomaly,
        "model-parameters/model_variables.h": variables,
        "model-parameters/model_metadata.h": _model_metadata(outputs, "EI_ANOMALY_TYPE_KMEANS", flag),
    }


def _gmm_config(block_id: int, axes: list[int], graph_config: str, threshold: float | None) -> str:
    threshold_field = f"    .anomaly_threshold = {threshold!r},\n" if threshold is not None else ""
    return (
        f"const uint16_t ei_classifier_anom_axes[] = {{ {', '.join(str(a) for a in axes)} }};\n"
        + f"ei_learning_block_config_anomaly_gmm_t ei_learning_block_config_{block_id} = {{\n"
        + f"    .implementation_version = 1,\n    .anom_axis = ei_classifier_anom_axes,\n    .anom_axes_size = {len(axes)},\n"
        + threshold_field
        + f"    .graph_config = (void*)&{graph_config}\n}};\n"
    )


def gmm_flatbuffer(
    block: AnomalyBlock, tflite: bytes, block_id: int = 36, threshold: float | None = None
) -> dict[str, str]:
    """The GMM graph as a byte array in tflite_anomaly_<id>.h (and an empty .cpp), as in 2023."""
    rows = [", ".join(f"0x{b:02x}" for b in tflite[i : i + 12]) for i in range(0, len(tflite), 12)]
    array = (
        HEADER
        + f"#define EI_CLASSIFIER_TFLITE_ANOMALY_{block_id}_ARENA_SIZE     6924\n"
        + "#define ALIGN(X) __attribute__((aligned(X)))\n"
        + f"ALIGN(16) const unsigned char tflite_anomaly_{block_id}[] = {{\n  "
        + ",\n  ".join(rows)
        + f"\n}};\nunsigned int tflite_anomaly_{block_id}_len = {len(tflite)};\n"
    )
    variables = (
        HEADER
        + f"const ei_config_tflite_graph_t ei_config_tflite_graph_{block_id} = {{\n    .implementation_version = 1,\n"
        + f"    .model = tflite_anomaly_{block_id},\n    .model_size = tflite_anomaly_{block_id}_len,\n"
        + f"    .arena_size = tflite_anomaly_{block_id}_arena_size\n}};\n"
        + _gmm_config(block_id, block.axes, f"ei_config_tflite_graph_{block_id}", threshold)
    )
    return {
        f"tflite-model/tflite_anomaly_{block_id}.h": array,
        f"tflite-model/tflite_anomaly_{block_id}.cpp": HEADER + "// Empty on purpose\n",
        "model-parameters/model_variables.h": variables,
        "model-parameters/model_metadata.h": _model_metadata(max(block.axes) + 1),
    }


_TYPES = {"float32": "kTfLiteFloat32", "int32": "kTfLiteInt32"}


def eon_source(graph: Graph, ops: list[str] | None = None) -> str:
    """A graph as the EON compiler writes it (its tensor tables, node table and kernel order);
    `ops` replaces the kernel names (to write a graph that is not a GMM scorer's)."""
    lines = [HEADER, "namespace {", "namespace g0 {"]
    arena = 0
    entries = []
    for i, t in enumerate(graph.tensors):
        dims = ",".join(str(d) for d in t.shape)
        lines.append(f"const TfArray<{len(t.shape)}, int> tensor_dimension{i} = {{ {len(t.shape)}, {{ {dims} }} }};")
        if t.data is not None:
            ctype = "float" if t.dtype == "float32" else "int32_t"
            values = _floats(t.data) if t.dtype == "float32" else ", ".join(str(int(v)) for v in t.data)
            lines.append(f"const ALIGN(16) {ctype} tensor_data{i}[{t.size}] = {{ {values}, }};")
            data = f"(int32_t*)g0::tensor_data{i}"
            kind = "kTfLiteMmapRo"
        else:
            data = f"(int32_t*)(tensor_arena + {arena})"
            arena += 4 * t.size
            kind = "kTfLiteArenaRw"
        entries.append(
            f"{{ {kind}, {_TYPES[t.dtype]}, {data}, (TfLiteIntArray*)&g0::tensor_dimension{i}, {4 * t.size}, }},"
        )
    for k, op in enumerate(graph.ops):
        ins, outs = ",".join(str(i) for i in op.inputs), ",".join(str(i) for i in op.outputs)
        lines.append(f"const TfArray<{len(op.inputs)}, int> inputs{k} = {{ {len(op.inputs)}, {{ {ins} }} }};")
        lines.append(f"const TfArray<{len(op.outputs)}, int> outputs{k} = {{ {len(op.outputs)}, {{ {outs} }} }};")
        if op.kind == "FULLY_CONNECTED":
            lines.append(
                f"const TfLiteFullyConnectedParams opdata{k} = {{ kTfLiteActNone, kTfLiteFullyConnectedWeightsFormatDefault, false, false }};"
            )
        elif op.kind in ("SUM", "REDUCE_MAX"):
            lines.append(f"const ALIGN(1) uint8_t opdata{k}[1] = {{ {int(op.keep_dims)},  }}; /* op type */")
        elif op.kind == "DIV":
            lines.append(f"const ALIGN(4) uint8_t opdata{k}[4] = {{ 0, 0, 0, 0,  }}; /* op type 42=DIV */")
        elif op.kind in ("ADD", "SUB", "MUL"):
            lines.append(f"const TfLite{op.kind.capitalize()}Params opdata{k} = {{ kTfLiteActNone }};")
        elif op.kind == "RESHAPE":
            lines.append(f"const TfLiteReshapeParams opdata{k} = {{ {{ 0, 0, 0, 0, 0, 0, 0, 0, }}, 0 }};")
    lines.append("};")
    lines.append("TensorInfo_t tensorData[] = {")
    lines += entries
    lines.append("};")
    lines.append(f"TfLiteNode tflNodes[{len(graph.ops)}] = {{")
    for k, op in enumerate(graph.ops):
        has_options = op.kind not in ("EXP", "LOG", "ABS")
        opdata = f"const_cast<void*>(static_cast<const void*>(&g0::opdata{k}))" if has_options else "nullptr"
        lines.append(
            f"{{ (TfLiteIntArray*)&g0::inputs{k}, (TfLiteIntArray*)&g0::outputs{k}, (TfLiteIntArray*)&g0::inputs{k}, nullptr, nullptr, {opdata}, nullptr, 0, }},"
        )
    lines.append("};")
    names = ops or [op.kind for op in graph.ops]
    lines.append("used_operators_e used_ops[] =\n{" + ", ".join(f"OP_{n}" for n in names) + ", };")
    lines.append(f"const size_t tflTensors_subgraph_index[] = {{0, {len(graph.tensors)}, }};")
    lines.append(f"static const int in_tensor_indices[] = {{\n  {graph.inputs[0]}, \n}};")
    lines.append(f"static const int out_tensor_indices[] = {{\n  {graph.outputs[0]}, \n}};")
    lines.append("} // namespace")
    lines.append("TfLiteStatus tflite_anomaly_init( void*(*alloc_fnc)(size_t,size_t) ) { return kTfLiteOk; }")
    return "\n".join(lines) + "\n"


def gmm_eon(
    block: AnomalyBlock, tflite: bytes, block_id: int = 8, threshold: float | None = 2.0, ops: list[str] | None = None
) -> dict[str, str]:
    """The GMM graph EON-compiled into tflite_anomaly_<id>_compiled.cpp, with `.anomaly_threshold`, as in 2024."""
    variables = (
        HEADER
        + f"const ei_config_tflite_eon_graph_t ei_config_tflite_graph_{block_id} = {{\n    .implementation_version = 1,\n"
        + f"    .model_init = &tflite_anomaly_{block_id}_init,\n    .model_invoke = &tflite_anomaly_{block_id}_invoke,\n}};\n"
        + _gmm_config(block_id, block.axes, f"ei_config_tflite_graph_{block_id}", threshold)
    )
    return {
        f"tflite-model/tflite_anomaly_{block_id}_compiled.cpp": eon_source(read_tflite(tflite), ops),
        f"tflite-model/tflite_anomaly_{block_id}_compiled.h": HEADER,
        "model-parameters/model_variables.h": variables,
        "model-parameters/model_metadata.h": _model_metadata(
            max(block.axes) + 1, "1", "#define EI_CLASSIFIER_COMPILED 1\n"
        ),
    }


def write_export(where: Path, files: dict[str, str | bytes], *, zipped: bool = False, prefix: str = "") -> Path:
    """The files as a folder `where` (under `prefix/`), or as the zip `where`.zip."""
    if zipped:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(prefix + name, data)
        path = where.with_suffix(".zip")
        path.write_bytes(buffer.getvalue())
        return path
    for name, data in files.items():
        target = where / prefix / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data)
    return where
