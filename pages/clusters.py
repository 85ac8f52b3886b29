"""Clusters: where the block's clusters (K-means) or components (GMM) sit on its axes."""

import numpy as np
import streamlit as st

from components import state
from components.charts import draw_on_request, show_chart, view_3d_on_request
from components.explain import explained_window
from components.report_download import show_report_download
from components.source import require_source, trained_points_or_warning
from components.threshold import shared_threshold
from components.uploads import last_scored
from ei_anomaly.blocks import MapOverlay
from ei_anomaly.figures import MAX_POINTS, add_window_marker
from ei_anomaly.figures.style import MUTED
from ei_anomaly.review import default_map_axes, map_section

source = require_source()
block = source.block
labels = block.axis_labels

st.title("Clusters")
st.caption(block.map_caption)

n_axes = len(labels)
if n_axes == 1:
    st.info(f"This block uses a single axis: a {block.units.noun} is an interval on it.")
options = list(range(n_axes))
first_x, first_y = default_map_axes(block)
c1, c2, c3 = st.columns([2, 2, 1.3], vertical_alignment="bottom")
ax1 = c1.selectbox("Horizontal axis", options, index=first_x, format_func=lambda j: labels[j], key=state.CLUSTERS_X)
ax2 = c2.selectbox("Vertical axis", options, index=first_y, format_func=lambda j: labels[j], key=state.CLUSTERS_Y)
original = block.has_scaled_space and c3.toggle(
    "Original units",
    key=state.CLUSTERS_ORIGINAL_UNITS,
    help="Show center × scale + mean. Circles become ellipses, since each axis has its own scale.",
)

trained: list[MapOverlay] = []
points = trained_points_or_warning(source, ax1, ax2, MAX_POINTS // 2)
if len(points):
    trained.append(("trained windows", points["x"].to_numpy(), points["y"].to_numpy(), MUTED))
section = map_section(
    block,
    last_scored(block),
    shared_threshold(block, block.anomaly_threshold),
    axes=(ax1, ax2),
    extra=tuple(trained),
    max_points=MAX_POINTS // 2,
    original_units=original,
    names=("your upload", "your upload: anomalies"),
)
fig = section.figure()
if (explained := explained_window(block)) is not None:  # the window last explained (Fleet or Scoring page)
    raw = np.array([a.value for a in explained.explanation.axes], np.float32)
    point = raw if original else block.to_map(raw[None])[0]
    add_window_marker(fig, float(point[ax1]), float(point[ax2]), f"explained: row {explained.explanation.row}")
show_chart(fig, width="stretch", key="cluster_map")


@st.fragment
def view_3d() -> None:
    """The 3-D view, on request (a fragment: its toggle and axes rerun only this)."""
    view_3d_on_request(labels, block.figure_3d, "cluster_3d")


@st.fragment
def view_parallel() -> None:
    """Every axis as parallel coordinates, on request."""
    if draw_on_request("Draw every axis (parallel coordinates)", state.CLUSTERS_PARALLEL_SHOW):
        show_chart(block.parallel_figure(), width="stretch", key="cluster_parallel")


if n_axes >= 3:
    view_3d()
    view_parallel()

st.subheader(f"{block.units.noun.capitalize()} table")
table = block.unit_table()
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={c: st.column_config.NumberColumn(format="%.4f") for c in table.columns[1:]},
)
st.caption(block.unit_table_note)
show_report_download(
    source, shared_threshold(block, block.anomaly_threshold), scored=last_scored(block), key="clusters_report"
)
