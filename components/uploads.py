"""The feature file a visitor uploaded: read once, scored once, shared by the pages of that session.

Files are known by their identity (the upload's id and size, or the demo file's name), never by
hashing their bytes: a 300 MB upload is not re-read or re-hashed on a rerun. What is kept belongs
to this session only (one parsed file, one scored file), so visitors never see each other's
uploads and a new upload frees the last one. It is held in the server-wide store
(`loaders.held()`, bounded by entries and bytes), under this session's own token: when the
server needs the room for other visitors, the least recently used files go, and their owner is
asked to upload again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from ei_anomaly.blocks import AnomalyBlock, Scores
from ei_anomaly.demo import ANOMALY_SESSION_CSV
from ei_anomaly.features import ColumnMapping, FeatureTable, map_columns, read_feature_file, scored_csv
from ei_anomaly.scored_file import ScoredFile

from . import (
    loaders,
    state,
    streamlit_compat,  # noqa: F401  (imported for its effect: uploads are not deep-copied on rerun)
)

DOWNLOAD_MAX_ROWS = 2_000_000  # a scored CSV is built in memory: about the file's size again, per click
SCORE_BYTES_PER_ROW = 16  # a score, a nearest cluster, a flag and the views computed from them
UPLOAD_IDLE_SECONDS = 3600  # a visitor's file unused this long is released (they may have left)


@dataclass(frozen=True)
class FileRef:
    """A file to score: its name, its identity and its content (bytes or a file object; never
    hashed, never copied)."""

    name: str
    identity: str
    data: bytes | BinaryIO = field(repr=False)


@dataclass(frozen=True)
class OpenedFile:
    """The file being scored in this session: its first block (every column) for the preview and
    the column mapping, and its content, which exports read again."""

    ref: FileRef
    sample: FeatureTable


def _held_key(name: str) -> str:
    return f"{loaders.visitor()}:{name}"


def _kept(name: str) -> object | None:
    """This session's held object `name` (state.OPENED_FILE or state.SCORED_FILE), if still held."""
    return loaders.held().get(_held_key(name))


def _keep(name: str, value: object, size: int, label: str) -> None:
    loaders.held().put(_held_key(name), value, size, idle=UPLOAD_IDLE_SECONDS, owner=loaders.visitor(), label=label)
    if name == state.OPENED_FILE:
        st.session_state[state.HELD_FILE_NAME] = value.ref.name if isinstance(value, OpenedFile) else None


def _size_of(ref: FileRef) -> int:
    data = ref.data
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    size = getattr(data, "size", None)
    return int(size) if isinstance(size, int) else 0


def released_file() -> str | None:
    """The name of this session's file if the server released it to make room (else None)."""
    name = st.session_state.get(state.HELD_FILE_NAME)
    return name if name and _kept(state.OPENED_FILE) is None else None


def uploaded_file(upload: UploadedFile) -> FileRef:
    """An `st.file_uploader` value, read as a file: `getvalue()` would copy the whole upload."""
    return FileRef(upload.name, f"upload:{upload.file_id}:{upload.size}", upload)


def demo_file() -> FileRef:
    data = ANOMALY_SESSION_CSV.read_bytes()
    return FileRef(ANOMALY_SESSION_CSV.name, f"demo:{ANOMALY_SESSION_CSV.name}:{len(data)}", data)


def kept_file() -> FileRef | None:
    """The file this session opened last, e.g. after the visitor went to another page and the
    uploader came back empty."""
    opened = _kept(state.OPENED_FILE)
    return opened.ref if isinstance(opened, OpenedFile) else None


def open_file(ref: FileRef) -> FeatureTable:
    """The first block of the file, every column (a few MB): what the preview and the column
    mapping need. Raises FeatureFileError with the reason."""
    opened = _kept(state.OPENED_FILE)
    if isinstance(opened, OpenedFile) and opened.ref.identity == ref.identity:
        return opened.sample
    forget()  # free the last file before reading the next one
    sample = read_feature_file(ref.data, ref.name, first_block=True)
    _keep(state.OPENED_FILE, OpenedFile(ref, sample), _size_of(ref) + sample.table.nbytes, f"your file {ref.name}")
    return sample


