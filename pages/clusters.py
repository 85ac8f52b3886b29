"""Clusters: where the K-means clusters sit in feature space, and their edges (score 0)."""

import numpy as np
import pandas as pd
import streamlit as st

from components import state
from components.charts import draw_on_request, show_chart, view_3d_on_request
from components.explain import explained_window
from components.gmm_clusters import show_gmm_clusters
from components.source import require_source, trained_points_or_warning
from components.uploads import last_upload_points
from ei_anomaly.figures import MAX_POINTS, add_window_marker, fig_cluster_3d, fig_cluster_map, fig_parallel_centers
from ei_anomaly.figures.style import ANOMALY, MUTED, NORMAL
from ei_anomaly.model import BlockKind
from ei_anomaly.review import default_map_axes

source = require_source()
model = source.model
if model.kind is BlockKind.GMM:  # components instead of clusters (components/gmm_clusters.py)
    show_gmm_clusters(source)
    st.stop()
labels = model.axis_labels

st.title("Clusters")
st.caption(
    "Each circle is one cluster's edge: radius `maxError` around its center, in the scaled space "
    "the device uses. Inside a circle the score is negative; on it, 0. On two axes the circle is the "
    "exact shadow of the cluster's ball, so a point inside it can still be far off on another axis."
)

n_axes = len(labels)
if n_axes == 1:
    st.info("This block uses a single axis: a cluster is an interval on it.")
options = list(range(n_axes))
first_x, first_y = default_map_axes(model)
c1, c2, c3 = st.columns([2, 2, 1.3], vertical_alignment="bottom")
ax1 = c1.selectbox("Horizontal axis", options, index=first_x, format_func=lambda j: labels[j], key=state.CLUSTERS_X)
ax2 = c2.selectbox("Vertical axis", options, index=first_y, format_func=lambda j: labels[j], key=state.CLUSTERS_Y)
original = c3.toggle(
    "Original units",
    key=state.CLUSTERS_ORIGINAL_UNITS,
    help="Show center × scale + mean. Circles become ellipses, since each axis has its own scale.",
)

centers = model.centers_in_original_units() if original else model.centers
radii = model.max_errors
stretch = (float(model.scale[ax1]), float(model.scale[ax2])) if original else (1.0, 1.0)


def on_screen(values: np.ndarray, j: int) -> np.ndarray:
    """Scaled values of axis j in the units the map shows."""
    return model.axis_to_original(values, j) if original else values


overlays = []
points = trained_points_or_warning(source, ax1, ax2, MAX_POINTS // 2)
if len(points):
    overlays.append(("trained windows", on_screen(points["x"], ax1), on_screen(points["y"], ax2), MUTED))

upload = last_upload_points(model, MAX_POINTS // 2)
if upload is not None:
    for name, z, color in (
        ("your upload", upload.normal, NORMAL),
        ("your upload: anomalies", upload.anomalies, ANOMALY),
    ):
        overlays.append((name, on_screen(z[:, ax1], ax1), on_screen(z[:, ax2], ax2), color))

unit = "" if original else " (scaled)"
fig = fig_cluster_map(centers[:, [ax1, ax2]], radii, (labels[ax1] + unit, labels[ax2] + unit), overlays, stretch)
if (explained := explained_window(model)) is not None:  # the window last explained (Fleet or Scoring page)
    z, row = explained.explanation.scaled, explained.explanation.row
    add_window_marker(fig, float(on_screen(z[ax1], ax1)), float(on_screen(z[ax2], ax2)), f"explained: row {row}")
show_chart(fig, width="stretch", key="cluster_map")


@st.fragment
def view_3d() -> None:
    """The 3-D view, on request (a fragment: its toggle and axes rerun only this)."""
    view_3d_on_request(
        labels,
        lambda picks: fig_cluster_3d(
            model.centers[:, picks], radii, (labels[picks[0]], labels[picks[1]], labels[picks[2]])
        ),
        "cluster_3d",
    )


@st.fragment
def view_parallel() -> None:
    """Every axis as parallel coordinates, on request."""
    if draw_on_request("Draw every axis (parallel coordinates)", state.CLUSTERS_PARALLEL_SHOW):
        show_chart(fig_parallel_centers(model.centers, radii, labels), width="stretch", key="cluster_parallel")


if n_axes >= 3:
    view_3d()
    view_parallel()

st.subheader("Cluster table")
table = pd.DataFrame(model.centers_in_original_units(), columns=labels)
table.insert(0, "cluster", range(model.n_clusters))
table["maxError (scaled)"] = radii
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={c: st.column_config.NumberColumn(format="%.4f") for c in [*labels, "maxError (scaled)"]},
)
st.caption("Centers in original units (center × scale + mean); maxError is a distance in scaled space.")
