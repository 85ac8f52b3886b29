"""Where the clusters sit: a map on two axes, a 3-D view, every axis as parallel coordinates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from .layout import apply_layout, scatter_trace
from .style import CLUSTER, symbol_for
from .text import chart_label
from .thin import MAP_CELLS, extent, one_per_cell


def _outline(cx: float, cy: float, rx: float, ry: float, n: int = 48) -> tuple[list[float | None], list[float | None]]:
    t = np.linspace(0, 2 * np.pi, n)
    return [*(cx + rx * np.cos(t)), None], [*(cy + ry * np.sin(t)), None]


def fig_cluster_map(
    centers: npt.NDArray[np.floating],
    radii: npt.NDArray[np.floating],
    axis_titles: tuple[str, str],
    overlays: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike, str]] = (),
    stretch: tuple[float, float] = (1.0, 1.0),
) -> go.Figure:
    """Clusters on two axes: each a circle of radius maxError around its center.

    `centers` is (K, 2) in the plotted units; `stretch` turns the circles into ellipses when the
    axes are in original units (radius * scale per axis). Overlays are (name, x, y, colour); of
    their points, one per marker-sized cell of the map is drawn (`thin.one_per_cell`).
    """
    if centers.ndim != 2 or centers.shape[1] != 2 or len(centers) != len(radii):
        raise ValueError("centers must be (K, 2) and match radii")
    fig = go.Figure()
    x_range = extent(centers[:, 0], *(o[1] for o in overlays))
    y_range = extent(centers[:, 1], *(o[2] for o in overlays))
    drawn = []
    for name, x, y, color in overlays:
        keep = one_per_cell(x, y, MAP_CELLS, x_range, y_range)
        drawn.append((name, np.asarray(x)[keep], np.asarray(y)[keep], color))
    trace = scatter_trace(sum(len(d[1]) for d in drawn))
    for name, x, y, color in drawn:
        fig.add_trace(
            trace(
                x=x,
                y=y,
                mode="markers",
                name=name,
                marker={"size": 5, "color": color, "opacity": 0.55, "symbol": symbol_for(color)},
            )
        )
    xs: list[float | None] = []
    ys: list[float | None] = []
    for (cx, cy), r in zip(centers, radii, strict=True):
        ox, oy = _outline(cx, cy, r * stretch[0], r * stretch[1])
        xs += ox
        ys += oy
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name="cluster edge (score 0)",
            line={"color": CLUSTER, "width": 1.5},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=centers[:, 0],
            y=centers[:, 1],
            mode="markers",
            name="cluster center",
            marker={"symbol": "x", "size": 8, "color": CLUSTER},
            customdata=np.column_stack([np.arange(len(radii)), radii]),
            hovertemplate="cluster %{customdata[0]}<br>maxError %{customdata[1]:.3f}<extra></extra>",
        )
    )
    apply_layout(fig, "Clusters: score 0 on the circle, negative inside", height=560)
    fig.update_xaxes(title=chart_label(axis_titles[0]), zeroline=False)
    fig.update_yaxes(title=chart_label(axis_titles[1]), zeroline=False, scaleanchor="x", scaleratio=1)
    return fig


def _sphere(
    cx: float, cy: float, cz: float, r: float, n: int = 14
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, n), np.linspace(0, np.pi, n))
    return cx + r * np.cos(u) * np.sin(v), cy + r * np.sin(u) * np.sin(v), cz + r * np.cos(v)


def fig_cluster_3d(
    centers: npt.NDArray[np.floating],
    radii: npt.NDArray[np.floating],
    axis_titles: tuple[str, str, str],
    overlays: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike, str]] = (),
) -> go.Figure:
    """Clusters on three axes as spheres of radius maxError (scaled space)."""
    fig = go.Figure()
    for k, ((cx, cy, cz), r) in enumerate(zip(centers, radii, strict=True)):
        x, y, z = _sphere(cx, cy, cz, r)
        fig.add_trace(
            go.Surface(
                x=x,
                y=y,
                z=z,
                opacity=0.28,
                showscale=False,
                colorscale=[[0, CLUSTER], [1, CLUSTER]],
                name=f"cluster {k}",
                hovertemplate=f"cluster {k}<br>maxError {r:.3f}<extra></extra>",
                showlegend=False,
            )
        )
    return finish_3d(fig, "Clusters in 3-D (scaled space)", axis_titles, overlays)


def finish_3d(
    fig: go.Figure,
    title: str,
    axis_titles: tuple[str, str, str],
    overlays: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike, str]] = (),
) -> go.Figure:
    """The points drawn over a 3-D view of clusters or components, its axes and its layout."""
    for name, px, py, pz, color in overlays:
        fig.add_trace(
            go.Scatter3d(
                x=px,
                y=py,
                z=pz,
                mode="markers",
                name=name,
                marker={"size": 2.5, "color": color, "opacity": 0.6, "symbol": symbol_for(color, three_d=True)},
            )
        )
    apply_layout(fig, title, height=600)
    fig.update_layout(
        scene={
            "xaxis_title": chart_label(axis_titles[0]),
            "yaxis_title": chart_label(axis_titles[1]),
            "zaxis_title": chart_label(axis_titles[2]),
            "aspectmode": "data",
        }
    )
    return fig


def fig_parallel_centers(
    centers: npt.NDArray[np.floating], radii: npt.NDArray[np.floating], labels: Sequence[str]
) -> go.Figure:
    """Every axis at once: one line per cluster center, coloured by maxError."""
    return fig_parallel(centers, labels, radii, "maxError", "Cluster centers on every axis (scaled space)")


def fig_parallel(
    rows: npt.NDArray[np.floating],
    labels: Sequence[str],
    colour: npt.NDArray[np.floating],
    colour_label: str,
    title: str,
) -> go.Figure:
    """Parallel coordinates: one line per row on every axis, plus `colour` as the last axis and the line colour."""
    dims = [{"label": chart_label(lab), "values": rows[:, j]} for j, lab in enumerate(labels)]
    dims.append({"label": colour_label, "values": colour})
    fig = go.Figure(go.Parcoords(dimensions=dims, line={"color": colour, "colorscale": "Teal", "showscale": True}))
    apply_layout(fig, title, height=480)
    fig.update_layout(margin={"t": 100, "l": 70, "r": 40})  # room for the axis names above the lines
    return fig