def score_file(ref: FileRef, sample: FeatureTable, model: AnomalyBlock, mapping: ColumnMapping) -> ScoredFile:
    """The scores of this file x model x mapping, computed once; thresholds only compare them.

    Only the mapped columns and the text columns (timestamps, device ids) are read: a day of fleet
    logs has dozens of feature columns the page never shows, and the file itself is in memory
    already. Exports read the file again, whole.
    """
    scored = _kept(state.SCORED_FILE)
    if isinstance(scored, ScoredFile) and scored.matches(ref.identity, model, mapping):
        return scored
    loaders.held().pop(_held_key(state.SCORED_FILE))
    text = [c for c in sample.columns if c not in sample.numeric_columns]
    with st.spinner(f"Reading and scoring {ref.name}…"):
        table = read_feature_file(ref.data, ref.name, columns=[*mapping.columns, *text])
        scored = ScoredFile.score(table, model, mapping, ref.name, ref.identity)
    size = table.table.nbytes + scored.n_rows * SCORE_BYTES_PER_ROW
    _keep(state.SCORED_FILE, scored, size, f"the scores of {ref.name}")
    return scored


def score_normal_file(data: bytes | BinaryIO, name: str, identity: str, model: AnomalyBlock) -> ScoredFile:
    """A file of normal operation (the false-alarm guarantee, p-values), scored by `model` and kept
    for this session in the server-wide store like the scored upload: only the columns the block
    reads and the text columns (labels, devices, times) are read."""
    kept = kept_normal()
    if kept is not None and kept.matches(identity, model):
        return kept
    loaders.held().pop(_held_key(state.NORMAL_SCORED))
    sample = read_feature_file(data, name, first_block=True)
    mapping = map_columns(sample, model)
    text = [c for c in sample.columns if c not in sample.numeric_columns]
    with st.spinner(f"Reading and scoring {name}…"):
        table = read_feature_file(data, name, columns=[*mapping.columns, *text])
        scored = ScoredFile.score(table, model, mapping, name, identity)
    _keep(
        state.NORMAL_SCORED,
        scored,
        table.table.nbytes + scored.n_rows * SCORE_BYTES_PER_ROW,
        f"your normal file {name}",
    )
    return scored


def kept_normal() -> ScoredFile | None:
    """The file of normal operation this session scored last, if the server still holds it."""
    kept = _kept(state.NORMAL_SCORED)
    return kept if isinstance(kept, ScoredFile) else None


def scored_mapping(ref: FileRef, model: AnomalyBlock) -> ColumnMapping | None:
    """The mapping this file was last scored with by this model (a user's choice survives a page switch)."""
    scored = _kept(state.SCORED_FILE)
    return scored.mapping if isinstance(scored, ScoredFile) and scored.matches(ref.identity, model) else None


def scored_csv_export(
    ref: FileRef, scores: Scores, threshold: float, spreadsheet: bool, reference: np.ndarray | None = None
) -> Callable[[], bytes]:
    """The scored file as CSV, built when the download is clicked (on Streamlit's worker thread).

    It reads the upload's bytes (shared, not copied; `getvalue` of an upload nobody wrote to), never
    the file object the page reads, so the two never move each other's position. With `reference`
    (normal windows' scores) the CSV has each row's `p_value`."""
    data = ref.data.getvalue() if hasattr(ref.data, "getvalue") else ref.data

    def build() -> bytes:
        return scored_csv(read_feature_file(data, ref.name), scores, threshold, spreadsheet, reference)

    return build


def forget() -> None:
    loaders.held().pop(_held_key(state.SCORED_FILE))
    loaders.held().pop(_held_key(state.OPENED_FILE))
    st.session_state.pop(state.HELD_FILE_NAME, None)


def last_scored(model: AnomalyBlock) -> ScoredFile | None:
    """The last upload scored with this model in this session, if any."""
    scored = _kept(state.SCORED_FILE)
    return scored if isinstance(scored, ScoredFile) and scored.model_fingerprint == model.fingerprint else None
