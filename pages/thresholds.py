"""Thresholds: tune the anomaly threshold and see its effect at once; export it."""

import numpy as np
import streamlit as st

from components.charts import show_chart
from components.save_threshold import show_save_button, show_save_notice
from components.score_source import select_score_source
from components.source import require_source
from components.text import md_escape
from components.threshold import select_threshold
from components.threshold_helpers import show_threshold_helpers
from ei_anomaly.evaluation import binary_counts, count_flagged, errors_per_sample, pr_curve, threshold_exports
from ei_anomaly.figures import fig_confusion_matrix, fig_pr_curve, fig_score_histogram
from ei_anomaly.model import BlockKind
from ei_anomaly.review import score_definition, threshold_meaning

source = require_source()
model = source.model
meta = model.metadata

st.title("Thresholds")
if model.kind is BlockKind.GMM:
    st.caption(
        f"A GMM score is {score_definition(model).meaning}, not a probability. A window is an anomaly when "
        "its score is **strictly greater** than the threshold."
    )
else:
    st.caption(
        "Scores are distances from the nearest cluster's edge in scaled units, not probabilities: "
        "negative is inside a cluster. A window is an anomaly when its score is **strictly greater** "
        "than the threshold. Fewer clusters give larger scores."
    )

show_save_notice()
chosen = select_score_source(source)
scores = truth = windows = histogram = bounds = None
if chosen is not None:
    scores, truth, origin, windows = chosen.scores, chosen.truth, chosen.origin, chosen.windows
    histogram, bounds = chosen.histogram, chosen.bounds
if scores is None or not len(scores):
    if chosen is None:
        st.info(
            "No scores to tune against: this block has no scored validation windows. Upload a feature file on "
            "the Scoring page and come back.",
            icon=":material/info:",
        )
    scores = np.array([])

anomaly_threshold = model.anomaly_threshold
has_labels = chosen is not None and chosen.labelled
curve = pr_curve(scores, truth) if has_labels else None  # independent of the threshold: once per run


@st.fragment
def tuner() -> None:
    """Slider and everything it drives: a slider move reruns only this, with no re-scoring."""
    value = select_threshold(model, anomaly_threshold, "thresholds", bounds)
    others = [t for t in meta.thresholds if t is not anomaly_threshold and t.numeric_value is not None]
    for t in others:
        select_threshold(model, t, "thresholds", bounds)
    if others:
        st.caption("Only the anomaly threshold changes the charts below.")
    if not len(scores):
        return
    st.caption(f"Scores from {md_escape(origin)}.")
    flagged = count_flagged(scores, value)
    cols = st.columns(4)
    cols[0].metric("Flagged as anomaly", f"{flagged:,} / {len(scores):,}")
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
        show_chart(
            fig_score_histogram(histogram, value, suggested=threshold_meaning(model).suggested),
            width="stretch",
            key="thresholds_hist",
        )
    with right:
        if has_labels:
            show_chart(
                fig_pr_curve(curve, (counts.precision, counts.recall)),
                width="stretch",
                key="thresholds_pr",
            )
        else:
            st.caption("Precision and recall need windows labelled `anomaly` and normal ones.")
    if has_labels:
        c1, c2 = st.columns([1, 1], gap="large")
        with c1:
            show_chart(
                fig_confusion_matrix(counts.matrix, ["normal", "anomaly"], f"Normal vs anomaly at {value:g}"),
                width="stretch",
                key="thresholds_confusion",
            )
        with c2:
            show_exports(value)
    else:
        show_exports(value)
    if windows is not None:
        st.subheader(f"Test samples with the most errors at {value:g}")
        worst = errors_per_sample(windows, value)
        if worst.empty:
            st.caption("No test sample has a missed anomaly or a false alarm at this threshold.")
        else:
            st.dataframe(worst, hide_index=True, width="stretch", key="thresholds_worst_samples")
    if has_labels:
        show_threshold_helpers(model, anomaly_threshold, "thresholds", scores, truth, value)


def show_exports(value: float) -> None:
    st.subheader("Export")
    exports = threshold_exports(source.learn_id, threshold_meaning(model).key, value)
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
    show_save_button(source, anomaly_threshold, value)


tuner()
