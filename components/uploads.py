"""The feature file a visitor uploaded: read once, scored once, shared by the pages of that session.

Files are known by their identity (the upload's id and size, or the demo file's name), never by
hashing their bytes: a 300 MB upload is not re-read or re-hashed on a rerun. What is kept lives
in this session's state only (one parsed file, one scored file), so visitors never see each
other's uploads and a new upload frees the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from ei_anomaly import AnomalyModel
from ei_anomaly.demo import ANOMALY_SESSION_CSV
from ei_anomaly.evaluation import downsample_keep_flagged
from ei_anomaly.features import ColumnMapping, FeatureTable, read_feature_file
from ei_anomaly.scored_file import ScoredFile

from . import state
from .threshold import shared_threshold


def _uploads_are_not_copied_on_rerun(upload: UploadedFile, memo: dict) -> UploadedFile:
    """Streamlit deep-copies a widget's value on every rerun, so that user code cannot mutate it.
    For an upload that is a second copy of the whole file (289 MB more per rerun for a day of fleet
    logs, held while the file is parsed). The app never writes to an upload, so the value is handed
    back as it is: one copy of the file in memory, Streamlit's own."""
    return upload


UploadedFile.__deepcopy__ = _uploads_are_not_copied_on_rerun


@dataclass(frozen=True)
class FileRef:
    """A file to score: its name, its identity and its content (bytes or a file object; never
    hashed, never copied)."""

    name: str
    identity: str
    data: bytes | BinaryIO = field(repr=False)


@dataclass(frozen=True)
class ParsedFile:
    identity: str
    name: str
    table: FeatureTable


def uploaded_file(upload: UploadedFile) -> FileRef:
    """An `st.file_uploader` value, read as a file: `getvalue()` would copy the whole upload."""
    return FileRef(upload.name, f"upload:{upload.file_id}:{upload.size}", upload)


def demo_file() -> FileRef:
    data = ANOMALY_SESSION_CSV.read_bytes()
    return FileRef(ANOMALY_SESSION_CSV.name, f"demo:{ANOMALY_SESSION_CSV.name}:{len(data)}", data)


def kept_file() -> FileRef | None:
    """The file this session read last (its bytes are no longer needed), e.g. after the visitor
    went to another page and the uploader came back empty."""
    parsed: ParsedFile | None = st.session_state.get(state.PARSED_FILE)
    return None if parsed is None else FileRef(parsed.name, parsed.identity, b"")


def read_file(ref: FileRef) -> FeatureTable:
    """The file as a table, read once per file; raises FeatureFileError with the reason."""
    parsed: ParsedFile | None = st.session_state.get(state.PARSED_FILE)
    if parsed is not None and parsed.identity == ref.identity:
        return parsed.table
    forget()  # free the last file before reading the next one
    with st.spinner(f"Reading {ref.name}…"):
        table = read_feature_file(ref.data, ref.name)
    st.session_state[state.PARSED_FILE] = ParsedFile(ref.identity, ref.name, table)
    return table


def score_file(ref: FileRef, table: FeatureTable, model: AnomalyModel, mapping: ColumnMapping) -> ScoredFile:
    """The scores of this file x model x mapping, computed once; thresholds only compare them."""
    scored: ScoredFile | None = st.session_state.get(state.SCORED_FILE)
    if scored is not None and scored.matches(ref.identity, model, mapping):
        return scored
    st.session_state.pop(state.SCORED_FILE, None)
    with st.spinner(f"Scoring {table.n_rows:,} rows…"):
        scored = ScoredFile.score(table, model, mapping, ref.name, ref.identity)
    st.session_state[state.SCORED_FILE] = scored
    return scored


def forget() -> None:
    st.session_state.pop(state.SCORED_FILE, None)
    st.session_state.pop(state.PARSED_FILE, None)


def last_scored(model: AnomalyModel) -> ScoredFile | None:
    """The last upload scored with this model in this session, if any."""
    scored: ScoredFile | None = st.session_state.get(state.SCORED_FILE)
    return scored if scored is not None and scored.model_fingerprint == model.fingerprint else None


def last_upload_points(model: AnomalyModel, max_points: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Scaled axis values of the last upload scored with this model: (normal rows, anomalies) at
    the shared threshold, at most max_points in all, every anomaly kept first."""
    scored = last_scored(model)
    if scored is None:
        return None
    flags = scored.scores.is_anomaly(shared_threshold(model, model.anomaly_threshold))
    keep = downsample_keep_flagged(flags, max_points)
    z = model.to_scaled(scored.axis_values[keep])
    return z[~flags[keep]], z[flags[keep]]
