"""Thresholds: tune the anomaly threshold and see its effect at once; export it."""

import streamlit as st

from components.charts import show_chart
from components.guarantee import show_guarantee
from components.report_download import show_report_download
from components.save_threshold import show_save_button, show_save_notice
from components.score_source import select_score_source
from components.source import require_source
from components.text import md_escape
from components.threshold import select_threshold
from components.threshold_helpers import show_threshold_helpers
from components.uploads import last_scored
from ei_anomaly.review import ThresholdSection, threshold_section

source = require_source()
block = source.block
meta = block.metadata

st.title("Thresholds")
st.caption(block.score_definition.threshold_hint)

show_save_notice()
chosen = select_score_source(source)
if chosen is None:
    st.info(
        "No scores to tune against: this block has no scored validation windows. Upload a feature file on "
        "the Scoring page and come back.",
        icon=":material/info:",
    )

anomaly_threshold = block.anomaly_threshold


@st.fragment
def tuner() -> None:
    """Slider and everything it drives: a slider move reruns only this, with no re-scoring."""
    value = select_threshold(block, anomaly_threshold, "thresholds", chosen.bounds if chosen is not None else None)
    others = [t for t in meta.thresholds if t is not anomaly_threshold and t.numeric_value is not None]
    for t in others:
        select_threshold(block, t, "thresholds", chosen.bounds if chosen is not None else None)
    if others:
        st.caption("Only the anomaly threshold changes the charts below.")
    section = threshold_section(block, chosen, value)
    if section.scores is not None:
        show_tuning(section, value)
    show_guarantee(source, anomaly_threshold, "thresholds", value)
    show_report_download(source, value, scored=last_scored(block), tune_on=chosen, key="thresholds_report")


def show_tuning(section: ThresholdSection, value: float) -> None:
    """The threshold on the chosen scores: counts, charts, exports, the worst samples, the helpers."""
    assert section.scores is not None  # called with scores only
    st.caption(f"Scores from {md_escape(section.scores.origin)}.")
    counts = section.counts
    cols = st.columns(4)
    cols[0].metric("Flagged as anomaly", f"{section.flagged:,} / {len(section.scores.scores):,}")
    if counts is not None:
        cols[1].metric(
            "Precision",
            f"{counts.precision:.0%}" if counts.tp + counts.fp else "n/a",
            help="Of the flagged windows, how many are labelled anomaly.",
        )
        cols[2].metric("Recall", f"{counts.recall:.0%}", help="Of the windows labelled anomaly, how many are flagged.")
        cols[3].metric("False alarms", counts.fp, help="Normal windows flagged as anomaly.")
    left, right = st.columns(2, gap="large")
    with left:
        show_chart(section.histogram_figure(), width="stretch", key="thresholds_hist")
    with right:
        if (pr := section.pr_figure()) is not None:
            show_chart(pr, width="stretch", key="thresholds_pr")
        else:
            st.caption("Precision and recall need windows labelled `anomaly` and normal ones.")
    if (confusion := section.confusion_figure()) is not None:
        c1, c2 = st.columns([1, 1], gap="large")
        with c1:
            show_chart(confusion, width="stretch", key="thresholds_confusion")
        with c2:
            show_exports(section)
    else:
        show_exports(section)
    worst = section.worst_samples()
    if worst is not None:
        st.subheader(f"Test samples with the most errors at {section.value:g}")
        if worst.empty:
            st.caption("No test sample has a missed anomaly or a false alarm at this threshold.")
        else:
            st.dataframe(worst, hide_index=True, width="stretch", key="thresholds_worst_samples")
    if counts is not None and section.scores.truth is not None:
        show_threshold_helpers(
            block, anomaly_threshold, "thresholds", section.scores.scores, section.scores.truth, value
        )


def show_exports(section: ThresholdSection) -> None:
    st.subheader("Export")
    exports = section.exports(source.learn_id)
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
    show_save_button(source, anomaly_threshold, section.value)


tuner()
