"""Which scores the Thresholds page tunes against: validation predictions, Studio's model-testing
results (project source), or the last scored upload (no labels). The sets themselves are
`ei_anomaly.review` score sets; this module only offers the choice and fetches what it needs."""

from __future__ import annotations

import streamlit as st

from ei_anomaly import ApiError
from ei_anomaly.model_testing import HOW_TO_RUN_MODEL_TESTING, NoTestResults, TestWindows
from ei_anomaly.review import ScoreSet, ScoreSource, model_testing_scores, upload_scores, validation_scores

from . import loaders, state
from .errors import show_error
from .source import ProjectSource, Source, refresh_token
from .uploads import last_scored

SCORE_SOURCE_LABELS = {
    ScoreSource.VALIDATION: "Validation predictions",
    ScoreSource.MODEL_TESTING: "Studio model testing",
    ScoreSource.UPLOAD: "Last upload",
}


def studio_test_windows(source: ProjectSource) -> TestWindows | None:
    """The block's windows from Studio's model testing, or None with the reason said on the page."""
    try:
        version = loaders.block_version(source.base_url, source.project_id, source.learn_id)
        found = loaders.fetch_test_windows(
            source.base_url, source.project_id, source.learn_id, source.api_key, refresh_token(), version
        )
    except ApiError as exc:
        show_error(exc, lead="Could not get Studio's model-testing results: ")
        st.info(HOW_TO_RUN_MODEL_TESTING, icon=":material/info:")
        return None
    if isinstance(found, NoTestResults):
        st.info(f"{found.reason} {found.how_to}", icon=":material/info:")  # the app's own words
        return None
    return found


def _model_testing(source: ProjectSource) -> ScoreSet | None:
    found = studio_test_windows(source)
    if found is None:
        return None
    notes = []
    if found.unscored:
        notes.append(f"{found.unscored} windows without an anomaly score")
    if found.unlabelled:
        notes.append(f"{found.unlabelled} without an expected outcome")
    if notes:
        st.caption("Left out: " + ", ".join(notes) + ".")
    return model_testing_scores(found)


def _upload(source: Source) -> ScoreSet | None:
    upload = last_scored(source.block)
    return None if upload is None else upload_scores(upload, name="your last upload")


def select_score_source(source: Source) -> ScoreSet | None:
    """A choice among the score sources this source has; the chosen one's scores, or None."""
    validation = validation_scores(source.block.metadata)  # None when no window has a score
    has_upload = last_scored(source.block) is not None
    options = [
        kind
        for kind, available in (
            (ScoreSource.VALIDATION, validation is not None),
            (ScoreSource.MODEL_TESTING, isinstance(source, ProjectSource)),
            (ScoreSource.UPLOAD, has_upload),
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
            format_func=SCORE_SOURCE_LABELS.__getitem__,
            horizontal=True,
            help="Validation predictions come with the block; model testing is Studio's test set "
            "(Model testing > Classify all); an upload has no labels.",
        )
    else:
        chosen = options[0]
    if chosen is ScoreSource.VALIDATION:
        return validation
    if chosen is ScoreSource.MODEL_TESTING and isinstance(source, ProjectSource):
        return _model_testing(source)
    return _upload(source)
