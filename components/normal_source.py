"""Which normal windows a page uses (the false-alarm guarantee on Thresholds, p-values on Scoring):
the validation windows labelled normal, Studio's model-testing windows expected normal (project
source), or a file of normal operation (all its rows, or those whose label column says normal).

The sets themselves are `ei_anomaly.review` normal windows; this module only offers the choice,
reads and scores the file (once per file and block, kept for the session), and keeps the result."""

from __future__ import annotations

import streamlit as st

from ei_anomaly import AnomalyLensError
from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.bounds import Unit, ordinal
from ei_anomaly.demo import NORMAL_SESSION_CSV
from ei_anomaly.limits import Limits
from ei_anomaly.review import NormalWindows, file_normal, model_testing_normal, validation_normal
from ei_anomaly.review.normal import default_normal_labels, label_values
from ei_anomaly.scored_file import ScoredFile

from . import state, uploads
from .errors import show_error
from .memo import memo
from .score_source import studio_test_windows
from .source import DemoSource, ProjectSource, Source, upload_limit_mb
from .text import md_escape

NONE = "None"
VALIDATION = "Validation windows labelled normal"
MODEL_TESTING = "Studio model testing, expected normal"
FILE = "A file of normal operation"
ALL_ROWS = "All rows"
EVERY_WINDOW, STRIDE, PER_GROUP = "Every window", "Every k-th window", "One per group (its highest)"


def _use_demo_normal(block: AnomalyBlock) -> None:
    """The demo's normal session, scored by the block (a button's on_click)."""
    identity = f"demo:{NORMAL_SESSION_CSV.name}:{NORMAL_SESSION_CSV.stat().st_size}"
    uploads.score_normal_file(NORMAL_SESSION_CSV.read_bytes(), NORMAL_SESSION_CSV.name, identity, block)


def _scored_normal_file(source: Source, page: str) -> ScoredFile | None:
    """The file of normal operation: a new upload (read and scored), the demo's normal session, or
    the one this session scored before with this block (while the server holds it)."""
    block = source.block
    upload = st.file_uploader(
        "File of normal operation (CSV or Parquet)",
        type=["csv", "parquet", "pq", "txt"],
        key=state.normal_upload(page),
        max_upload_size=upload_limit_mb(Limits.from_env().feature_file_bytes),
        help="Feature rows recorded while the machine ran normally, scored by this block.",
    )
    if upload is not None:
        return uploads.score_normal_file(upload, upload.name, f"upload:{upload.file_id}:{upload.size}", block)
    if isinstance(source, DemoSource):
        st.button(
            "Use the demo's normal session",
            key=state.normal_demo(page),
            icon=":material/play_arrow:",
            on_click=_use_demo_normal,
            args=(block,),
            help="650 windows of the demo machine running normally (idle, wave, snake, updown).",
        )
    kept = uploads.kept_normal()
    if kept is not None and kept.model_fingerprint == block.fingerprint:
        st.caption(f"Using {md_escape(kept.name)}, scored earlier in this session. Upload a file to replace it.")
        return kept
    st.info("Upload a file of normal operation to use its windows.", icon=":material/upload_file:")
    return None


def _file_windows(scored: ScoredFile, page: str) -> NormalWindows | None:
    columns = [c for c in scored.table.columns if c not in scored.table.numeric_columns]
    rows = st.selectbox(
        "Rows",
        [ALL_ROWS, *columns],
        key=state.normal_label_column(page, scored.identity),
        format_func=lambda c: c if c == ALL_ROWS else f"whose {c} says normal",
        help="All rows of the file, or only those whose label column holds a normal label.",
    )
    if rows == ALL_ROWS:
        return memo("normal_file", (scored.identity, scored.model_fingerprint, None), lambda: file_normal(scored))
    values = label_values(scored, rows)
    chosen = st.multiselect(
        "Labels that are normal",
        values,
        default=default_normal_labels(values),
        key=state.normal_labels(page, scored.identity, rows),
    )
    if not chosen:
        st.info("Pick the labels that mark normal rows.")
        return None
    key = (scored.identity, scored.model_fingerprint, rows, tuple(sorted(chosen)))
    return memo("normal_file", key, lambda: file_normal(scored, label_column=rows, normal_labels=chosen), keep=2)


def _model_testing(source: ProjectSource) -> NormalWindows | None:
    found = studio_test_windows(source)
    if found is None:
        return None
    normal = model_testing_normal(found)
    if normal is None:
        st.info("No model-testing window is expected normal.", icon=":material/info:")
    return normal


def select_normal_windows(source: Source, page: str, *, optional: bool = False) -> NormalWindows | None:
    """A choice among the normal windows this source has (with `optional`, "None" first); the
    chosen ones, or None."""
    block = source.block
    validation = memo("validation_normal", block.fingerprint, lambda: validation_normal(block.metadata))
    options = [
        *([NONE] if optional else []),
        *([VALIDATION] if validation is not None else []),
        *([MODEL_TESTING] if isinstance(source, ProjectSource) else []),
        FILE,
    ]
    chosen = _radio(
        "Normal windows from",
        options,
        state.normal_source(page),
        "Windows known to be normal: the guarantee and the p-values hold for windows like them.",
    )
    if chosen == VALIDATION:
        return validation
    if chosen == MODEL_TESTING and isinstance(source, ProjectSource):
        return _model_testing(source)
    if chosen == FILE:
        try:
            scored = _scored_normal_file(source, page)
            return None if scored is None else _file_windows(scored, page)
        except AnomalyLensError as exc:
            show_error(exc)
    return None


def _radio(label: str, options: list[str], key: str, tip: str) -> str:
    """A horizontal radio whose kept choice is dropped when it is no longer offered (a page whose
    source changed), instead of Streamlit's error."""
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    chosen: str = st.radio(label, options, key=key, horizontal=True, help=tip)
    return chosen


def select_unit(normal: NormalWindows, page: str) -> Unit:
    """Every window, every k-th, or one per group: what the guarantee counts as independent."""
    ways = [EVERY_WINDOW, STRIDE, *([PER_GROUP] if normal.groupings else [])]
    how = _radio(
        "Count as independent",
        ways,
        state.guarantee_unit(page),
        "Overlapping windows of one recording are not independent: the guarantee is about the unit chosen "
        "here. Every k-th window, or each sample's (device-hour's) highest score, when windows overlap.",
    )
    if how == STRIDE:
        k = int(st.number_input("k", min_value=2, value=2, step=1, key=state.guarantee_stride(page)))
        st.caption(f"Every {ordinal(k)} window, in the order given.")
        return Unit(stride=k)
    if how == PER_GROUP:
        per = st.selectbox("Group", normal.groupings, key=state.guarantee_per(page), format_func=md_escape)
        return Unit(per=str(per))
    return Unit()
