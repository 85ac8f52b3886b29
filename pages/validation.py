"""Validation: confusion matrices, metrics, predictions and scores per label, per model type."""

import pandas as pd
import streamlit as st

from components import permalink, state
from components.charts import show_chart
from components.report_download import show_report_download
from components.source import require_source
from components.text import md_escape
from components.threshold import shared_threshold
from components.uploads import last_scored
from ei_anomaly.review import shown_metrics, validation_section

source = require_source()
block = source.block
meta = block.metadata

st.title("Validation")
show_report_download(source, shared_threshold(block), scored=last_scored(block), key="validation_report")
if not meta.model_validation_metrics:
    st.info(
        "This block has no validation metrics: Studio adds them after model testing. "
        "Score your own labelled data on the Scoring page instead.",
        icon=":material/info:",
    )
    st.stop()

types = [m.type for m in meta.model_validation_metrics]
shown = shown_metrics(meta)
default = shown.type if shown is not None else types[0]
permalink.seed(state.VALIDATION_TYPE, permalink.MODEL_TYPE, types, "model type")
model_type = st.segmented_control(
    "Model type",
    types,
    default=default,
    key=state.VALIDATION_TYPE,
    format_func=md_escape,
    help="int8 and float32 builds can disagree near the threshold.",
)
section = validation_section(block, model_type or default)
metrics = section.metrics

cols = st.columns(4)
cols[0].metric("Accuracy", f"{metrics.accuracy:.1%}" if metrics.accuracy is not None else "n/a")
cols[1].metric("Loss", f"{metrics.loss:.4g}" if metrics.loss is not None else "n/a")
for col, extra in zip(cols[2:], metrics.additional_metrics[:2], strict=False):
    col.metric(
        md_escape(extra.name), md_escape(extra.value, 40), help=md_escape(extra.tooltip_text or "", 1000) or None
    )

left, right = st.columns([1, 1], gap="large")
with left:
    if (confusion := section.confusion_figure()) is not None:
        show_chart(confusion, width="stretch", key="validation_confusion")
        st.caption("Rows are the true class, columns the prediction; each cell shows the count and the row %.")
    else:
        st.caption("No confusion matrix in the metadata.")
with right:
    st.subheader("Classification report")
    report = section.report
    if report.empty:
        st.caption("No classification report in the metadata.")
    else:
        st.dataframe(
            report,
            width="stretch",
            column_config={c: st.column_config.NumberColumn(format="%.3f") for c in report.columns if c != "support"},
        )
    if len(metrics.additional_metrics) > 2:
        st.dataframe(
            pd.DataFrame([{"metric": a.name, "value": a.value} for a in metrics.additional_metrics]),
            hide_index=True,
            width="stretch",
        )

predictions = section.predictions
if predictions.empty:
    st.caption("No per-window predictions in the metadata.")
    st.stop()

if (scores := section.scores_figure(shared_threshold(block))) is not None:
    show_chart(scores, width="stretch", key="validation_scores")
    st.caption(
        f"The score is {section.score_meaning}. The dashed line is the current threshold (set it on the "
        "Thresholds page)."
    )

st.subheader("Predictions")
f1, f2 = st.columns([3, 1])
chosen = f1.multiselect(
    "Labels", sorted(predictions["label"].unique()), key=state.VALIDATION_LABELS, placeholder="All labels"
)
OUTCOMES = {"all": None, "correct": True, "incorrect": False}  # label -> the `correct` value shown
outcome = f2.selectbox("Outcome", list(OUTCOMES), key=state.VALIDATION_OUTCOME)
listed = predictions
if chosen:
    listed = listed[listed["label"].isin(chosen)]
if OUTCOMES[outcome] is not None:
    listed = listed[listed["correct"] == OUTCOMES[outcome]]
st.dataframe(
    listed.drop(columns=["labelled anomaly"]),
    hide_index=True,
    width="stretch",
    column_config={"anomaly score": st.column_config.NumberColumn(format="%.3f")},
)
st.caption(f"{len(listed)} of {len(predictions)} windows")
