"""Overview: the model card."""

import json

import pandas as pd
import streamlit as st

from components.report_download import show_report_download
from components.review_notes import show_export_origin, show_rows_note
from components.source import require_source, trained_ago
from components.text import md_escape, shorten
from components.threshold import shared_threshold
from components.uploads import last_scored
from ei_anomaly.review import model_card

source = require_source()
block = source.block
meta = block.metadata
card = model_card(block)

st.title("Overview")
st.caption(
    f"{md_escape(source.title)} · {card.title}" + (f" #{source.learn_id}" if source.learn_id is not None else "")
)

cols = st.columns(4)
cols[0].metric(card.units.title, card.units.count, help=f"The block's {card.units.noun}s")
cols[1].metric("Axes", len(card.axis_labels))
cols[2].metric(
    "Anomaly threshold",
    f"{card.threshold.block_value:g}",
    help="A window is an anomaly when its score is strictly greater than this.",
)
cols[3].metric(
    "Trained",
    trained_ago(card.trained) if card.trained else "unknown",
    help=f"{card.trained:%Y-%m-%d %H:%M} UTC" if card.trained else None,
)

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Axes")
    st.dataframe(block.axes_table(), hide_index=True, width="stretch")
    st.caption(f"The score is {card.definition.meaning}:")
    st.code("\n".join(card.definition.formula), language=None, wrap_lines=True)
    st.caption(f"Target: **{card.target_label}**. Scores here are exact to {card.definition.exact_to}.")
    show_rows_note(block)
    show_export_origin(card)

    st.subheader("Accuracy per model type")
    rows = [
        {
            "model type": row.type + (" ★ recommended" if row.recommended else ""),
            "accuracy": row.accuracy,
            "loss": row.loss,
            "validation windows": row.windows,
        }
        for row in card.validated
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
    recommended = card.recommended_type
    st.markdown(
        " · ".join(md_escape(t) + (" ★" if t == recommended else "") for t in card.model_types) or "none listed"
    )
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
        st.caption(f"None configured: Anomaly Lens uses Studio's default {card.threshold.block_value:g}.")

    st.subheader("On the default MCU")
    mcu = card.default_mcu
    if mcu is None:
        st.caption("No on-device estimates in this metadata.")
    else:
        st.markdown(f"**{md_escape(mcu.device)}** · {md_escape(mcu.model_type)}")
        c1, c2, c3 = st.columns(3)
        c1.metric("Latency", f"{mcu.latency_ms:.0f} ms" if mcu.latency_ms is not None else "not profiled")
        c2.metric(f"RAM ({mcu.engine})", f"{mcu.ram_kb:.1f} KB" if mcu.ram_kb is not None else "n/a")
        c3.metric(f"Flash ({mcu.engine})", f"{mcu.flash_kb:.1f} KB" if mcu.flash_kb is not None else "n/a")
        if card.illustrative:
            st.caption("Demo figures are illustrative, not measured.")

st.download_button(
    "Download metadata JSON",
    lambda: json.dumps(meta.model_dump(mode="json", by_alias=True), indent=1),  # built on click, not per rerun
    file_name=f"anomaly-metadata-{source.learn_id or 'block'}.json",
    mime="application/json",
    icon=":material/download:",
    on_click="ignore",
)
show_report_download(source, shared_threshold(block, block.anomaly_threshold), scored=last_scored(block))
