"""The files of a deployment export, from a `.zip` or a directory, read as untrusted input.

An export (a C++ library, an Arduino library, or a firmware repository holding one) is found by its
`model-parameters/` folder; only that folder's headers and the `tflite-model/` folder beside it are
read (the SDK's own sources are not needed). Nothing is ever extracted to disk.

A zip is checked before anything is decompressed and while it is: every member's path must stay
inside the archive (no absolute paths, no `..`, no drive letters, no symbolic links), the number of
members and the declared sizes are bounded, each file read is bounded by the bytes actually
decompressed (a declared size can lie), and so is the total; a member that expands more than
`MAX_RATIO` times is a zip bomb. A directory is walked without following links, to a bounded depth
and number of entries. Every refusal names the file and says what was expected.
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ...errors import MetadataError
from ...limits import Limits, human_bytes, too_big

__all__ = [
    "MAX_MEMBERS",
    "MAX_RATIO",
    "ExportTree",
    "looks_like_export",
    "read_export_tree",
]

MODEL_PARAMETERS = "model-parameters"
TFLITE_MODEL = "tflite-model"
MAX_MEMBERS = 50_000  # an SDK export holds a few thousand files
MAX_RATIO = 200  # uncompressed / compressed for one member; generated headers compress about 5-10x
MAX_DEPTH = 8  # how deep a directory is searched for model-parameters/
MAX_ENTRIES = 200_000  # directory entries looked at in that search
_WANTED_SUFFIXES = (".h", ".hpp", ".c", ".cc", ".cpp")


@dataclass(frozen=True)
class ExportTree:
    """The files of one export that describe its impulse: `model-parameters/*` and
    `tflite-model/*` (paths relative to the folder holding both, POSIX style), with the name to
    call the export by and what it came as."""

    name: str
    files: dict[str, bytes] = field(repr=False)
    library_name: str | None = None  # an Arduino library's name (library.properties), if any

    def text(self, path: str) -> str:
        return self.files[path].decode("utf-8", "replace")

    def in_folder(self, folder: str) -> list[str]:
        return sorted(p for p in self.files if p.startswith(f"{folder}/"))


def looks_like_export(path: Path) -> bool:
    """A `.zip`, or a directory with no `metadata.json` (a block directory) at its top."""
    if path.is_file():
        return path.suffix.lower() == ".zip"
    return path.is_dir() and not (path / "metadata.json").is_file()


def read_export_tree(source: Path | bytes, name: str | None = None, limits: Limits | None = None) -> ExportTree:
    """The export's files from a zip (a path or its bytes) or a directory."""
    limits = limits or Limits.from_env()
    if isinstance(source, Path) and source.is_dir():
        return _from_directory(source, limits)
    label = name or (source.name if isinstance(source, Path) else "the export")
    size = (
        source.stat().st_size
        if isinstance(source, Path) and source.is_file()
        else len(source)
        if isinstance(source, bytes)
        else 0
    )
    if size > limits.export_bytes:
        raise MetadataError(too_big(label, human_bytes(size), human_bytes(limits.export_bytes), "export_bytes"))
    if isinstance(source, Path):
        try:
            with source.open("rb") as fh:
                return _from_zip(fh, label, size, limits)
        except OSError as exc:
            raise MetadataError(f"cannot read {label}: {exc.strerror or exc}") from None
    import io

    return _from_zip(io.BytesIO(source), label, len(source), limits)


def _zip_budget(limits: Limits) -> int:
    """Bytes all the files read from one zip may decompress to, together."""
    return 4 * limits.metadata_bytes


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    posix = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in posix.parts:
        return "its path escapes the folder"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "it is a symbolic link"
    return None


def _from_zip(fh: BinaryIO, label: str, size: int, limits: Limits) -> ExportTree:
    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise MetadataError(
            f"{label} is not a zip archive, or it is cut short: expected a C++ or Arduino library as "
            "Studio's Deployment page downloads it (a .zip)"
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise MetadataError(f"{label} holds {len(members):,} files; an export holds a few thousand")
        for info in members:
            problem = _member_problem(info)
            if problem:
                raise MetadataError(f"{label}: refusing {info.filename[:200]!r}: {problem}")
        paths = {i.filename: PurePosixPath(i.filename.replace("\\", "/")) for i in members}
        root = _root_of([paths[i.filename] for i in members if not i.is_dir()], label, "in the zip")
        wanted = [i for i in members if not i.is_dir() and _wanted(paths[i.filename], root)]
        budget = _zip_budget(limits)
        files: dict[str, bytes] = {}
        for info in wanted:
            path = paths[info.filename]
            rel = str(path.relative_to(root) if root != PurePosixPath(".") else path)
            if info.file_size > limits.metadata_bytes:
                raise MetadataError(
                    f"{label}: {rel} is {human_bytes(info.file_size)}; the limit is "
                    f"{human_bytes(limits.metadata_bytes)} (ANOMALY_LENS_MAX_METADATA_MB)"
                )
            data = _read_member(archive, info, rel, label, min(limits.metadata_bytes, budget))
            budget -= len(data)
            files[rel] = data
        library = _library_name(archive, root, paths)
    return ExportTree(label, files, library)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, rel: str, label: str, cap: int) -> bytes:
    """A member's bytes, stopping as soon as more than `cap` bytes (or `MAX_RATIO` times its
    compressed size, beyond 1 MB) have come out: the declared size is not trusted."""
    ratio_cap = max(1 << 20, MAX_RATIO * max(info.compress_size, 1))
    limit = min(cap, ratio_cap)
    chunks: list[bytes] = []
    total = 0
    try:
        with archive.open(info) as member:
            while True:
                chunk = member.read(1 << 16)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    what = "a zip bomb" if limit == ratio_cap else "too large"
                    raise MetadataError(
                        f"{label}: {rel} expands to more than {human_bytes(limit)} from "
                        f"{human_bytes(info.compress_size)}: refusing it as {what}"
                    )
                chunks.append(chunk)
    except MetadataError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise MetadataError(f"{label}: {rel} cannot be read from the zip ({exc}); is the file complete?") from None
    return b"".join(chunks)


