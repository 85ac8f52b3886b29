"""The anomaly block of a deployment export, as `BlockFiles` of its kind.

What an export holds differs by SDK version (docs/export.md lists the layouts read):
- K-means: axes, scaler and clusters as C arrays, in `anomaly_clusters.h` with `anomaly_types.h`
  (older), `anomaly_clusters.h` alone, or `anomaly_metadata.h` (newer; names suffixed with the
  project and block ids in the newest), the block's config in `model_variables.h` when there is one.
- GMM: the float32 TFLite graph as a byte array (`tflite_anomaly_<id>.h` or `.cpp`), or EON-compiled
  (`tflite_anomaly_<id>_compiled.cpp`, rebuilt by `eon`); its config names its axes and graph.
- The threshold (`.anomaly_threshold` of the block's config, when the SDK version keeps it there),
  the impulse's DSP blocks in order with their output sizes, the learn block's input DSP blocks, and
  each DSP block's data normalization constants (`ei_dn_standard_scaler_mean_*`, `..._scale_*`).

The kind is read from the files (the config's type, the function the learn block runs, a
`tflite_anomaly_*` file), never from `EI_CLASSIFIER_HAS_ANOMALY`, which older exports set to 1 for
GMM blocks too. An export with several anomaly blocks is refused with the list to choose from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import MetadataError
from ...limits import Limits
from ...rules import ANOMALY_THRESHOLD_KEY
from ...tflm import read_tflite
from ..parts import BlockFiles, BlockKind, DataNormalization, ExportOrigin, FeatureSpace, ScoringSetup, Target
from .archive import ExportTree, read_export_tree
from .cheader import Definition, c_float32, c_int, defines, definitions, designated, elements, strip_comments
from .eon import graph_from_eon
from .gmm_graph import recover_mixture

__all__ = ["AnomalyEntry", "anomaly_entries", "files_from_tree", "list_anomaly_blocks", "read_export"]

_KIND_OF_CONFIG = {
    "ei_learning_block_config_anomaly_kmeans_t": BlockKind.KMEANS,
    "ei_learning_block_config_anomaly_gmm_t": BlockKind.GMM,
}


@dataclass(frozen=True)
class AnomalyEntry:
    """One anomaly block an export holds: its kind, its Studio id (when the export says it), and
    its config's fields (None for the oldest layouts, which have no config struct)."""

    kind: BlockKind
    block_id: int | None
    config: dict[str, Any] | None
    config_name: str | None

    @property
    def label(self) -> str:
        return f"#{self.block_id} ({self.kind.label})" if self.block_id is not None else self.kind.label


@dataclass
class _Sources:
    """The export's model-parameters headers and tflite-model files, parsed once."""

    tree: ExportTree
    defs: dict[str, Definition]
    where: dict[str, str]  # definition name -> the file it is in
    macros: dict[str, str]

    def get(self, name: str, what: str) -> Definition:
        if name not in self.defs:
            raise MetadataError(f"{self.tree.name}: {name} ({what}) is not defined in model-parameters/")
        return self.defs[name]

    def file_of(self, name: str) -> str:
        return self.where.get(name, "model-parameters/")


def _parse(tree: ExportTree) -> _Sources:
    defs: dict[str, Definition] = {}
    where: dict[str, str] = {}
    macros: dict[str, str] = {}
    headers = tree.in_folder("model-parameters")
    if not headers:
        raise MetadataError(f"{tree.name}: model-parameters/ holds no headers: expected model_metadata.h and the rest")
    for path in headers:
        text = strip_comments(tree.text(path))
        macros.update(defines(text))
        try:
            found = definitions(text)
        except MetadataError as exc:
            raise MetadataError(f"{tree.name}: {path}: {exc.detail}") from None
        for name, d in found.items():
            defs[name] = d
            where[name] = path
    return _Sources(tree, defs, where, macros)


def _name_in(value: Any) -> str | None:
    """The identifier a field points at: `(void*)&ei_config_tflite_graph_36` -> ei_config_tflite_graph_36."""
    if not isinstance(value, str):
        return None
    m = re.search(r"([A-Za-z_]\w*)\s*$", value.replace("g0::", ""))
    return m.group(1) if m and m.group(1) not in ("nullptr", "NULL") else None


def _trailing_id(name: str) -> int | None:
    m = re.search(r"_(\d+)$", name)
    return int(m.group(1)) if m else None


