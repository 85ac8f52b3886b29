"""An anomaly block of any kind, from a metadata file, a block directory or uploaded files.

A block directory (what `fetch -o DIR` writes) holds `metadata.json` (the metadata endpoint's
answer) and, for a GMM block, `gmm.json` (the `gmm/metadata` answer) and `model.tflite` (the
block's float32 TFLite file as downloaded). A K-means block needs only its metadata; a GMM block
needs all three. A deployment export (a `.zip` of a C++ or Arduino library, or a folder holding
one: `export.read_export`) gives the same files plus its data normalization and origin, scored for
the `cortex-m` target by default. `load_block` is the one entry every command and the app use, so
anything that takes a metadata file takes a block directory and an export too (`EXPORT#ID` chooses
one of an export's anomaly blocks). `BlockFiles` is what decides a block's kind from its files,
and builds it.
"""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MetadataError
from ..limits import Limits, human_bytes, too_big
from ..metadata import check_json_shape, feature_names_from_config, parse_metadata
from ..tflite_check import inspect_tflite
from .export import looks_like_export, read_export
from .gmm import GmmBlock
from .kmeans import KMeansBlock
from .parts import CONFIG_FILE, GMM_FILE, METADATA_FILE, MODEL_FILE, BlockFiles, BlockKind, ScoringSetup

if TYPE_CHECKING:
    from .base import AnomalyBlock

__all__ = [
    "DSP_NORMALIZATION_FILE",
    "block_files_from_uploads",
    "block_from_json",
    "block_to_json",
    "build_block",
    "check_tflite",
    "load_block",
    "read_block_dir",
    "split_block_id",
]

DSP_NORMALIZATION_FILE = "dsp_normalization.json"  # `fetch`: the DSP blocks Studio normalizes (constants unknown)


def build_block(
    files: BlockFiles, feature_names: dict[int, str] | None = None, limits: Limits | None = None
) -> AnomalyBlock:
    """The validated block of these files, of the kind they are; raises MetadataError naming what
    is wrong or missing. The one place that knows which class builds which kind."""
    names = dict(feature_names or {})
    meta = parse_metadata(files.metadata, limits)
    if files.kind is BlockKind.KMEANS:
        return KMeansBlock.from_metadata(meta, names, files.setup)
    if files.gmm is None:
        raise MetadataError(f"a GMM block needs its mixture ({GMM_FILE}, the gmm/metadata answer)")
    if files.tflite is None:
        raise MetadataError(f"a GMM block needs its float32 model file ({MODEL_FILE})")
    check_tflite(files.tflite, limits)
    return GmmBlock.from_parts(meta, files.gmm, files.tflite, names, limits, files.setup)


def check_tflite(data: bytes, limits: Limits | None = None) -> None:
    """Refuse a model file that is too big or is not a GMM scorer's graph (`tflite_check`), before it runs."""
    limits = limits or Limits.from_env()
    if len(data) > limits.metadata_bytes:
        raise MetadataError(
            too_big("the model file", human_bytes(len(data)), human_bytes(limits.metadata_bytes), "metadata_bytes")
        )
    inspect_tflite(data, limits)


