"""Clusters: where the K-means clusters sit in feature space, and their edges (score 0)."""

import numpy as np
import pandas as pd
import streamlit as st

from components import loaders
from components.figures import MAX_POINTS, fig_cluster_3d, fig_cluster_map, fig_parallel_centers
from components.source import require_source
from components.style import ANOMALY, MUTED, NORMAL
from components.uploads import last_scored_upload
from ei_anomaly import AnomalyLensError
from ei_anomaly.demo import demo_trained_axes
from ei_anomaly.evaluation import downsample_keep_flagged

source = require_source()
model = source.model
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
c1, c2, c3 = st.columns([2, 2, 1.3], vertical_alignment="bottom")
ax1 = c1.selectbox("Horizontal axis", options, index=0, format_func=lambda j: labels[j], key="clusters_ax1")
ax2 = c2.selectbox(
    "Vertical axis", options, index=min(1, n_axes - 1), format_func=lambda j: labels[j], key="clusters_ax2"
)
original = c3.toggle(
    "Original units",
    key="clusters_original",
    help="Show center × scale + mean. Circles become ellipses, since each axis has its own scale.",
)

centers = model.centers_in_original_units() if original else model.centers
radii = model.max_errors
stretch = (float(model.scale[ax1]), float(model.scale[ax2])) if original else (1.0, 1.0)


def overlay(name: str, z: np.ndarray, color: str) -> tuple[str, np.ndarray, np.ndarray, str]:
    """Scaled points (axis order) as a trace in the units on screen."""
    shown = model.to_original(z) if original else z
    return name, shown[:, ax1], shown[:, ax2], color


overlays = []
if source.has_explorer:
    try:
        points = loaders.fetch_trained_points(
            source.base_url, source.project_id, source.learn_id, model.axes[ax1], model.axes[ax2], source.api_key
        )
    except AnomalyLensError as exc:
        st.warning(f"Trained points are not available: {exc}")
        points = pd.DataFrame(columns=["x", "y"])
    if len(points) > MAX_POINTS // 2:  # a person cannot see more; a seeded sample keeps it stable
        points = points.iloc[downsample_keep_flagged(np.zeros(len(points), bool), MAX_POINTS // 2)]
    if len(points):
        z = np.zeros((len(points), n_axes), np.float32)
        z[:, ax1], z[:, ax2] = points["x"], points["y"]
        overlays.append(overlay("trained windows", z, MUTED))
elif source.kind == "Demo project":
    overlays.append(overlay("trained windows", model.to_scaled(demo_trained_axes(model)), MUTED))

upload = last_scored_upload(model)
if upload is not None:
    x_axes, flags = upload
    shown = downsample_keep_flagged(flags, MAX_POINTS // 2)
    z = model.to_scaled(x_axes[shown])
    overlays.append(overlay("your upload", z[~flags[shown]], NORMAL))
    overlays.append(overlay("your upload: anomalies", z[flags[shown]], ANOMALY))

unit = "" if original else " (scaled)"
fig = fig_cluster_map(centers[:, [ax1, ax2]], radii, (labels[ax1] + unit, labels[ax2] + unit), overlays, stretch)
st.plotly_chart(fig, width="stretch", key="cluster_map")

if n_axes >= 3:
    with st.expander("3-D view", expanded=n_axes == 3, icon=":material/view_in_ar:"):
        picks = st.multiselect(
            "Axes",
            options,
            default=options[:3],
            max_selections=3,
            format_func=lambda j: labels[j],
            key="clusters_3d_axes",
        )
        if len(picks) == 3:
            st.plotly_chart(
                fig_cluster_3d(model.centers[:, picks], radii, tuple(labels[j] for j in picks)),
                width="stretch",
                key="cluster_3d",
            )
        else:
            st.caption("Pick three axes.")
if n_axes >= 3:
    st.plotly_chart(fig_parallel_centers(model.centers, radii, labels), width="stretch", key="cluster_parallel")

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
