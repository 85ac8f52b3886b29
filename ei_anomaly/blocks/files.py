"""An anomaly block of any kind, from a metadata file, a block directory or uploaded files.

A block directory (what `fetch -o DIR` writes) holds `metadata.json` (the metadata endpoint's
answer) and, for a GMM block, `gmm.json` (the `gmm/metadata` answer) and `model.tflite` (the
block's float32 TFLite file as downloaded). A K-means block needs only its metadata; a GMM block
needs all three. `load_block` is the one entry every command and the app use, so anything that
takes a metadata file takes a block directory too. `BlockFiles` is what decides a block's kind
from its files, and builds it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MetadataError
from ..limits import Limits, human_bytes, too_big
from ..metadata import feature_names_from_config, parse_metadata
from .base import BlockKind
from .kmeans import KMeansBlock

if TYPE_CHECKING:
    from .base import AnomalyBlock

__all__ = [
    "CONFIG_FILE",
    "GMM_FILE",
    "METADATA_FILE",
    "MODEL_FILE",
    "BlockFiles",
    "atomic_write",
    "block_files_from_uploads",
    "block_from_json",
    "block_to_json",
    "check_tflite",
    "json_bytes",
    "load_block",
    "read_block_dir",
]

METADATA_FILE = "metadata.json"
GMM_FILE = "gmm.json"
MODEL_FILE = "model.tflite"
CONFIG_FILE = "anomaly_config.json"  # optional: the block config, for axis labels
TFLITE_MAGIC = b"TFL3"


@dataclass(frozen=True)
class BlockFiles:
    """The answers that make up one block: metadata, and for GMM the mixture and the model file."""

    metadata: dict[str, Any]
    gmm: dict[str, Any] | None = None
    tflite: bytes | None = None

    @property
    def kind(self) -> BlockKind:
        return BlockKind.GMM if self.gmm is not None or self.tflite is not None else BlockKind.KMEANS

    @property
    def scorable_from_metadata_alone(self) -> bool:
        """Whether the metadata file alone is the whole block (a GMM block also needs its mixture and model file)."""
        return self.kind is BlockKind.KMEANS

    def block(self, feature_names: dict[int, str] | None = None, limits: Limits | None = None) -> AnomalyBlock:
        """The validated block; raises MetadataError naming what is wrong or missing."""
        names = dict(feature_names or {})
        meta = parse_metadata(self.metadata, limits)
        if self.kind is BlockKind.KMEANS:
            return KMeansBlock.from_metadata(meta, names)
        from .gmm import GmmBlock

        if self.gmm is None:
            raise MetadataError(f"a GMM block needs its mixture ({GMM_FILE}, the gmm/metadata answer)")
        if self.tflite is None:
            raise MetadataError(f"a GMM block needs its float32 model file ({MODEL_FILE})")
        check_tflite(self.tflite, limits)
        return GmmBlock.from_parts(meta, self.gmm, self.tflite, names, limits)

    def write(self, directory: Path) -> list[Path]:
        """Write the block directory (created if missing); each file atomically. Returns the paths."""
        directory.mkdir(parents=True, exist_ok=True)
        parts: list[tuple[str, bytes]] = [(METADATA_FILE, json_bytes(self.metadata))]
        if self.gmm is not None:
            parts.append((GMM_FILE, json_bytes(self.gmm)))
        if self.tflite is not None:
            parts.append((MODEL_FILE, self.tflite))
        written = []
        for name, data in parts:
            atomic_write(directory / name, data)
            written.append(directory / name)
        return written


def atomic_write(target: Path, data: bytes) -> None:
    """Write a file under a hidden name beside it, then rename: never a partial file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; these are ordinary files
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


def check_tflite(data: bytes, limits: Limits | None = None) -> None:
    limits = limits or Limits.from_env()
    if len(data) > limits.metadata_bytes:
        raise MetadataError(
            too_big("the model file", human_bytes(len(data)), human_bytes(limits.metadata_bytes), "metadata_bytes")
        )
    if len(data) < 8 or data[4:8] != TFLITE_MAGIC:
        raise MetadataError(f"{MODEL_FILE} is not a TFLite file (no TFL3 identifier)")


def _read_json(path: Path, limits: Limits) -> dict[str, Any]:
    try:
        size = path.stat().st_size
        if size > limits.metadata_bytes:
            raise MetadataError(
                too_big(path.name, human_bytes(size), human_bytes(limits.metadata_bytes), "metadata_bytes")
            )
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
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
    return BlockFiles(_read_json(meta_path, limits), gmm, tflite)


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


def load_block(
    source: str | bytes | Path | dict[str, Any], feature_names: dict[int, str] | None = None
) -> AnomalyBlock:
    """A validated block of any kind from a metadata file, a block directory, JSON text/bytes or a dict."""
    if isinstance(source, (str, Path)) and not (isinstance(source, str) and source.lstrip()[:1] in ("{", "[")):
        path = Path(source)
        if path.is_dir():
            if feature_names is None and (path / CONFIG_FILE).is_file():  # axis labels, when the directory has them
                with contextlib.suppress(MetadataError):
                    feature_names = feature_names_from_config(_read_json(path / CONFIG_FILE, Limits.from_env()))
            return read_block_dir(path).block(feature_names)
    return KMeansBlock.from_metadata(parse_metadata(source), feature_names)


def block_to_json(block: AnomalyBlock, metadata_fields: set[str]) -> str:
    """What a worker needs to rebuild `block` for scoring, as compact JSON: the metadata's
    scoring `metadata_fields`, and for a GMM block its mixture and model file (base64)."""
    files = block.files(metadata_fields)
    if files.scorable_from_metadata_alone:
        return json.dumps(files.metadata, separators=(",", ":"))
    assert files.gmm is not None and files.tflite is not None  # what a block that is not its metadata alone has
    payload = {"metadata": files.metadata, "gmm": files.gmm, "tflite": base64.b64encode(files.tflite).decode()}
    return json.dumps({"gmmBlock": payload}, separators=(",", ":"))


def block_from_json(text: str) -> AnomalyBlock:
    """The block `block_to_json` describes."""
    data = json.loads(text)
    parts = data.get("gmmBlock") if isinstance(data, dict) else None
    if isinstance(parts, dict):
        return BlockFiles(parts["metadata"], parts["gmm"], base64.b64decode(parts["tflite"])).block()
    return KMeansBlock.from_metadata(parse_metadata(data))
