"""The Clusters page for a GMM block: its mixture components instead of K-means clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ei_anomaly.figures import MAX_POINTS, fig_gmm_3d, fig_gmm_map, fig_gmm_parallel
from ei_anomaly.figures.style import ANOMALY, MUTED, NORMAL
from ei_anomaly.gmm import GmmAnomalyModel, GmmParameters
from ei_anomaly.review import default_map_axes

from . import state
from .charts import draw_on_request, show_chart, view_3d_on_request
from .source import Source, trained_points_or_warning
from .uploads import last_upload_points


def show_gmm_clusters(source: Source) -> None:
    model = source.model
    assert isinstance(model, GmmAnomalyModel)
    gmm, labels = model.gmm, model.axis_labels
    st.title("Clusters")
    st.caption(
        f"A GMM block has no clusters: it models normal data as {model.n_components} Gaussian components "
        "(full covariances, raw axis units). Each is drawn at 1, 2 and 3 standard deviations of its shadow "
        "on the two axes (exact for that pair, not for the others), thicker the more weight it has."
    )
    n_axes = len(labels)
    options = list(range(n_axes))
    first_x, first_y = default_map_axes(model)
    c1, c2 = st.columns(2)
    ax1 = c1.selectbox("Horizontal axis", options, index=first_x, format_func=lambda j: labels[j], key=state.CLUSTERS_X)
    ax2 = c2.selectbox("Vertical axis", options, index=first_y, format_func=lambda j: labels[j], key=state.CLUSTERS_Y)
    pair = [ax1, ax2]

    overlays = []
    points = trained_points_or_warning(source, ax1, ax2, MAX_POINTS // 2)
    if len(points):
        overlays.append(("trained windows", points["x"], points["y"], MUTED))
    upload = last_upload_points(model, MAX_POINTS // 2)
    if upload is not None:
        overlays.append(("your upload", upload.normal[:, ax1], upload.normal[:, ax2], NORMAL))
        overlays.append(("your upload: anomalies", upload.anomalies[:, ax1], upload.anomalies[:, ax2], ANOMALY))

    covs = gmm.covariances[:, pair][:, :, pair]
    fig = fig_gmm_map(gmm.means[:, pair], covs, gmm.weights, (labels[ax1], labels[ax2]), overlays)
    show_chart(fig, width="stretch", key="gmm_map")

    if n_axes >= 3:
        _gmm_3d(gmm, labels)
        _gmm_parallel(gmm, labels)

    st.subheader("Component table")
    table = pd.DataFrame(gmm.means, columns=labels)
    table.insert(0, "component", range(model.n_components))
    table["weight"] = gmm.weights
    for j, label in enumerate(labels):
        table[f"sd {label}"] = np.sqrt(gmm.covariances[:, j, j])
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.4f") for c in table.columns if c != "component"},
    )
    st.caption(
        "Means and standard deviations in the axes' raw units (the block scores raw values). The Scoring page's "
        "`nearest_cluster` column is, for a GMM block, the most likely component of each window."
    )


@st.fragment
def _gmm_3d(gmm: GmmParameters, labels: list[str]) -> None:
    """The components as ellipsoids on three axes, on request (a fragment: its controls rerun only this)."""

    def figure(picks: list[int]) -> go.Figure:
        sub = gmm.covariances[:, picks][:, :, picks]
        return fig_gmm_3d(gmm.means[:, picks], sub, gmm.weights, (labels[picks[0]], labels[picks[1]], labels[picks[2]]))

    view_3d_on_request(labels, figure, "gmm_3d")


@st.fragment
def _gmm_parallel(gmm: GmmParameters, labels: list[str]) -> None:
    """Every axis as parallel coordinates of the component means, on request."""
    if draw_on_request("Draw every axis (parallel coordinates)", state.CLUSTERS_PARALLEL_SHOW):
        show_chart(fig_gmm_parallel(gmm.means, gmm.weights, labels), width="stretch", key="gmm_parallel")