def _library_name(archive: zipfile.ZipFile, root: PurePosixPath, paths: dict[str, PurePosixPath]) -> str | None:
    """An Arduino library's name (`library.properties` beside its `src/`, or beside model-parameters/)."""
    by_path = {path: name for name, path in paths.items()}
    for candidate in (root.parent / "library.properties", root / "library.properties"):
        name = by_path.get(candidate)
        if name is None:
            continue
        info = archive.getinfo(name)
        if info.file_size > 64 * 1024:
            return None
        text = _read_member(archive, info, "library.properties", "", 64 * 1024).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.startswith("name="):
                return line[5:].strip()[:200] or None
    return None


def _wanted(path: PurePosixPath, root: PurePosixPath) -> bool:
    try:
        rel = path.relative_to(root) if root != PurePosixPath(".") else path
    except ValueError:
        return False
    return (
        len(rel.parts) == 2
        and rel.parts[0] in (MODEL_PARAMETERS, TFLITE_MODEL)
        and rel.suffix.lower() in _WANTED_SUFFIXES
    )


def _root_of(paths: list[PurePosixPath], label: str, where: str) -> PurePosixPath:
    """The folder holding `model-parameters/` (exactly one), relative to the top."""
    roots = sorted({p.parents[1] for p in paths if len(p.parts) >= 2 and p.parts[-2] == MODEL_PARAMETERS})
    if not roots:
        raise MetadataError(
            f"{label}: no model-parameters/ folder {where}: expected a C++ or Arduino library from Studio's "
            "Deployment page (it holds model-parameters/ and tflite-model/), or a firmware folder holding one"
        )
    if len(roots) > 1:
        listed = ", ".join(f"{r}/" for r in roots[:5])
        raise MetadataError(f"{label}: {len(roots)} model-parameters/ folders {where} ({listed}); give one export")
    return roots[0]


def _from_directory(top: Path, limits: Limits) -> ExportTree:
    label = top.name or str(top)
    found: list[PurePosixPath] = []
    seen = 0
    stack: list[tuple[Path, int]] = [(top, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    seen += 1
                    if seen > MAX_ENTRIES:
                        raise MetadataError(f"{label}/ holds over {MAX_ENTRIES:,} entries; give the export's folder")
                    if not entry.is_dir(follow_symlinks=False) or entry.name.startswith("."):
                        continue
                    rel = PurePosixPath(Path(entry.path).relative_to(top).as_posix())
                    if entry.name == MODEL_PARAMETERS:
                        found.append(rel / "x.h")
                    elif depth + 1 < MAX_DEPTH and entry.name not in ("edge-impulse-sdk", "node_modules"):
                        stack.append((Path(entry.path), depth + 1))
        except OSError as exc:
            raise MetadataError(f"cannot read {label}/: {exc.strerror or exc}") from None
    if not found:
        raise MetadataError(
            f"{label}/ has no metadata.json (a block directory from `fetch -o DIR` has one) and no model-parameters/ "
            "folder (a deployment export, a C++ or Arduino library from Studio's Deployment page, has one)"
        )
    root = _root_of(found, label, "in the folder")
    base = top / root
    files: dict[str, bytes] = {}
    total = 0
    for part in (MODEL_PARAMETERS, TFLITE_MODEL):
        inside = base / part
        if not inside.is_dir() or inside.is_symlink():
            continue
        for path in sorted(inside.iterdir()):
            if path.is_symlink() or not path.is_file() or path.suffix.lower() not in _WANTED_SUFFIXES:
                continue
            size = path.stat().st_size
            if size > limits.metadata_bytes:
                raise MetadataError(
                    f"{label}: {part}/{path.name} is {human_bytes(size)}; the limit is "
                    f"{human_bytes(limits.metadata_bytes)} (ANOMALY_LENS_MAX_METADATA_MB)"
                )
            total += size
            if total > _zip_budget(limits):
                raise MetadataError(f"{label}: its model files add up to more than {human_bytes(_zip_budget(limits))}")
            files[f"{part}/{path.name}"] = path.read_bytes()
    library = None
    for candidate in (base.parent / "library.properties", base / "library.properties"):
        if candidate.is_file() and not candidate.is_symlink() and candidate.stat().st_size < 64 * 1024:
            for line in candidate.read_text("utf-8", "replace").splitlines():
                if line.startswith("name="):
                    library = line[5:].strip()[:200] or None
            break
    return ExportTree(label, files, library)
