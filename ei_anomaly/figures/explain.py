"""One window explained: each axis's share of the squared distance to its nearest cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from .layout import apply_layout
from .style import ANOMALY, NORMAL
from .text import chart_label

if TYPE_CHECKING:
    from ..explanation import WindowExplanation

__all__ = ["add_window_marker", "fig_axis_shares"]

MAX_BARS = 30  # the largest shares; the rest are summed into one bar


def fig_axis_shares(explanation: WindowExplanation) -> go.Figure:
    """Horizontal bars, largest share on top; the largest in the anomaly colour."""
    ranked = sorted(explanation.axes, key=lambda a: a.share, reverse=True)
    shown, rest = ranked[:MAX_BARS], ranked[MAX_BARS:]
    names = [chart_label(a.label) for a in shown]
    shares = [a.share for a in shown]
    if rest:
        names.append(f"{len(rest)} other axes")
        shares.append(sum(a.share for a in rest))
    colors = [ANOMALY if i == 0 else NORMAL for i in range(len(names))]
    fig = go.Figure(
        go.Bar(
            x=shares,
            y=names,
            orientation="h",
            marker={"color": colors},
            text=[f"{s:.1%}" for s in shares],
            textposition="auto",
            hovertemplate="%{y}: %{x:.2%} of the squared distance<extra></extra>",
        )
    )
    where = f"Row {explanation.row}" if explanation.row is not None else "The window"
    apply_layout(
        fig,
        f"{where}: each axis's share of the squared distance to cluster {explanation.cluster}",
        height=max(220, 80 + 28 * len(names)),
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(tickformat=".0%", range=[0, 1], title="share of the squared scaled distance")
    fig.update_layout(showlegend=False)
    return fig


def add_window_marker(fig: go.Figure, x: float, y: float, name: str) -> go.Figure:
    """Mark one explained window on a map (the clusters map), large enough to find among the points."""
    fig.add_trace(
        go.Scatter(
            x=[x],
            y=[y],
            mode="markers",
            name=chart_label(name),
            marker={"color": ANOMALY, "size": 16, "symbol": "star", "line": {"color": "#111827", "width": 1.5}},
        )
    )
    return fig
