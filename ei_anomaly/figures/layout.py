"""What every chart shares: the house layout, and how many points a chart may send."""

from __future__ import annotations

import functools

import plotly.graph_objects as go
import plotly.io as pio

from .style import FONT

MAX_POINTS = 50_000  # markers one chart sends to the browser, at most
# Up to this many markers a trace is SVG; above, WebGL. Measured in Chromium without a GPU
# (software WebGL, `bench/bench_browser.py`): a WebGL trace costs about 0.15 s per redraw whatever
# its size, plus 0.5-1 s whenever its context is made (each page view); an SVG marker about 30 us.
SVG_MAX_MARKERS = 5000


def scatter_trace(markers: int) -> type[go.Scatter] | type[go.Scattergl]:
    """The scatter trace type for this many markers: SVG below the point where WebGL pays."""
    trace: type[go.Scatter] | type[go.Scattergl] = go.Scatter if markers <= SVG_MAX_MARKERS else go.Scattergl
    return trace


@functools.cache
def _template() -> go.layout.Template:
    """plotly_white, resolved once: by name, Plotly builds it anew for every figure (2.5x slower)."""
    return pio.templates["plotly_white"]


def apply_layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        font={"family": FONT, "size": 13},
        template=_template(),
        height=height,
        hoverlabel={"font": {"family": FONT}},
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
    )
    return fig


def value_line(
    fig: go.Figure, *, x: float | None = None, y: float | None = None, line: dict[str, str], text: str, top: bool = True
) -> go.Figure:
    """A dashed line across the plot at `x` (vertical) or `y` (horizontal), labelled `text` at its
    top right (or bottom right): what `add_vline`/`add_hline` draw, at a fraction of their cost
    (they took about 0.1 s of the server's 0.3 s per slider step, in Plotly's shape machinery)."""
    if (x is None) == (y is None):
        raise ValueError("give x or y")
    if x is not None:
        shape = {"type": "line", "x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain"}
        label = {"x": x, "xanchor": "left", "xref": "x", "y": 1 if top else 0, "yref": "y domain"}
        label["yanchor"] = "top" if top else "bottom"
    else:
        shape = {"type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": y, "y1": y, "yref": "y"}
        label = {"x": 1, "xanchor": "right", "xref": "x domain", "y": y, "yanchor": "bottom", "yref": "y"}
    fig.add_shape(line=line, **shape)
    fig.add_annotation(text=text, showarrow=False, **label)
    return fig
