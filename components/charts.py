"""The one place pages draw a Plotly chart: every figure is escaped on its way to the browser.

Every chart gets a text alternative (a caption saying what it shows, from the figure itself).
Outside text (column names, labels, device ids, category values on an axis) must reach Plotly as
text, never as its HTML subset. `show_chart` hands Streamlit the figure through
`ei_anomaly.figures.text.safe_figure`, so a chart added later by any page is safe by going
through it (`tests/test_structure.py` checks that no page calls `st.plotly_chart` itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from ei_anomaly.figures.describe import figure_summary
from ei_anomaly.figures.text import safe_figure

from . import state
from .text import md_escape


def show_chart(fig: Any, **kwargs: Any) -> Any:
    """`st.plotly_chart` of the escaped figure, and its text alternative under it (what it shows, in
    a sentence: `ei_anomaly.figures.describe`); keyword arguments are Streamlit's (width, key, on_select...)."""
    shown = st.plotly_chart(safe_figure(fig), **kwargs)
    st.caption(md_escape(figure_summary(fig), 600))
    return shown


WEBGL_NOTE = "Drawn on request: it is WebGL, which takes seconds in a browser without a graphics card."


def draw_on_request(label: str, key: str) -> bool:
    """A toggle in front of a WebGL view (3-D, parallel coordinates): such views are drawn only when
    asked for, since a browser without a GPU draws them in software for seconds."""
    return st.toggle(label, key=key, help=WEBGL_NOTE)


def view_3d_on_request(labels: Sequence[str], figure: Callable[[list[int]], Any], key: str) -> None:
    """A 3-D view of three chosen axes, folded and drawn only when asked for: `figure(picks)` builds
    it for the three axis positions picked. Call it inside a fragment, so its controls rerun only it."""
    options = list(range(len(labels)))
    with st.expander("3-D view", expanded=len(labels) == 3, icon=":material/view_in_ar:"):
        if not draw_on_request("Draw the 3-D view", state.CLUSTERS_3D_SHOW):
            return
        picks = st.multiselect(
            "Axes",
            options,
            default=options[:3],
            max_selections=3,
            format_func=lambda j: labels[j],
            key=state.CLUSTERS_3D_AXES,
        )
        if len(picks) == 3:
            show_chart(figure(picks), width="stretch", key=key)
        else:
            st.caption("Pick three axes.")
