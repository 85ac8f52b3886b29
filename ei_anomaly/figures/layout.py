"""What every chart shares: the house layout, and how many points a chart may send."""

from __future__ import annotations

import plotly.graph_objects as go

from .style import FONT

MAX_POINTS = 50_000  # markers one chart sends to the browser, at most


def apply_layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
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