def anomaly_entries(sources: _Sources) -> list[AnomalyEntry]:
    """Every anomaly block the export holds, in the order of its configs."""
    entries = []
    for name, d in sources.defs.items():
        if d.type.startswith("ei_learning_block_config_anomaly"):
            kind = _KIND_OF_CONFIG.get(d.type)
            if kind is None:
                raise MetadataError(
                    f"{sources.tree.name}: {name} is a {d.type}: only K-means and GMM anomaly blocks are read"
                )
            fields = designated(d.body)
            block_id = c_int(str(fields["block_id"]), name) if "block_id" in fields else _trailing_id(name)
            entries.append(AnomalyEntry(kind, block_id, fields, name))
    if entries:
        return entries
    if any(re.fullmatch(r"ei_classifier_anom_clusters\w*", n) for n in sources.defs):
        return [AnomalyEntry(BlockKind.KMEANS, None, None, None)]
    models = [p for p in sources.tree.in_folder("tflite-model") if re.search(r"/tflite_anomaly_\d+", p)]
    if models:
        block = re.search(r"tflite_anomaly_(\d+)", models[0])
        return [AnomalyEntry(BlockKind.GMM, int(block.group(1)) if block else None, None, None)]
    return []


def _choose(entries: list[AnomalyEntry], block_id: int | None, name: str) -> AnomalyEntry:
    if not entries:
        raise MetadataError(
            f"{name}: no anomaly block in model-parameters/: expected a K-means block (anomaly_metadata.h or "
            "anomaly_clusters.h) or a GMM block (tflite-model/tflite_anomaly_<id>.h or _compiled.cpp)"
        )
    if block_id is not None:
        chosen = [e for e in entries if e.block_id == block_id]
        if not chosen:
            listed = ", ".join(e.label for e in entries)
            raise MetadataError(f"{name} has no anomaly block #{block_id}; it holds {listed}")
        return chosen[0]
    if len(entries) > 1:
        listed = ", ".join(e.label for e in entries)
        ids = [e.block_id for e in entries if e.block_id is not None]
        how = f"; choose one, e.g. {name}#{ids[0]}" if ids else ""
        raise MetadataError(f"{name} holds {len(entries)} anomaly blocks: {listed}{how}")
    return entries[0]


def _ints(sources: _Sources, name: str, what: str) -> list[int]:
    d = sources.get(name, what)
    return [c_int(v, f"{sources.file_of(name)}: {name}") for v in elements(d.body) if isinstance(v, str)]


def _floats(sources: _Sources, name: str, what: str) -> list[float]:
    d = sources.get(name, what)
    where = f"{sources.file_of(name)}: {name}"
    values = [float(c_float32(v, where)) for v in elements(d.body) if isinstance(v, str)]
    if d.dims and d.dims[0] is not None and d.dims[0] != len(values):
        raise MetadataError(f"{where} is declared with {d.dims[0]} values but lists {len(values)}")
    return values


def _config_name(entry: AnomalyEntry, field: str, default: str, sources: _Sources) -> str:
    named = _name_in(entry.config.get(field)) if entry.config else None
    if named:
        return named
    candidates = [n for n in sources.defs if re.fullmatch(default + r"(_\w+)?", n)]
    if len(candidates) == 1:
        return candidates[0]
    legacy = {"ei_classifier_anom_axes": "EI_CLASSIFIER_ANOM_AXIS"}.get(default)
    if legacy and legacy in sources.defs:
        return legacy
    if not candidates:
        raise MetadataError(f"{sources.tree.name}: no {default} array in model-parameters/")
    raise MetadataError(f"{sources.tree.name}: several {default} arrays and no block config naming one")


def _kmeans_metadata(sources: _Sources, entry: AnomalyEntry, axes: list[int]) -> tuple[dict[str, Any], str]:
    scale_name = _config_name(entry, "anom_scale", "ei_classifier_anom_scale", sources)
    mean_name = _config_name(entry, "anom_mean", "ei_classifier_anom_mean", sources)
    clusters_name = _config_name(entry, "anom_clusters", "ei_classifier_anom_clusters", sources)
    scale = _floats(sources, scale_name, "the K-means scaler's scale")
    mean = _floats(sources, mean_name, "the K-means scaler's mean")
    where = f"{sources.file_of(clusters_name)}: {clusters_name}"
    clusters = []
    for i, item in enumerate(elements(sources.get(clusters_name, "the clusters").body)):
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not isinstance(item[0], list)
            or not isinstance(item[1], str)
        ):
            raise MetadataError(f"{where}: cluster {i} is not {{ {{ center... }}, maxError }}")
        center = [float(c_float32(v, f"{where}[{i}]")) for v in item[0] if isinstance(v, str)]
        clusters.append({"center": center, "maxError": float(c_float32(item[1], f"{where}[{i}]"))})
    files = sorted({sources.file_of(n).rsplit("/", 1)[-1] for n in (scale_name, clusters_name)})
    if "anomaly_clusters.h" in files and any(p.endswith("anomaly_types.h") for p in sources.tree.files):
        files.append("anomaly_types.h")
    return {"axes": axes, "mean": mean, "scale": scale, "clusters": clusters}, " + ".join(files)


