"""Pure Plotly figure builders: data in, `go.Figure` out. No Streamlit, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ei_anomaly.score_views import FlaggedPoints, ScoreHistogram
from ei_anomaly.scored_file import ScoredFile

from .style import ANOMALY, CLUSTER, ENGINE_COLORS, FONT, MUTED, NORMAL, THRESHOLD, label_color
from .text import plotly_escape

MAX_POINTS = 50_000


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        font={"family": FONT, "size": 13},
        template="plotly_white",
        height=height,
        hoverlabel={"font": {"family": FONT}},
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
    )
    return fig


def _outline(cx: float, cy: float, rx: float, ry: float, n: int = 48) -> tuple[list[float], list[float]]:
    t = np.linspace(0, 2 * np.pi, n)
    return [*(cx + rx * np.cos(t)), None], [*(cy + ry * np.sin(t)), None]


def fig_cluster_map(
    centers: np.ndarray,
    radii: np.ndarray,
    axis_titles: tuple[str, str],
    overlays: Sequence[tuple[str, np.ndarray, np.ndarray, str]] = (),
    stretch: tuple[float, float] = (1.0, 1.0),
) -> go.Figure:
    """Clusters on two axes: each a circle of radius maxError around its center.

    `centers` is (K, 2) in the plotted units; `stretch` turns the circles into ellipses when the
    axes are in original units (radius * scale per axis). Overlays are (name, x, y, colour).
    """
    if centers.ndim != 2 or centers.shape[1] != 2 or len(centers) != len(radii):
        raise ValueError("centers must be (K, 2) and match radii")
    fig = go.Figure()
    for name, x, y, color in overlays:
        fig.add_trace(
            go.Scattergl(x=x, y=y, mode="markers", name=name, marker={"size": 5, "color": color, "opacity": 0.55})
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
            text=[f"cluster {k}<br>maxError {r:.3f}" for k, r in enumerate(radii)],
            hoverinfo="text",
        )
    )
    _layout(fig, "Clusters: score 0 on the circle, negative inside", height=560)
    fig.update_xaxes(title=plotly_escape(axis_titles[0]), zeroline=False)
    fig.update_yaxes(title=plotly_escape(axis_titles[1]), zeroline=False, scaleanchor="x", scaleratio=1)
    return fig


def _sphere(cx: float, cy: float, cz: float, r: float, n: int = 14) -> tuple[np.ndarray, ...]:
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, n), np.linspace(0, np.pi, n))
    return cx + r * np.cos(u) * np.sin(v), cy + r * np.sin(u) * np.sin(v), cz + r * np.cos(v)


def fig_cluster_3d(
    centers: np.ndarray,
    radii: np.ndarray,
    axis_titles: tuple[str, str, str],
    overlays: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, str]] = (),
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
    for name, x, y, z, color in overlays:
        fig.add_trace(
            go.Scatter3d(x=x, y=y, z=z, mode="markers", name=name, marker={"size": 2.5, "color": color, "opacity": 0.6})
        )
    _layout(fig, "Clusters in 3-D (scaled space)", height=600)
    fig.update_layout(
        scene={
            "xaxis_title": plotly_escape(axis_titles[0]),
            "yaxis_title": plotly_escape(axis_titles[1]),
            "zaxis_title": plotly_escape(axis_titles[2]),
            "aspectmode": "data",
        }
    )
    return fig


def fig_parallel_centers(centers: np.ndarray, radii: np.ndarray, labels: Sequence[str]) -> go.Figure:
    """Every axis at once: one line per cluster center, coloured by maxError."""
    dims = [{"label": plotly_escape(lab), "values": centers[:, j]} for j, lab in enumerate(labels)]
    dims.append({"label": "maxError", "values": radii})
    fig = go.Figure(go.Parcoords(dimensions=dims, line={"color": radii, "colorscale": "Teal", "showscale": True}))
    _layout(fig, "Cluster centers on every axis (scaled space)", height=480)
    fig.update_layout(margin={"t": 100, "l": 70, "r": 40})  # room for the axis names above the lines
    return fig


def fig_confusion_matrix(matrix: Sequence[Sequence[float]], labels: Sequence[str], title: str) -> go.Figure:
    """Annotated heatmap: counts and row percentages; rows are the actual class."""
    m = np.asarray(matrix, float)
    if m.shape != (len(labels), len(labels)):
        raise ValueError(f"confusion matrix is {m.shape} but there are {len(labels)} labels")
    rows = m.sum(axis=1, keepdims=True)
    pct = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0) * 100
    text = [[f"{int(c)}<br>{p:.0f}%" for c, p in zip(rc, rp, strict=True)] for rc, rp in zip(m, pct, strict=True)]
    fig = go.Figure(
        go.Heatmap(
            z=pct,
            x=[plotly_escape(label) for label in labels],
            y=[plotly_escape(label) for label in labels],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=100,
            colorbar={"title": "row %"},
            hovertemplate="actual %{y}<br>predicted %{x}<br>%{text}<extra></extra>",
        )
    )
    _layout(fig, plotly_escape(title), height=380)
    fig.update_xaxes(title="predicted", side="bottom")
    fig.update_yaxes(title="actual", autorange="reversed")
    return fig


def fig_scores_by_label(frame: pd.DataFrame, threshold: float | None) -> go.Figure:
    """Score distribution per label (box + every point), anomalous labels in the anomaly colour."""
    fig = go.Figure()
    for i, (label, group) in enumerate(frame.groupby("label", sort=True)):
        anomalous = bool(group["labelled anomaly"].iloc[0])
        fig.add_trace(
            go.Box(
                x=group["anomaly score"],
                name=plotly_escape(label),
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker={"color": label_color(str(label), anomalous, i), "size": 4},
                line={"width": 1.5},
                orientation="h",
            )
        )
    if threshold is not None:
        fig.add_vline(
            x=threshold, line={"color": THRESHOLD, "dash": "dash"}, annotation_text=f"threshold {threshold:g}"
        )
    _layout(fig, "Anomaly score per label", height=120 + 45 * max(1, frame["label"].nunique()))
    fig.update_layout(showlegend=False)
    fig.update_xaxes(title="anomaly score (distance from the nearest cluster edge)")
    return fig


def fig_score_histogram(
    hist: ScoreHistogram, threshold: float, title: str = "Score distribution", suggested: float | None = None
) -> go.Figure:
    """Binned scores (counted on the server), bins above the threshold in the anomaly colour.

    The block's suggested threshold, if given, is a dotted line.
    """
    fig = go.Figure()
    if hist.total:
        mids = (hist.edges[:-1] + hist.edges[1:]) / 2
        widths = np.diff(hist.edges)
        above = mids > threshold
        for name, mask, color in (("normal", ~above, NORMAL), ("anomaly", above, ANOMALY)):
            fig.add_trace(
                go.Bar(
                    x=mids[mask],
                    y=hist.counts[mask],
                    width=widths[mask],
                    name=name,
                    marker={"color": color},
                    hovertemplate="score %{x:.3f}<br>%{y} rows<extra></extra>",
                )
            )
    if suggested is not None:
        fig.add_vline(
            x=suggested,
            line={"color": MUTED, "dash": "dot"},
            annotation_text=f"suggested {suggested:g}",
            annotation_position="bottom right",
        )
    fig.add_vline(x=threshold, line={"color": THRESHOLD, "dash": "dash"}, annotation_text=f"threshold {threshold:g}")
    _layout(fig, title, height=360)
    fig.update_layout(bargap=0.02, barmode="overlay")
    fig.update_xaxes(title="anomaly score")
    counts = hist.counts[hist.counts > 0]
    # A long tail of many rows (a 2% anomaly tail of a million windows) vanishes on a linear axis.
    if hist.total > 10_000 and counts.max() > 50 * counts.min():
        fig.update_yaxes(title="rows (log scale)", type="log")
    else:
        fig.update_yaxes(title="rows")
    return fig


def fig_pr_curve(curve: pd.DataFrame, current: tuple[float, float] | None) -> go.Figure:
    """Precision against recall over every threshold; the current threshold marked."""
    fig = go.Figure(
        go.Scatter(
            x=curve["recall"],
            y=curve["precision"],
            mode="lines",
            line={"color": NORMAL, "shape": "hv"},
            name="all thresholds",
            customdata=curve["threshold"],
            hovertemplate="threshold %{customdata:.3f}<br>recall %{x:.2f}<br>precision %{y:.2f}<extra></extra>",
        )
    )
    if current is not None:
        fig.add_trace(
            go.Scatter(
                x=[current[1]],
                y=[current[0]],
                mode="markers",
                name="current threshold",
                marker={"color": ANOMALY, "size": 13, "line": {"color": "white", "width": 2}},
            )
        )
    _layout(fig, "Precision-recall over all thresholds", height=360)
    fig.update_xaxes(title="recall (anomalies caught)", range=[0, 1.02])
    fig.update_yaxes(title="precision (flags that are real)", range=[0, 1.05])
    return fig


def fig_score_timeline(
    envelope: tuple[np.ndarray, np.ndarray],
    flagged: tuple[np.ndarray, np.ndarray],
    flagged_total: int,
    threshold: float,
    x_title: str,
) -> go.Figure:
    """Score along the file: the min/max envelope per pixel column as a line, and the flagged
    windows as markers (at most a few thousand; the legend says how many of how many)."""
    (ex, ey), (fx, fy) = envelope, flagged
    if len(ex) > MAX_POINTS or len(fx) > MAX_POINTS:
        raise ValueError(f"{max(len(ex), len(fx))} points: reduce to at most {MAX_POINTS} first")
    shown = f"anomaly ({len(fx):,} of {flagged_total:,} shown)" if len(fx) < flagged_total else "anomaly"
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=ex, y=ey, mode="lines", name="score", line={"color": MUTED, "width": 1}))
    size = 6 if len(fx) <= 1000 else 4
    fig.add_trace(go.Scattergl(x=fx, y=fy, mode="markers", name=shown, marker={"color": ANOMALY, "size": size}))
    fig.add_hline(y=threshold, line={"color": THRESHOLD, "dash": "dash"}, annotation_text=f"threshold {threshold:g}")
    _layout(fig, "Score along the file", height=360)
    fig.update_layout(legend={"y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"})  # clear of the x title
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title="anomaly score")
    return fig


def fig_scored_file_timeline(scored: ScoredFile, flagged: FlaggedPoints, threshold: float) -> go.Figure:
    """A scored file's score along the file (the Scoring page and the report): its min/max envelope
    and its flagged windows, against the time column when it has one, else the row."""
    envelope = scored.envelope
    return fig_score_timeline(
        (scored.x_values(envelope.rows), envelope.scores),
        (scored.x_values(flagged.rows), flagged.scores),
        flagged.total,
        threshold,
        plotly_escape(scored.time_column or "row"),
    )


def timeline_note(scored: ScoredFile, flagged: FlaggedPoints) -> str:
    """What that chart leaves out, in words ("" when it draws every row and every anomaly)."""
    notes = []
    if scored.envelope.reduced:
        notes.append(f"all {scored.n_rows:,} rows are drawn as the lowest and highest score of each pixel column")
    if flagged.capped:
        notes.append(f"{len(flagged.rows):,} of the {flagged.total:,} anomalies are marked, spread evenly")
    return "; ".join(notes)


def _device_ticks(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    devices = list(dict.fromkeys(frame["device"]))
    default = set(frame.loc[frame["default"], "device"])
    return devices, [f"<b>★ {plotly_escape(d)}</b>" if d in default else plotly_escape(d) for d in devices]


def fig_on_device(frame: pd.DataFrame, metric: str, unit: str) -> go.Figure:
    """Horizontal grouped bars per MCU and engine; the default MCU's name is bold and starred."""
    devices, ticks = _device_ticks(frame)
    fig = go.Figure()
    for engine, group in frame.groupby("engine", sort=False):
        values = group.set_index("device")[metric].reindex(devices)
        fig.add_trace(
            go.Bar(
                y=ticks,
                x=values,
                name=engine,
                orientation="h",
                marker={"color": ENGINE_COLORS.get(engine, MUTED)},
                hovertemplate=f"%{{y}}<br>{engine}: %{{x:.1f}} {unit}<extra></extra>",
            )
        )
    _layout(
        fig, f"{metric.split(' (')[0].replace('ROM', 'Flash')} per MCU ({unit})", height=120 + 22 * len(devices) * 3
    )
    fig.update_layout(barmode="group", bargroupgap=0.1)
    fig.update_xaxes(title=f"{metric.split(' (')[0].replace('ROM', 'flash')} ({unit})")
    fig.update_yaxes(autorange="reversed")
    return fig


def fig_latency(frame: pd.DataFrame) -> go.Figure:
    """Latency per MCU (one value per MCU: the engines share the same inference time)."""
    per_mcu = frame.drop_duplicates("device")
    _, ticks = _device_ticks(per_mcu)
    colors = [NORMAL if d else MUTED for d in per_mcu["default"]]
    text = [
        "not profiled" if e else f"{v:.0f} ms"
        for v, e in zip(per_mcu["latency (ms)"], per_mcu["profiling error"], strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            y=ticks,
            x=per_mcu["latency (ms)"].fillna(0),
            orientation="h",
            marker={"color": colors},
            text=text,
            textposition="outside",
            hovertemplate="%{y}<br>%{x:.0f} ms<extra></extra>",
        )
    )
    _layout(fig, "Latency per MCU (ms)", height=120 + 40 * len(per_mcu))
    fig.update_xaxes(title="latency (ms)")
    fig.update_yaxes(autorange="reversed")
    return fig
