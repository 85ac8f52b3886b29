"""How the model does: confusion matrices, scores per label, the score histogram, precision-recall."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..score_views import ScoreHistogram
from .layout import apply_layout, value_line
from .style import ANOMALY, ANOMALY_PATTERN, ANOMALY_SYMBOL, MUTED, NORMAL, NORMAL_SYMBOL, THRESHOLD, label_color
from .text import chart_label


def fig_confusion_matrix(matrix: Sequence[Sequence[float]], labels: Sequence[str], title: str) -> go.Figure:
    """Annotated heatmap: counts and row percentages; rows are the actual class."""
    m = np.asarray(matrix, float)
    if m.shape != (len(labels), len(labels)):
        raise ValueError(f"confusion matrix is {m.shape} but there are {len(labels)} labels")
    rows = m.sum(axis=1, keepdims=True)
    pct = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0) * 100
    fig = go.Figure(
        go.Heatmap(
            z=pct,
            x=[chart_label(label) for label in labels],
            y=[chart_label(label) for label in labels],
            text=m.astype(int),
            texttemplate="%{text}<br>%{z:.0f}%",
            colorscale="Blues",
            zmin=0,
            zmax=100,
            colorbar={"title": "row %"},
            hovertemplate="actual %{y}<br>predicted %{x}<br>%{text}<br>%{z:.0f}%<extra></extra>",
        )
    )
    apply_layout(fig, chart_label(title), height=380)
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
                name=chart_label(label),
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker={
                    "color": label_color(str(label), anomalous, i),
                    "size": 5 if anomalous else 4,
                    "symbol": ANOMALY_SYMBOL if anomalous else NORMAL_SYMBOL,
                },
                line={"width": 1.5},
                orientation="h",
            )
        )
    if threshold is not None:
        value_line(fig, x=threshold, line={"color": THRESHOLD, "dash": "dash"}, text=f"threshold {threshold:g}")
    apply_layout(fig, "Anomaly score per label", height=120 + 45 * max(1, frame["label"].nunique()))
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
        normal, anomaly = {"color": NORMAL}, {"color": ANOMALY, "pattern": ANOMALY_PATTERN}  # hatched: not colour alone
        for name, mask, marker in (("normal", ~above, normal), ("anomaly", above, anomaly)):
            fig.add_trace(
                go.Bar(
                    x=mids[mask],
                    y=hist.counts[mask],
                    width=widths[mask],
                    name=name,
                    marker=marker,
                    hovertemplate="score %{x:.3f}<br>%{y} rows<extra></extra>",
                )
            )
    if suggested is not None:
        value_line(fig, x=suggested, line={"color": MUTED, "dash": "dot"}, text=f"suggested {suggested:g}", top=False)
    value_line(fig, x=threshold, line={"color": THRESHOLD, "dash": "dash"}, text=f"threshold {threshold:g}")
    apply_layout(fig, title, height=360)
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
    apply_layout(fig, "Precision-recall over all thresholds", height=360)
    fig.update_xaxes(title="recall (anomalies caught)", range=[0, 1.02])
    fig.update_yaxes(title="precision (flags that are real)", range=[0, 1.05])
    return fig
