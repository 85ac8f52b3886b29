"""A scored file's score along the file: a min/max envelope and the flagged windows."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from ..score_views import FlaggedPoints
from ..scored_file import ScoredFile
from .layout import MAX_POINTS, apply_layout, scatter_trace, value_line
from .style import ANOMALY, MUTED, THRESHOLD
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
            marker={"color": ANOMALY, "size": size},
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
        chart_label(scored.time_column or "row"),
    )


def timeline_note(scored: ScoredFile, flagged: FlaggedPoints) -> str:
    """What that chart leaves out, in words ("" when it draws every row and every anomaly)."""
    notes = []
    if scored.envelope.reduced:
        notes.append(f"all {scored.n_rows:,} rows are drawn as the lowest and highest score of each pixel column")
    if flagged.per_cell:
        notes.append(
            f"{len(flagged.rows):,} of the {flagged.total:,} anomalies are marked: the highest in each "
            "marker-sized patch of the chart, so every patch that holds an anomaly shows one"
        )
    elif flagged.capped:
        notes.append(f"{len(flagged.rows):,} of the {flagged.total:,} anomalies are marked, spread evenly")
    return "; ".join(notes)
