"""The Compare page's inputs: the second block, and the labelled windows both blocks are judged on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import streamlit as st

from ei_anomaly import AnomalyLensError
from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.evaluation import is_anomaly_label
from ei_anomaly.features import map_columns, score_table
from ei_anomaly.limits import Limits
from ei_anomaly.model_testing import TestWindows
from ei_anomaly.review import SharedWindows, shared_upload_windows, shared_validation_windows
from ei_anomaly.review.compare import shared_model_testing_windows
from ei_anomaly.scored_file import ScoredFile

from . import loaders, permalink, state
from .errors import show_error
from .memo import memo
from .source import DEMO_BLOCKS, DemoSource, ProjectSource, Source, refresh_token, upload_limit_mb
from .text import md_escape
from .uploads import last_scored

OTHER_BLOCK = "Another block of this project"
BLOCK_FILES = "Block files (e.g. before and after retraining)"
VALIDATION = "Validation windows of the same samples"
MODEL_TESTING = "Studio's model-testing results"
UPLOAD = "Your last upload, with a label column"
MAX_LABEL_VALUES = 200


@dataclass(frozen=True)
class BlockB:
    """The block the loaded one is compared with: its name, the block, its learn id (None: files)."""

    name: str
    block: AnomalyBlock
    learn_id: int | None


def _project_blocks(source: Source) -> dict[int, str]:
    if isinstance(source, DemoSource):
        return dict(DEMO_BLOCKS)
    if isinstance(source, ProjectSource):
        blocks = loaders.fetch_blocks(source.base_url, source.project_id, source.api_key, refresh_token())
        return {b[0]: f"{b[1]} · {b[2]}" for b in blocks}
    return {}


def _block_model(source: Source, learn_id: int) -> AnomalyBlock:
    if isinstance(source, ProjectSource):
        version = loaders.block_version(source.base_url, source.project_id, learn_id)
        return loaders.fetch_model(
            source.base_url, source.project_id, learn_id, source.api_key, refresh_token(), version
        )
    return loaders.demo_block(learn_id)


def select_other_block(source: Source) -> BlockB | None:
    """Block B, or None (with a hint shown) until one is given."""
    blocks = {i: name for i, name in _project_blocks(source).items() if i != source.learn_id}
    ways = [OTHER_BLOCK, BLOCK_FILES] if blocks else [BLOCK_FILES]
    how = st.radio("Compare with", ways, key=state.COMPARE_SOURCE, horizontal=True)
    if how == OTHER_BLOCK:
        permalink.seed(state.COMPARE_BLOCK, permalink.COMPARE, list(blocks), "comparison block")
        learn_id = st.selectbox(
            "Block B", list(blocks), key=state.COMPARE_BLOCK, format_func=lambda i: f"{blocks[i]} (#{i})"
        )
        return BlockB(f"{blocks[learn_id]} (#{learn_id})", _block_model(source, learn_id), learn_id)
    limits = Limits.from_env()
    files = st.file_uploader(
        "Block B's files: metadata.json (and for a GMM block gmm.json and model.tflite), or a deployment export (.zip)",
        type=["json", "tflite", "lite", "zip"],
        accept_multiple_files=True,
        key=state.COMPARE_FILES,
        max_upload_size=upload_limit_mb(max(limits.metadata_bytes, limits.export_bytes)),
        help="A block directory written by `python -m ei_anomaly fetch ... -o DIR`, a saved metadata JSON, or the "
        "C++ or Arduino library .zip that is flashed (the firmware vs the block in Studio).",
    )
    if not files:
        st.info("Upload block B's files (or its deployment export) to compare the loaded block with it.")
        return None
    uploads = {f.name: f.getvalue() for f in files}
    names = ", ".join(sorted(uploads))
    return BlockB(names, loaders.model_from_uploaded_block(uploads), None)


def _test_windows(source: Source, learn_id: int | None) -> TestWindows | None:
    if not isinstance(source, ProjectSource) or learn_id is None:
        return None
    found = loaders.fetch_test_windows(
        source.base_url,
        source.project_id,
        learn_id,
        source.api_key,
        refresh_token(),
        loaders.block_version(source.base_url, source.project_id, learn_id),
    )
    return found if isinstance(found, TestWindows) else None


def select_shared_windows(source: Source, b: BlockB) -> SharedWindows | None:
    """The labelled windows both blocks are judged on, as the visitor picks among those that exist."""
    a = source.block
    options: dict[str, SharedWindows | None] = {}
    validation = shared_validation_windows(a, b.block)
    if validation is not None:
        options[VALIDATION] = validation
    try:
        found_a, found_b = _test_windows(source, source.learn_id), _test_windows(source, b.learn_id)
    except AnomalyLensError:
        found_a = found_b = None
    if found_a is not None and found_b is not None:
        shared = shared_model_testing_windows(found_a, found_b)
        if shared is not None:
            options[MODEL_TESTING] = shared
    scored = last_scored(a)
    label_columns = [c for c in scored.table.columns if c not in scored.table.numeric_columns] if scored else []
    if label_columns:
        options[UPLOAD] = None  # built below, once chosen: it scores the upload with block B
    if not options:
        st.info(
            "The two blocks share no labelled windows: neither validation windows of the same samples nor "
            "Studio's model-testing results of both. Model cards and on-device costs are compared above."
        )
        return None
    chosen = st.radio("Judge both on", list(options), key=state.COMPARE_LABELLED, horizontal=True)
    if chosen == UPLOAD and scored is not None:
        return _upload_windows(scored, b.block, label_columns)
    return options[chosen]


def _upload_windows(scored: ScoredFile, b: AnomalyBlock, label_columns: list[str]) -> SharedWindows | None:
    """The last upload with the label column the visitor picks; block B scores it (once per upload)."""
    column = st.selectbox("Label column", label_columns, key=state.COMPARE_LABEL_COLUMN)
    labels = scored.table.table.column(column).to_pandas()
    values = sorted({str(v) for v in labels.dropna().unique()[:MAX_LABEL_VALUES]})
    default = [v for v in values if is_anomaly_label(v)]
    chosen = st.multiselect("Labels that are anomalies", values, default=default, key=state.COMPARE_ANOMALY_LABELS)
    if not chosen:
        st.info("Pick the labels that mark anomalous rows.")
        return None
    scores_b = block_b_scores(scored, b)
    if scores_b is None:
        return None
    return shared_upload_windows(scored.name, scored.scores.score, scores_b, labels, set(chosen))


def block_b_scores(scored: ScoredFile, b: AnomalyBlock) -> npt.NDArray[np.float32] | None:
    """Block B's scores of a file block A scored, once per file and block B (the labelled upload
    and the fleet log may both be on the page: the last two are kept); None with the reason shown."""

    def score() -> npt.NDArray[np.float32]:
        return np.asarray(score_table(scored.table, b, map_columns(scored.table, b)).score, np.float32)

    try:
        return memo("block_b_scores", (scored.identity, b.fingerprint), score, keep=2)
    except AnomalyLensError as exc:
        show_error(exc, f"Block B cannot score {md_escape(scored.name)}: ")
        return None
