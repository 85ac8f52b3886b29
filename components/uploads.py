"""The feature file a visitor uploaded: read once, scored once, shared by the pages of that session.

Files are known by their identity (the upload's id and size, or the demo file's name), never by
hashing their bytes: a 300 MB upload is not re-read or re-hashed on a rerun. What is kept lives
in this session's state only (one parsed file, one scored file), so visitors never see each
other's uploads and a new upload frees the last one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from ei_anomaly import AnomalyModel, Scores
from ei_anomaly.demo import ANOMALY_SESSION_CSV
from ei_anomaly.features import ColumnMapping, FeatureTable, read_feature_file, scored_csv
from ei_anomaly.review import ScoredPoints, scored_points
from ei_anomaly.scored_file import ScoredFile

from . import (
    state,
    streamlit_compat,  # noqa: F401  (imported for its effect: uploads are not deep-copied on rerun)
)
from .threshold import shared_threshold

DOWNLOAD_MAX_ROWS = 2_000_000  # a scored CSV is built in memory: about the file's size again, per click


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


def uploaded_file(upload: UploadedFile) -> FileRef:
    """An `st.file_uploader` value, read as a file: `getvalue()` would copy the whole upload."""
    return FileRef(upload.name, f"upload:{upload.file_id}:{upload.size}", upload)


def demo_file() -> FileRef:
    data = ANOMALY_SESSION_CSV.read_bytes()
    return FileRef(ANOMALY_SESSION_CSV.name, f"demo:{ANOMALY_SESSION_CSV.name}:{len(data)}", data)


def kept_file() -> FileRef | None:
    """The file this session opened last, e.g. after the visitor went to another page and the
    uploader came back empty."""
    opened: OpenedFile | None = st.session_state.get(state.OPENED_FILE)
    return None if opened is None else opened.ref


def open_file(ref: FileRef) -> FeatureTable:
    """The first block of the file, every column (a few MB): what the preview and the column
    mapping need. Raises FeatureFileError with the reason."""
    opened: OpenedFile | None = st.session_state.get(state.OPENED_FILE)
    if opened is not None and opened.ref.identity == ref.identity:
        return opened.sample
    forget()  # free the last file before reading the next one
    sample = read_feature_file(ref.data, ref.name, first_block=True)
    st.session_state[state.OPENED_FILE] = OpenedFile(ref, sample)
    return sample


def score_file(ref: FileRef, sample: FeatureTable, model: AnomalyModel, mapping: ColumnMapping) -> ScoredFile:
    """The scores of this file x model x mapping, computed once; thresholds only compare them.

    Only the mapped columns and the text columns (timestamps, device ids) are read: a day of fleet
    logs has dozens of feature columns the page never shows, and the file itself is in memory
    already. Exports read the file again, whole.
    """
    scored: ScoredFile | None = st.session_state.get(state.SCORED_FILE)
    if scored is not None and scored.matches(ref.identity, model, mapping):
        return scored
    st.session_state.pop(state.SCORED_FILE, None)
    text = [c for c in sample.columns if c not in sample.numeric_columns]
    with st.spinner(f"Reading and scoring {ref.name}…"):
        table = read_feature_file(ref.data, ref.name, columns=[*mapping.columns, *text])
        scored = ScoredFile.score(table, model, mapping, ref.name, ref.identity)
    st.session_state[state.SCORED_FILE] = scored
    return scored


def scored_mapping(ref: FileRef, model: AnomalyModel) -> ColumnMapping | None:
    """The mapping this file was last scored with by this model (a user's choice survives a page switch)."""
    scored: ScoredFile | None = st.session_state.get(state.SCORED_FILE)
    return scored.mapping if scored is not None and scored.matches(ref.identity, model) else None


def scored_csv_export(ref: FileRef, scores: Scores, threshold: float, spreadsheet: bool) -> Callable[[], bytes]:
    """The scored file as CSV, built when the download is clicked (on Streamlit's worker thread).

    It reads the upload's bytes (shared, not copied; `getvalue` of an upload nobody wrote to), never
    the file object the page reads, so the two never move each other's position."""
    data = ref.data.getvalue() if hasattr(ref.data, "getvalue") else ref.data

    def build() -> bytes:
        return scored_csv(read_feature_file(data, ref.name), scores, threshold, spreadsheet)

    return build


def forget() -> None:
    st.session_state.pop(state.SCORED_FILE, None)
    st.session_state.pop(state.OPENED_FILE, None)


def last_scored(model: AnomalyModel) -> ScoredFile | None:
    """The last upload scored with this model in this session, if any."""
    scored: ScoredFile | None = st.session_state.get(state.SCORED_FILE)
    return scored if scored is not None and scored.model_fingerprint == model.fingerprint else None


def last_upload_points(model: AnomalyModel, max_points: int) -> ScoredPoints | None:
    """The last upload scored with this model, on the clusters map at the shared threshold."""
    scored = last_scored(model)
    if scored is None:
        return None
    return scored_points(model, scored, shared_threshold(model, model.anomaly_threshold), max_points)