def _read_json(path: Path, limits: Limits) -> dict[str, Any]:
    try:
        size = path.stat().st_size
        if size > limits.metadata_bytes:
            raise MetadataError(
                too_big(path.name, human_bytes(size), human_bytes(limits.metadata_bytes), "metadata_bytes")
            )
        raw = path.read_bytes()
        check_json_shape(raw, path.name, limits)
        data = json.loads(raw.decode("utf-8-sig"))
    except OSError as exc:
        raise MetadataError(f"cannot read {path.name}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MetadataError(f"{path.name} is not valid JSON") from None
    if not isinstance(data, dict):
        raise MetadataError(f"{path.name}: expected a JSON object")
    return data


def read_block_dir(directory: Path, limits: Limits | None = None) -> BlockFiles:
    """The files of a block directory (`metadata.json`, and `gmm.json` + `model.tflite` for GMM)."""
    limits = limits or Limits.from_env()
    meta_path = directory / METADATA_FILE
    if not meta_path.is_file():
        raise MetadataError(f"{directory.name}/ has no {METADATA_FILE}; is it a block directory from `fetch`?")
    gmm_path, model_path = directory / GMM_FILE, directory / MODEL_FILE
    gmm = _read_json(gmm_path, limits) if gmm_path.is_file() else None
    tflite = None
    if model_path.is_file():
        try:
            size = model_path.stat().st_size
            if size > limits.metadata_bytes:
                raise MetadataError(
                    too_big(MODEL_FILE, human_bytes(size), human_bytes(limits.metadata_bytes), "metadata_bytes")
                )
            tflite = model_path.read_bytes()
        except OSError as exc:
            raise MetadataError(f"cannot read {MODEL_FILE}: {exc.strerror}") from None
    setup = ScoringSetup()
    if (directory / DSP_NORMALIZATION_FILE).is_file():
        listed = _read_json(directory / DSP_NORMALIZATION_FILE, limits).get("dspBlocks")
        ids = [d.get("id") for d in listed or [] if isinstance(d, dict)]
        setup = ScoringSetup(studio_normalizes=tuple(i for i in ids if isinstance(i, int) and not isinstance(i, bool)))
    return BlockFiles(_read_json(meta_path, limits), gmm, tflite, setup)


def block_files_from_uploads(files: dict[str, bytes], limits: Limits | None = None) -> BlockFiles:
    """A block from uploaded files, by name: one JSON file alone is the metadata; a block
    directory's files are recognised by their names (`metadata.json`, `gmm.json`, `*.tflite`)."""
    limits = limits or Limits.from_env()
    jsons = {name: data for name, data in files.items() if name.lower().endswith(".json")}
    models = [data for name, data in files.items() if name.lower().endswith((".tflite", ".lite"))]
    if len(models) > 1:
        raise MetadataError("more than one model file: give one block's files")
    gmm_raw = jsons.pop(GMM_FILE, None)
    if METADATA_FILE in jsons:
        meta_raw = jsons.pop(METADATA_FILE)
    elif len(jsons) == 1:
        meta_raw = jsons.popitem()[1]
    else:
        raise MetadataError(f"give the block's {METADATA_FILE} (and for a GMM block {GMM_FILE} and {MODEL_FILE})")

    def decoded(raw: bytes, name: str) -> dict[str, Any]:
        if len(raw) > limits.metadata_bytes:
            raise MetadataError(
                too_big(name, human_bytes(len(raw)), human_bytes(limits.metadata_bytes), "metadata_bytes")
            )
        check_json_shape(raw, name, limits)
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise MetadataError(f"{name} is not valid JSON") from None
        if not isinstance(data, dict):
            raise MetadataError(f"{name}: expected a JSON object")
        return data

    return BlockFiles(
        decoded(meta_raw, METADATA_FILE),
        decoded(gmm_raw, GMM_FILE) if gmm_raw is not None else None,
        models[0] if models else None,
    )


def split_block_id(source: str | Path) -> tuple[Path, int | None]:
    """`export.zip#8` -> (export.zip, 8): which of an export's anomaly blocks (a path that exists
    as it is written is never split)."""
    text = str(source)
    path = Path(text)
    head, sep, tail = text.rpartition("#")
    if sep and tail.isdigit() and not path.exists() and Path(head).exists():
        return Path(head), int(tail)
    return path, None


def load_block(
    source: str | bytes | Path | dict[str, Any], feature_names: dict[int, str] | None = None
) -> AnomalyBlock:
    """A validated block of any kind from a metadata file, a block directory, a deployment export
    (`.zip` or folder, `#ID` for one of several anomaly blocks), JSON text/bytes or a dict."""
    if isinstance(source, (str, Path)) and not (isinstance(source, str) and source.lstrip()[:1] in ("{", "[")):
        path, block_id = split_block_id(source)
        if block_id is not None or looks_like_export(path):
            return build_block(read_export(path, block_id=block_id), feature_names)
        if path.is_dir():
            if feature_names is None and (path / CONFIG_FILE).is_file():  # axis labels, when the directory has them
                with contextlib.suppress(MetadataError):
                    feature_names = feature_names_from_config(_read_json(path / CONFIG_FILE, Limits.from_env()))
            return build_block(read_block_dir(path), feature_names)
    return KMeansBlock.from_metadata(parse_metadata(source), feature_names)


def block_to_json(block: AnomalyBlock, metadata_fields: set[str]) -> str:
    """What a worker needs to rebuild `block` for scoring, as compact JSON: the metadata's
    scoring `metadata_fields`, and for a GMM block its mixture and model file (base64)."""
    files = block.files(metadata_fields)
    setup = files.setup.to_dict() if files.setup != ScoringSetup() else None
    if files.scorable_from_metadata_alone and setup is None:
        return json.dumps(files.metadata, separators=(",", ":"))
    payload: dict[str, Any] = {"metadata": files.metadata, "setup": setup}
    if files.gmm is not None and files.tflite is not None:
        payload |= {"gmm": files.gmm, "tflite": base64.b64encode(files.tflite).decode()}
    return json.dumps({"block": payload}, separators=(",", ":"))


def block_from_json(text: str) -> AnomalyBlock:
    """The block `block_to_json` describes (its setup included: normalization, target)."""
    data = json.loads(text)
    parts = data.get("block") if isinstance(data, dict) else None
    if isinstance(parts, dict):
        setup = ScoringSetup.from_dict(parts["setup"]) if parts.get("setup") else ScoringSetup()
        tflite = base64.b64decode(parts["tflite"]) if "tflite" in parts else None
        return build_block(BlockFiles(parts["metadata"], parts.get("gmm"), tflite, setup))
    return KMeansBlock.from_metadata(parse_metadata(data))
