"""Which scores the Thresholds page tunes against: validation predictions, Studio's model-testing
results (project source), or the last scored upload (no labels)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st

from ei_anomaly import ApiError
from ei_anomaly.evaluation import predictions_frame
from ei_anomaly.model_testing import HOW_TO_RUN_MODEL_TESTING, NoTestResults
from ei_anomaly.score_views import ScoreHistogram, score_bounds, score_histogram

from . import loaders, state
from .source import PROJECT, Source, refresh_token
from .text import md_escape
from .uploads import last_scored

VALIDATION, MODEL_TESTING, UPLOAD = "Validation predictions", "Studio model testing", "Last upload"


@dataclass(frozen=True)
class ScoreSet:
    """Scores to tune on; `truth` (labelled anomaly per score) is None for unlabelled scores."""

    scores: np.ndarray
    truth: np.ndarray | None
    origin: str
    windows: pd.DataFrame | None = None  # per test window, for the per-sample table
    # Threshold-independent views, computed once (an upload's come with it, already computed).
    histogram: ScoreHistogram = field(default=None)  # type: ignore[assignment]
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.histogram is None:
            object.__setattr__(self, "histogram", score_histogram(self.scores))
            object.__setattr__(self, "bounds", score_bounds(self.scores))

    @property
    def labelled(self) -> bool:
        return self.truth is not None and bool(self.truth.any()) and bool((~self.truth).any())


def _validation(source: Source) -> ScoreSet | None:
    meta = source.model.metadata
    types = [m.type for m in meta.model_validation_metrics if m.predictions]
    if not types:
        return None
    chosen = meta.recommended_model_type if meta.recommended_model_type in types else types[0]
    frame = predictions_frame(next(m for m in meta.model_validation_metrics if m.type == chosen))
    frame = frame.dropna(subset=["anomaly score"])
    return ScoreSet(
        frame["anomaly score"].to_numpy(),
        frame["labelled anomaly"].to_numpy(),
        f"{len(frame)} validation windows ({md_escape(chosen)})",
    )


def _model_testing(source: Source) -> ScoreSet | None:
    try:
        version = loaders.block_version(source.base_url, source.project_id, source.learn_id)
        found = loaders.fetch_test_windows(
            source.base_url, source.project_id, source.learn_id, source.api_key, refresh_token(), version
        )
    except ApiError as exc:
        st.error(f"Could not get Studio's model-testing results: {md_escape(exc, 1000)}", icon=":material/error:")
        st.info(HOW_TO_RUN_MODEL_TESTING, icon=":material/info:")
        return None
    if isinstance(found, NoTestResults):
        st.info(f"{found.reason} {found.how_to}", icon=":material/info:")  # the app's own words
        return None
    notes = []
    if found.unscored:
        notes.append(f"{found.unscored} windows without an anomaly score")
    if found.unlabelled:
        notes.append(f"{found.unlabelled} without an expected outcome")
    if notes:
        st.caption("Left out: " + ", ".join(notes) + ".")
    return ScoreSet(
        found.scores,
        found.truth,
        f"{len(found.frame)} windows of {found.n_samples} test samples (Studio model testing)",
        found.frame,
    )


def _upload(source: Source) -> ScoreSet | None:
    upload = last_scored(source.model)
    if upload is None:
        return None
    scores = upload.finite_scores
    origin = f"{len(scores):,} scored rows of your last upload (no labels)"
    return ScoreSet(scores, None, origin, histogram=upload.histogram, bounds=upload.bounds)


def select_score_source(source: Source) -> ScoreSet | None:
    """A choice among the score sources this source has; the chosen one's scores, or None."""
    has_validation = any(m.predictions for m in source.model.metadata.model_validation_metrics)
    has_upload = last_scored(source.model) is not None
    options = [
        name
        for name, available in (
            (VALIDATION, has_validation),
            (MODEL_TESTING, source.kind == PROJECT),
            (UPLOAD, has_upload),
        )
        if available
    ]
    if not options:
        return None
    if st.session_state.get(state.SCORE_SOURCE) not in options:
        st.session_state.pop(state.SCORE_SOURCE, None)
    if len(options) > 1:
        chosen = st.radio(
            "Scores to tune on",
            options,
            key=state.SCORE_SOURCE,
            horizontal=True,
            help="Validation predictions come with the block; model testing is Studio's test set "
            "(Model testing > Classify all); an upload has no labels.",
        )
    else:
        chosen = options[0]
    loader = {VALIDATION: _validation, MODEL_TESTING: _model_testing, UPLOAD: _upload}[chosen]
    return loader(source)
