"""Two blocks side by side: their precision-recall curves on one labelled source, thresholds marked;
their alarms-per-device-per-day curves on one fleet log, each against its own threshold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .layout import apply_layout
from .style import MUTED, NORMAL, OKABE_ITO
from .text import chart_label

if TYPE_CHECKING:  # types only: drawing needs no numba
    from ..alarms import AlarmCurve

__all__ = ["COMPARE_COLORS", "fig_alarm_curves_compare", "fig_pr_compare"]

COMPARE_COLORS = (NORMAL, OKABE_ITO["orange"])  # block A, block B: apart for every colour vision


def fig_pr_compare(
    curves: Sequence[tuple[str, pd.DataFrame, tuple[float, float] | None, float]], source: str
) -> go.Figure:
    """One precision-recall curve per block: (name, curve from `pr_curve`, (precision, recall) at the
    block's own threshold, that threshold). `source` names the shared labelled windows."""
    fig = go.Figure()
    for i, (name, curve, current, threshold) in enumerate(curves):
        color = COMPARE_COLORS[i % len(COMPARE_COLORS)]
        label = chart_label(name)
        fig.add_trace(
            go.Scatter(
                x=curve["recall"],
                y=curve["precision"],
                mode="lines",
                line={"color": color, "shape": "hv", "width": 2},
                name=label,
                customdata=curve["threshold"],
                hovertemplate=f"{label}<br>threshold %{{customdata:.4g}}<br>recall %{{x:.3f}}<br>"
                "precision %{y:.3f}<extra></extra>",
            )
        )
        if current is not None:
            fig.add_trace(
                go.Scatter(
                    x=[current[1]],
                    y=[current[0]],
                    mode="markers+text",
                    name=f"{label}: its threshold {threshold:.4g}",
                    text=[f"{threshold:.4g}"],
                    textposition="bottom left",
                    textfont={"color": color},
                    marker={"color": color, "size": 13, "symbol": "diamond", "line": {"color": "white", "width": 2}},
                    hovertemplate=f"{label} at its threshold {threshold:.4g}<br>recall %{{x:.3f}}<br>"
                    "precision %{y:.3f}<extra></extra>",
                )
            )
    apply_layout(fig, f"Precision-recall on {chart_label(source)}", height=420)
    fig.update_xaxes(title="recall (anomalies caught)", range=[0, 1.02])
    fig.update_yaxes(title="precision (flags that are real)", range=[0, 1.05])
    return fig


def fig_alarm_curves_compare(
    curves: Sequence[tuple[str, AlarmCurve, float, float, float]], budget_per_day: float, log_name: str
) -> go.Figure:
    """Each block's fleet alarms per device per day against its own threshold (one panel each, as
    their scores are on different scales; one shared log-scale rate axis): (name, curve, its own
    threshold, its rate there, the budget's threshold). The budget is a dotted line across both."""
    fig = make_subplots(
        rows=1,
        cols=len(curves),
        shared_yaxes=True,
        horizontal_spacing=0.06,
        subplot_titles=[chart_label(c[0], 50) for c in curves],
    )
    for i, (name, curve, threshold, rate, budget_threshold) in enumerate(curves):
        color = COMPARE_COLORS[i % len(COMPARE_COLORS)]
        label = chart_label(name)
        col = i + 1
        y = np.where(curve.per_device_day > 0, curve.per_device_day, np.nan)
        fig.add_trace(
            go.Scatter(
                x=curve.thresholds,
                y=y,
                mode="lines",
                line={"color": color, "width": 2},
                name=label,
                hovertemplate=f"{label}<br>threshold %{{x:.4g}}<br>%{{y:.3g}} alarms per device per day<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.add_vline(x=threshold, line={"color": color, "dash": "dash"}, row=1, col=col)
        if rate > 0:
            fig.add_trace(
                go.Scatter(
                    x=[threshold],
                    y=[rate],
                    mode="markers",
                    name=f"{label}: its threshold {threshold:.4g}, {rate:.3g} per day",
                    marker={"color": color, "size": 11, "symbol": "diamond", "line": {"color": "white", "width": 1}},
                ),
                row=1,
                col=col,
            )
        if budget_per_day > 0:
            fig.add_trace(
                go.Scatter(
                    x=[budget_threshold],
                    y=[budget_per_day],
                    mode="markers",
                    name=f"{label}: budget threshold {budget_threshold:.4g}",
                    marker={"color": color, "size": 10, "symbol": "circle-open", "line": {"width": 2}},
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="threshold", row=1, col=col)
    if budget_per_day > 0:
        fig.add_hline(
            y=budget_per_day, line={"color": MUTED, "dash": "dot"}, annotation_text=f"budget {budget_per_day:.3g} / day"
        )
    apply_layout(fig, f"Alarms per device per day on {chart_label(log_name)}", height=400)
    fig.update_layout(legend={"orientation": "h", "y": -0.25, "x": 0})
    fig.update_yaxes(type="log", dtick=1, exponentformat="none")
    fig.update_yaxes(title_text="alarms per device per day", row=1, col=1)
    return fig