def _graph_source(sources: _Sources, entry: AnomalyEntry, limits: Limits) -> tuple[bytes, str]:
    """The GMM block's `.tflite` bytes and the file they came from."""
    tree = sources.tree
    graph_config = sources.defs.get(_name_in(entry.config.get("graph_config")) or "") if entry.config else None
    fields = designated(graph_config.body) if graph_config is not None else {}
    array = _name_in(fields.get("model"))
    init = _name_in(fields.get("model_init"))
    if init:
        prefix = init.removesuffix("_init")
        path = f"tflite-model/{prefix}_compiled.cpp"
        if path not in tree.files:
            raise MetadataError(f"{tree.name}: {path} is missing: the block's config names an EON-compiled graph")
        from ...tflm import write_tflite

        graph = graph_from_eon(tree.text(path), path)
        return write_tflite(graph, f"rebuilt from {path}"), f"EON-compiled {path.rsplit('/', 1)[-1]}"
    models = tree.in_folder("tflite-model")
    if array is None:
        compiled = [p for p in models if re.search(r"/tflite_anomaly_\d+_compiled\.cpp$", p)]
        if compiled and entry.block_id is not None:
            compiled = [p for p in compiled if f"tflite_anomaly_{entry.block_id}_" in p] or compiled
        if compiled:
            from ...tflm import write_tflite

            graph = graph_from_eon(tree.text(compiled[0]), compiled[0])
            return write_tflite(graph, f"rebuilt from {compiled[0]}"), f"EON-compiled {compiled[0].rsplit('/', 1)[-1]}"
        array = f"tflite_anomaly_{entry.block_id}" if entry.block_id is not None else None
    if array is None:
        raise MetadataError(f"{tree.name}: the GMM block names no model (tflite-model/tflite_anomaly_<id>.h)")
    pattern = re.compile(
        r"(?:unsigned\s+char|uint8_t)\s+" + re.escape(array) + r"\s*\[[^\]]*\]\s*(?:ALIGN\s*\(\s*\d+\s*\)\s*)?=\s*\{"
    )
    for path in models:
        text = tree.text(path)
        m = pattern.search(text)
        if not m:
            continue
        end = text.find("}", m.end())
        if end < 0:
            raise MetadataError(f"{tree.name}: {path}: the array {array} is cut short")
        try:
            data = bytes(int(v, 0) for v in re.findall(r"0[xX][0-9a-fA-F]+|\d+", text[m.end() : end]))
        except ValueError:
            raise MetadataError(f"{tree.name}: {path}: {array} holds values that are not bytes") from None
        read_tflite(data, limits.metadata_bytes)  # a flatbuffer, or a clear error
        return data, f"TFLite flatbuffer {path.rsplit('/', 1)[-1]}"
    raise MetadataError(f"{tree.name}: no tflite-model/ file defines {array} (the GMM block's model)")


def _gmm_parts(
    sources: _Sources, entry: AnomalyEntry, axes: list[int], limits: Limits
) -> tuple[dict[str, Any], dict[str, Any], bytes, str]:
    from ...tflm import check_gmm_scorer

    data, layout = _graph_source(sources, entry, limits)
    graph = read_tflite(data, limits.metadata_bytes)
    try:
        check_gmm_scorer(graph)
    except MetadataError as exc:
        raise MetadataError(f"{sources.tree.name}: {layout}: {exc.detail}") from None
    if graph.n_inputs != len(axes):
        raise MetadataError(
            f"{sources.tree.name}: {layout} takes {graph.n_inputs} values but the block has {len(axes)} axes"
        )
    mixture = recover_mixture(graph, len(axes))
    mean, scale = mixture.log_likelihood_mean, mixture.log_likelihood_scale
    metadata = {
        "axes": axes,
        "mean": [mean] if mean is not None else [],
        "scale": [scale] if scale is not None else [],
        "clusters": [],
    }
    return metadata, mixture.answer, data, layout


