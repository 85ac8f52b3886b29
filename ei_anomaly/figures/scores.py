"""A scored file's score along the file: a min/max envelope and the flagged windows (the rows and
their x values are decided by `ei_anomaly.review.ScoringSection`)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from .layout import MAX_POINTS, apply_layout, scatter_trace, value_line
from .style import ANOMALY, ANOMALY_SYMBOL, MUTED, THRESHOLD
from .text import chart_label


def fig_score_timeline(
    envelope: tuple[npt.NDArray[np.generic], npt.NDArray[np.floating]],
    flagged: tuple[npt.NDArray[np.generic], npt.NDArray[np.floating]],
    flagged_total: int,
    threshold: float,
    x_title: str,
) -> go.Figure:
    """Score along the file: the min/max envelope per pixel column as a line, and the flagged
    windows as markers (at most a few thousand; `timeline_note` says how many of how many).
    Each is (x, score); x is the row or the time column's cell (`ScoredFile.x_values`)."""
    (ex, ey), (fx, fy) = envelope, flagged
    if len(ex) > MAX_POINTS or len(fx) > MAX_POINTS:
        raise ValueError(f"{max(len(ex), len(fx))} points: reduce to at most {MAX_POINTS} first")
    fig = go.Figure()
    # The envelope is one SVG path whatever its length; markers are one SVG element each.
    fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", name="score", line={"color": MUTED, "width": 1}))
    size = 6 if len(fx) <= 1000 else 5
    # The name stays the same at every threshold (how many are drawn is said below the chart): a
    # legend that changes width makes Plotly lay the chart out twice per slider step.
    marked = f"{len(fx):,} of {flagged_total:,} marked" if len(fx) < flagged_total else ""
    fig.add_trace(
        scatter_trace(len(fx))(
            x=fx,
            y=fy,
            mode="markers",
            name="anomaly",
            marker={"color": ANOMALY, "size": size, "symbol": ANOMALY_SYMBOL},
            hovertemplate=f"%{{x}}<br>score %{{y:.3f}}<extra>{marked}</extra>",
        )
    )
    value_line(fig, y=threshold, line={"color": THRESHOLD, "dash": "dash"}, text=f"threshold {threshold:g}")
    apply_layout(fig, "Score along the file", height=360)
    fig.update_layout(legend={"y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"})  # clear of the x title
    # Fixed margins, as wide as Plotly's own fit gave (the legend beside the title, the tick labels
    # and the x title below): with margins that may grow to fit them, Plotly lays the whole chart
    # out a second time on every update (every slider step).
    fig.update_layout(margin={"l": 70, "b": 85, "autoexpand": False})
    fig.update_xaxes(title=chart_label(x_title))
    fig.update_yaxes(title="anomaly score")
    return fig
