"""Thresholds: tune the anomaly threshold and see its effect at once; export it."""

import numpy as np
import streamlit as st

from components.figures import fig_confusion_matrix, fig_pr_curve, fig_score_histogram
from components.source import require_source
from components.text import md_escape
from components.threshold import select_threshold
from components.uploads import last_scored_upload_scores
from ei_anomaly.evaluation import binary_counts, count_flagged, pr_curve, predictions_frame, threshold_exports

source = require_source()
model = source.model
meta = model.metadata

st.title("Thresholds")
st.caption(
    "Scores are distances from the nearest cluster's edge in scaled units, not probabilities: "
    "negative is inside a cluster. A window is an anomaly when its score is **strictly greater** "
    "than the threshold. Fewer clusters give larger scores."
)

types = [m.type for m in meta.model_validation_metrics if m.predictions]
scores = truth = None
if types:
    chosen = meta.recommended_model_type if meta.recommended_model_type in types else types[0]
    frame = predictions_frame(next(m for m in meta.model_validation_metrics if m.type == chosen))
    frame = frame.dropna(subset=["anomaly score"])
    scores, truth = frame["anomaly score"].to_numpy(), frame["labelled anomaly"].to_numpy()
    origin = f"{len(scores)} validation windows ({md_escape(chosen)})"
else:
    upload = last_scored_upload_scores(model)
    if upload is not None:
        scores = upload[np.isfinite(upload)]
        origin = f"{len(scores)} scored rows of your last upload (no labels)"
if scores is None or not len(scores):
    st.info(
        "No scores to tune against: this block has no validation predictions. Upload a feature file on "
        "the Scoring page and come back.",
        icon=":material/info:",
    )
    scores = np.array([])

anomaly_threshold = model.anomaly_threshold
has_labels = truth is not None and truth.any() and (~truth).any()
curve = pr_curve(scores, truth) if has_labels else None  # independent of the threshold: once per run


@st.fragment
def tuner() -> None:
    """Slider and everything it drives: a slider move reruns only this, with no re-scoring."""
    value = select_threshold(model, anomaly_threshold, "thresholds", scores)
    others = [t for t in meta.thresholds if t is not anomaly_threshold and t.numeric_value is not None]
    for t in others:
        select_threshold(model, t, "thresholds", scores)
    if others:
        st.caption("Only the anomaly threshold changes the charts below.")
    if not len(scores):
        return
    st.caption(f"Scores from {origin}.")
    flagged = count_flagged(scores, value)
    cols = st.columns(4)
    cols[0].metric("Flagged as anomaly", f"{flagged} / {len(scores)}")
    if has_labels:
        counts = binary_counts(scores, truth, value)
        cols[1].metric(
            "Precision",
            f"{counts.precision:.0%}" if counts.tp + counts.fp else "n/a",
            help="Of the flagged windows, how many are labelled anomaly.",
        )
        cols[2].metric("Recall", f"{counts.recall:.0%}", help="Of the windows labelled anomaly, how many are flagged.")
        cols[3].metric("False alarms", counts.fp, help="Normal windows flagged as anomaly.")
    left, right = st.columns(2, gap="large")
    with left:
        suggested = anomaly_threshold.suggested_value if anomaly_threshold else None
        st.plotly_chart(
            fig_score_histogram(scores, value, suggested=suggested if isinstance(suggested, float) else None),
            width="stretch",
            key="thresholds_hist",
        )
    with right:
        if has_labels:
            st.plotly_chart(
                fig_pr_curve(curve, (counts.precision, counts.recall)),
                width="stretch",
                key="thresholds_pr",
            )
        else:
            st.caption("Precision and recall need windows labelled `anomaly` and normal ones.")
    if has_labels:
        c1, c2 = st.columns([1, 1], gap="large")
        with c1:
            st.plotly_chart(
                fig_confusion_matrix(counts.matrix, ["normal", "anomaly"], f"Normal vs anomaly at {value:g}"),
                width="stretch",
                key="thresholds_confusion",
            )
        with c2:
            show_exports(value)
    else:
        show_exports(value)


def show_exports(value: float) -> None:
    st.subheader("Export")
    key = anomaly_threshold.key if anomaly_threshold else "min_anomaly_score"
    exports = threshold_exports(source.learn_id, key, value)
    st.markdown("Linux runner override:")
    st.code(f"edge-impulse-linux-runner {exports['runner']}", language="bash", wrap_lines=True)
    st.markdown("Body for `POST /v1/api/{projectId}/impulse/{impulseId}/set-thresholds`:")
    st.code(exports["json"], language="json")
    st.download_button(
        "Download thresholds JSON",
        exports["json"],
        file_name="thresholds.json",
        mime="application/json",
        icon=":material/download:",
        on_click="ignore",
    )


tuner()