@dataclass(frozen=True)
class _Dsp:
    block_id: int | None
    outputs: int
    normalization: tuple[list[float], list[float]] | None  # (mean, inverse scale) per output


def _dsp_blocks(sources: _Sources) -> list[_Dsp]:
    """The impulse's DSP blocks in order (`ei_dsp_blocks...` of model_variables.h): id, outputs,
    normalization constants. Empty when the export's layout does not list them."""
    table = next(
        (d for n, d in sources.defs.items() if re.fullmatch(r"ei_dsp_blocks\w*", n) and d.type == "ei_model_dsp_t"),
        None,
    )
    if table is None:
        return []
    blocks = []
    for item in elements(table.body):
        if not isinstance(item, list):
            continue
        values = [v for v in item if isinstance(v, str)]
        fn = next((i for i, v in enumerate(values) if re.match(r"&?\s*extract_\w+", v)), None)
        if fn is None or fn == 0:
            return []
        outputs = c_int(values[fn - 1], "a DSP block's output size")
        config = _name_in(values[fn + 1]) if fn + 1 < len(values) else None
        block_id = c_int(values[fn - 2], "a DSP block's id") if fn >= 2 else (_trailing_id(config) if config else None)
        norm = None
        for v in values[fn + 2 :]:
            name = _name_in(v)
            if name and name in sources.defs and sources.defs[name].type == "ei_data_normalization_t":
                norm = _normalization(sources, name, outputs)
        blocks.append(_Dsp(block_id, outputs, norm))
    return blocks


def _normalization(sources: _Sources, name: str, outputs: int) -> tuple[list[float], list[float]]:
    items = [v for v in elements(sources.defs[name].body) if isinstance(v, str)]
    method = next((v for v in items if v.startswith("DATA_NORMALIZATION_METHOD_")), "")
    if method and method != "DATA_NORMALIZATION_METHOD_STANDARD_SCALER":
        raise MetadataError(f"{sources.file_of(name)}: {name} uses {method}; only the standard scaler is read")
    scaler_name = _name_in(items[0]) if items else None
    if scaler_name is None or scaler_name not in sources.defs:
        raise MetadataError(f"{sources.file_of(name)}: {name} names no standard scaler config")
    fields = designated(sources.defs[scaler_name].body)
    mean_name, scale_name = _name_in(fields.get("mean_data")), _name_in(fields.get("scale_data"))
    if mean_name is None or scale_name is None:
        raise MetadataError(f"{sources.file_of(scaler_name)}: {scaler_name} names no mean_data or scale_data")
    mean = _floats(sources, mean_name, "the data normalization's mean")
    inverse = _floats(sources, scale_name, "the data normalization's scale")
    if len(mean) != outputs or len(inverse) != outputs:
        raise MetadataError(
            f"{sources.file_of(mean_name)}: {mean_name} has {len(mean)} values and {scale_name} {len(inverse)} "
            f"for a DSP block of {outputs} outputs"
        )
    return mean, inverse


def _inputs_of(sources: _Sources, entry: AnomalyEntry, dsp: list[_Dsp]) -> list[_Dsp]:
    """The DSP blocks feeding the anomaly block, in order (all of them when the export does not say;
    none when its DSP block table could not be read)."""
    if entry.config_name is None or not dsp:
        return dsp
    suffix = entry.config_name.removeprefix("ei_learning_block_config_")
    name = f"ei_learning_block_{suffix}_inputs"
    if name not in sources.defs:
        return dsp
    ids = _ints(sources, name, "the anomaly block's input DSP blocks")
    by_id = {d.block_id: d for d in dsp}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise MetadataError(f"{sources.file_of(name)}: {name} names DSP block {missing[0]}, which the impulse lacks")
    return [by_id[i] for i in ids]


def _axis_normalization(inputs: list[_Dsp], axes: list[int], where: str) -> DataNormalization | None:
    if not any(d.normalization for d in inputs):
        return None
    mean, inverse, offset = [], [], 0
    spans = []
    for d in inputs:
        spans.append((offset, d))
        offset += d.outputs
    for ax in axes:
        span = next(((start, d) for start, d in spans if start <= ax < start + d.outputs), None)
        if span is None:
            raise MetadataError(f"{where}: axis {ax} lies beyond the {offset} features of the block's DSP blocks")
        start, d = span
        if d.normalization is None:  # a DSP block without normalization: identity
            mean.append(0.0)
            inverse.append(1.0)
        else:
            mean.append(d.normalization[0][ax - start])
            inverse.append(d.normalization[1][ax - start])
    ids = tuple(d.block_id for d in inputs if d.normalization is not None and d.block_id is not None)
    return DataNormalization(np.asarray(mean, np.float32), np.asarray(inverse, np.float32), ids)


