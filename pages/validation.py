"""Validation: confusion matrices, metrics, predictions and scores per label, per model type."""

import pandas as pd
import streamlit as st

from components import state
from components.charts import show_chart
from components.source import require_source
from components.text import md_escape
from components.threshold import shared_threshold
from ei_anomaly.evaluation import confusion_labels, predictions_frame
from ei_anomaly.figures import fig_confusion_matrix, fig_scores_by_label
from ei_anomaly.review import shown_metrics

source = require_source()
meta = source.model.metadata

st.title("Validation")
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
model_type = st.segmented_control(
    "Model type",
    types,
    default=default,
    key=state.VALIDATION_TYPE,
    format_func=md_escape,
    help="int8 and float32 builds can disagree near the threshold.",
)
metrics = next(m for m in meta.model_validation_metrics if m.type == (model_type or default))

cols = st.columns(4)
cols[0].metric("Accuracy", f"{metrics.accuracy:.1%}" if metrics.accuracy is not None else "n/a")
cols[1].metric("Loss", f"{metrics.loss:.4g}" if metrics.loss is not None else "n/a")
for col, extra in zip(cols[2:], metrics.additional_metrics[:2], strict=False):
    col.metric(
        md_escape(extra.name), md_escape(extra.value, 40), help=md_escape(extra.tooltip_text or "", 1000) or None
    )

left, right = st.columns([1, 1], gap="large")
with left:
    if metrics.confusion_matrix:
        labels = confusion_labels(metrics)
        show_chart(
            fig_confusion_matrix(metrics.confusion_matrix, labels, f"Confusion matrix ({metrics.type})"),
            width="stretch",
            key="validation_confusion",
        )
        st.caption("Rows are the true class, columns the prediction; each cell shows the count and the row %.")
    else:
        st.caption("No confusion matrix in the metadata.")
with right:
    st.subheader("Classification report")
    report = pd.DataFrame({k: v for k, v in metrics.report.items() if isinstance(v, dict)}).T
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

predictions = predictions_frame(metrics)
if predictions.empty:
    st.caption("No per-window predictions in the metadata.")
    st.stop()

if predictions["anomaly score"].notna().any():
    show_chart(
        fig_scores_by_label(predictions.dropna(subset=["anomaly score"]), shared_threshold(source.model)),
        width="stretch",
        key="validation_scores",
    )
    st.caption(
        "Negative: inside a cluster. Positive: that far outside the nearest cluster's edge, in scaled units. "
        "The dashed line is the current threshold (set it on the Thresholds page)."
    )

st.subheader("Predictions")
f1, f2 = st.columns([3, 1])
chosen = f1.multiselect(
    "Labels", sorted(predictions["label"].unique()), key=state.VALIDATION_LABELS, placeholder="All labels"
)
OUTCOMES = {"all": None, "correct": True, "incorrect": False}  # label -> the `correct` value shown
outcome = f2.selectbox("Outcome", list(OUTCOMES), key=state.VALIDATION_OUTCOME)
shown = predictions
if chosen:
    shown = shown[shown["label"].isin(chosen)]
if OUTCOMES[outcome] is not None:
    shown = shown[shown["correct"] == OUTCOMES[outcome]]
st.dataframe(
    shown.drop(columns=["labelled anomaly"]),
    hide_index=True,
    width="stretch",
    column_config={"anomaly score": st.column_config.NumberColumn(format="%.3f")},
)
st.caption(f"{len(shown)} of {len(predictions)} windows")
