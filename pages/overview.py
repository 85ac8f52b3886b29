"""Overview: the model card."""

import json

import pandas as pd
import streamlit as st

from components.report_download import show_report_download
from components.source import require_source, trained_ago
from components.text import md_escape, shorten
from ei_anomaly.evaluation import on_device_frame

source = require_source()
model = source.model
meta = model.metadata

st.title("Overview")
st.caption(
    f"{md_escape(source.title)} · K-means anomaly block"
    + (f" #{source.learn_id}" if source.learn_id is not None else "")
)

recommended = meta.recommended_model_type
cols = st.columns(4)
cols[0].metric("Clusters", model.n_clusters)
cols[1].metric("Axes", len(model.axes))
cols[2].metric(
    "Anomaly threshold",
    f"{model.default_threshold:g}",
    help="A window is an anomaly when its score is strictly greater than this.",
)
cols[3].metric(
    "Trained",
    trained_ago(meta.created) if meta.created else "unknown",
    help=f"{meta.created:%Y-%m-%d %H:%M} UTC" if meta.created else None,
)

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Axes")
    st.dataframe(
        pd.DataFrame(
            {"feature index": model.axes, "label": model.axis_labels, "mean": model.mean, "scale": model.scale}
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption("Scores are computed on these features after standard scaling: (value − mean) / scale.")

    st.subheader("Accuracy per model type")
    rows = [
        {
            "model type": m.type + (" ★ recommended" if m.type == recommended else ""),
            "accuracy": m.accuracy,
            "loss": m.loss,
            "validation windows": len(m.predictions),
        }
        for m in meta.model_validation_metrics
    ]
    if rows:
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            width="stretch",
            column_config={"accuracy": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)},
        )
    else:
        st.info("This block carries no validation metrics. Run model testing in Studio to get them.")

with right:
    st.subheader("Model types")
    types = meta.available_model_types or [m.type for m in meta.model_validation_metrics]
    st.markdown(" · ".join(md_escape(t) + (" ★" if t == recommended else "") for t in types) or "none listed")
    if recommended:
        st.caption(f"★ recommended: {md_escape(recommended)}")

    st.subheader("Thresholds")
    if meta.thresholds:
        st.dataframe(
            pd.DataFrame(
                [
                    {"key": t.key, "value": t.value, "suggested": t.suggested_value, "description": d}
                    for t in meta.thresholds
                    for d in [shorten(t.description)]
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(f"None configured: Anomaly Lens uses Studio's default {model.default_threshold:g}.")

    st.subheader("On the default MCU")
    perf = on_device_frame(meta)
    default = (
        perf[perf["default"] & (perf["model type"] == (recommended or perf["model type"].iloc[0]))]
        if not perf.empty
        else perf
    )
    if default.empty:
        st.caption("No on-device estimates in this metadata.")
    else:
        eon = default[default["engine"] == "EON"].iloc[0]
        st.markdown(f"**{md_escape(eon['device'])}** · {md_escape(eon['model type'])}")
        c1, c2, c3 = st.columns(3)
        latency = eon["latency (ms)"]
        c1.metric("Latency", f"{latency:.0f} ms" if pd.notna(latency) else "not profiled")
        c2.metric("RAM (EON)", f"{eon['RAM (KB)']:.1f} KB")
        c3.metric("Flash (EON)", f"{eon['ROM (KB)']:.1f} KB")
        if source.kind == "Demo project":
            st.caption("Demo figures are illustrative, not measured.")

st.download_button(
    "Download metadata JSON",
    lambda: json.dumps(meta.model_dump(mode="json", by_alias=True), indent=1),  # built on click, not per rerun
    file_name=f"anomaly-metadata-{source.learn_id or 'block'}.json",
    mime="application/json",
    icon=":material/download:",
    on_click="ignore",
)
show_report_download(source)
