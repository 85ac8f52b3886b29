"""Explain a window (Fleet and Scoring pages) and remember it for the Clusters page to draw."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from ei_anomaly import AnomalyLensError
from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.explanation import WindowExplanation
from ei_anomaly.figures import fig_axis_shares
from ei_anomaly.scored_file import ScoredFile

from . import state
from .charts import show_chart
from .errors import show_error
from .text import md_escape


@dataclass(frozen=True)
class ExplainedWindow:
    model_fingerprint: str
    source: str  # the file's name
    explanation: WindowExplanation


EXPLAINED = state.Slot(state.EXPLAINED_WINDOW, ExplainedWindow)


def explained_window(model: AnomalyBlock) -> ExplainedWindow | None:
    """The window last explained in this session with this block, if any."""
    found = EXPLAINED.get()
    return found if found is not None and found.model_fingerprint == model.fingerprint else None


def show_explanation(model: AnomalyBlock, scored: ScoredFile, row: int, key: str) -> None:
    """The nearest cluster and each axis's share of the squared distance to it, for one row (for the
    blocks whose score decomposes so; the others say why not)."""
    if model.explain_refusal is not None:
        st.info(model.explain_refusal, icon=":material/info:")
        return
    try:
        explanation = model.explain(scored.axis_values[row], row)
    except AnomalyLensError as exc:
        show_error(exc)
        return
    EXPLAINED.set(ExplainedWindow(model.fingerprint, scored.name, explanation))
    st.caption(md_escape(explanation.sentence()[0].upper() + explanation.sentence()[1:] + ".", 1000))
    left, right = st.columns([3, 2], gap="large")
    with left:
        show_chart(fig_axis_shares(explanation), width="stretch", key=f"{key}_shares")
    with right:
        table = pd.DataFrame(
            {
                "axis": [a.label for a in explanation.axes],
                "value": [a.value for a in explanation.axes],
                "scaled": [a.scaled for a in explanation.axes],
                f"cluster {explanation.cluster} center": [a.center for a in explanation.axes],
                "share": [a.share for a in explanation.axes],
            }
        ).sort_values("share", ascending=False, kind="stable")
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "share": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
                "value": st.column_config.NumberColumn(format="%.4g"),
                "scaled": st.column_config.NumberColumn(format="%.3f"),
                f"cluster {explanation.cluster} center": st.column_config.NumberColumn(format="%.3f"),
            },
        )
        st.page_link("pages/clusters.py", label="See this window on the Clusters page", icon=":material/bubble_chart:")
