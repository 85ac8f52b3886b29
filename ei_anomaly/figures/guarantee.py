"""The false-alarm guarantee: the upper bound of the false-alarm rate against the threshold, from
normal windows (the numbers are `ei_anomaly.review.GuaranteeSection`'s)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from .layout import apply_layout, value_line
from .style import ANOMALY, MUTED, NORMAL, THRESHOLD

__all__ = ["fig_false_alarm_bound"]


def fig_false_alarm_bound(
    thresholds: npt.NDArray[np.float64],
    observed: npt.NDArray[np.float64],
    upper: npt.NDArray[np.float64],
    fpr: float,
    confidence: float,
    guaranteed: float | None,
    current: float,
) -> go.Figure:
    """At each threshold (the normal scores of the upper tail): the share of normal windows above it
    and the upper bound of its false-alarm rate at `confidence`; the target rate, the guaranteed
    threshold (when one qualifies) and the current one marked."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=thresholds,
            y=observed,
            mode="lines",
            line={"color": MUTED, "width": 1.5, "shape": "hv"},
            name="share of normal windows above",
            hovertemplate="threshold %{x:.4g}<br>%{y:.3%} of normal windows above<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=thresholds,
            y=upper,
            mode="lines",
            line={"color": NORMAL, "width": 2, "shape": "hv"},
            name=f"false-alarm rate, upper bound ({confidence:.0%} confidence)",
            hovertemplate="threshold %{x:.4g}<br>false-alarm rate <= %{y:.3%}<extra></extra>",
        )
    )
    value_line(fig, y=fpr, line={"color": MUTED, "dash": "dot"}, text=f"target {fpr * 100:.3g}%")
    if guaranteed is not None:
        value_line(fig, x=guaranteed, line={"color": ANOMALY, "dash": "dash"}, text=f"guaranteed {guaranteed:.4g}")
    fig.add_shape(  # the current threshold, unlabelled (the x axis says it)
        type="line",
        x0=current,
        x1=current,
        xref="x",
        y0=0,
        y1=1,
        yref="y domain",
        line={"color": THRESHOLD, "dash": "dash"},
    )
    apply_layout(fig, "False-alarm rate against the threshold, from normal windows", height=360)
    top = float(np.nanmax(upper)) if len(upper) else 1.0
    fig.update_yaxes(title="false-alarm rate", tickformat=".1%", range=[0, min(1.0, max(3 * fpr, top) * 1.05)])
    fig.update_xaxes(title="threshold")
    return fig