def _project(macros: dict[str, str]) -> str | None:
    name = macros.get("EI_CLASSIFIER_PROJECT_NAME", "").strip().strip('"')
    number = macros.get("EI_CLASSIFIER_PROJECT_ID", "").strip()
    version = macros.get("EI_CLASSIFIER_PROJECT_DEPLOY_VERSION", "").strip()
    if not name and not number:
        return None
    text = name[:200] or "project"
    if number.isdigit():
        text += f" (project {number})"
    if version.isdigit():
        text += f", deploy version {version}"
    return text


def files_from_tree(tree: ExportTree, block_id: int | None = None, limits: Limits | None = None) -> BlockFiles:
    """The anomaly block of an export's files (`block_id` chooses one when it holds several)."""
    limits = limits or Limits.from_env()
    sources = _parse(tree)
    entry = _choose(anomaly_entries(sources), block_id, tree.name)
    axes_name = _config_name(entry, "anom_axis", "ei_classifier_anom_axes", sources)
    axes = _ints(sources, axes_name, "the block's axes")
    if not axes:
        raise MetadataError(f"{sources.file_of(axes_name)}: {axes_name} lists no axes")
    gmm = tflite = None
    if entry.kind is BlockKind.KMEANS:
        metadata, layout = _kmeans_metadata(sources, entry, axes)
    else:
        metadata, gmm, tflite, layout = _gmm_parts(sources, entry, axes, limits)
    threshold_note = "this SDK version keeps the anomaly threshold out of the library"
    if entry.config is not None and "anomaly_threshold" in entry.config:
        where = f"{sources.file_of(entry.config_name or '')}: {entry.config_name}.anomaly_threshold"
        value = float(c_float32(str(entry.config["anomaly_threshold"]), where))
        metadata["thresholds"] = [
            {"key": ANOMALY_THRESHOLD_KEY, "description": "Anomaly threshold (from the export)", "value": value}
        ]
        threshold_note = f".anomaly_threshold of {entry.config_name} in {sources.file_of(entry.config_name or '')}"
    dsp = _dsp_blocks(sources)
    inputs = _inputs_of(sources, entry, dsp)
    normalization = _axis_normalization(inputs, axes, f"{tree.name}: {axes_name}")
    has_flag = sources.macros.get("EI_CLASSIFIER_HAS_DATA_NORMALIZATION", "0").strip() not in ("0", "")
    has_constants = any(d.type == "ei_data_normalization_t" for d in sources.defs.values())
    if (has_flag or has_constants) and not inputs:
        # Never score raw rows without constants the export applies: that would be silently wrong.
        raise MetadataError(
            f"{tree.name}: the export normalizes DSP output (EI_CLASSIFIER_HAS_DATA_NORMALIZATION, "
            "ei_data_normalization_config_*) but its DSP blocks (ei_dsp_blocks in model_variables.h) cannot be "
            "read: expected each block's id, output size and normalization config"
        )
    origin = ExportOrigin(
        name=tree.library_name or tree.name,
        layout=layout,
        block_id=entry.block_id,
        project=_project(sources.macros),
        threshold_note=threshold_note,
        normalized_dsp_blocks=tuple(d.block_id for d in inputs if d.normalization and d.block_id is not None),
        dsp_blocks=tuple(d.block_id for d in inputs if d.block_id is not None),
    )
    setup = ScoringSetup(normalization, FeatureSpace.RAW, Target.CORTEX_M, origin)
    return BlockFiles(metadata, gmm, tflite, setup)


def read_export(
    source: Path | bytes, name: str | None = None, block_id: int | None = None, limits: Limits | None = None
) -> BlockFiles:
    """The anomaly block of an export (a `.zip` path or its bytes, or a directory holding one)."""
    limits = limits or Limits.from_env()
    return files_from_tree(read_export_tree(source, name, limits), block_id, limits)


def list_anomaly_blocks(
    source: Path | bytes, name: str | None = None, limits: Limits | None = None
) -> list[AnomalyEntry]:
    """The anomaly blocks an export holds (to ask which one, when there are several)."""
    return anomaly_entries(_parse(read_export_tree(source, name, limits or Limits.from_env())))
