"""What every chart shares: the house layout, and how many points a chart may send."""

from __future__ import annotations

import plotly.graph_objects as go

from .style import FONT

MAX_POINTS = 50_000  # markers one chart sends to the browser, at most
# Up to this many markers a trace is SVG; above, WebGL. Measured in Chromium without a GPU
# (software WebGL, `bench/bench_browser.py`): a WebGL trace costs about 0.15 s per redraw whatever
# its size, plus 0.5-1 s whenever its context is made (each page view); an SVG marker about 30 us.
SVG_MAX_MARKERS = 5000


def scatter_trace(markers: int) -> type[go.Scatter] | type[go.Scattergl]:
    """The scatter trace type for this many markers: SVG below the point where WebGL pays."""
    return go.Scatter if markers <= SVG_MAX_MARKERS else go.Scattergl


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
