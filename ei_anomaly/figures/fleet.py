"""A fleet under an alarm policy: the device-by-time grid of anomaly rates, the alarms-per-day
curve against the threshold, and one device's scores, smoothed answer and alarms along time."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from .layout import apply_layout, value_line
from .style import ANOMALY, MUTED, NORMAL, THRESHOLD
from .text import chart_label

if TYPE_CHECKING:  # types only: drawing needs no numba
    from ..alarms import AlarmCurve, DeviceTrace
    from ..alarms.views import RateGrid

__all__ = ["TRACE_POINTS", "fig_alarm_curve", "fig_device_trace", "fig_rate_grid"]

# Score points of one device's chart, at most: the lowest and highest score of each of 1,000
# stretches, about one per pixel column of the chart at full width (a longer path only costs the
# browser more to send, parse and draw on every policy change; the envelope looks the same).
TRACE_POINTS = 2_000


def _time_axis(seconds: npt.NDArray[np.float64], epoch: bool) -> npt.NDArray[np.float64]:
    """Epoch seconds as epoch milliseconds (drawn on a date axis: `_date_axis`; numbers spare the
    browser parsing a date string per point on every redraw); stride times as hours since the
    device's first window."""
    return np.asarray(seconds * 1000.0 if epoch else seconds / 3600.0, np.float64)


def _date_axis(fig: go.Figure, epoch: bool) -> None:
    if epoch:
        fig.update_xaxes(type="date")


def fig_rate_grid(grid: RateGrid) -> go.Figure:
    """Devices (worst first, top) by time bins: the share of anomalous windows in each."""
    x = _time_axis(grid.bin_starts, grid.epoch_times)
    names = [chart_label(d) for d in grid.devices]
    unit = "hour" if grid.bin_s <= 3600 else ("day" if grid.bin_s <= 86_400 else f"{grid.bin_s / 3600:g} h")
    fig = go.Figure(
        go.Heatmap(
            z=grid.rates,
            x=x,
            y=names,
            zmin=0,
            zmax=max(0.05, float(np.nanmax(grid.rates)) if np.isfinite(grid.rates).any() else 0.05),
            colorscale=[[0, "#f8fafc"], [0.15, "#f5c8a6"], [1, ANOMALY]],
            colorbar={"title": {"text": "anomalous"}, "tickformat": ".0%"},
            hovertemplate="%{y}<br>%{x}<br>%{z:.1%} of windows anomalous<extra></extra>",
        )
    )
    height = min(900, max(320, 60 + 14 * len(names)))
    which = f"the {len(names)} worst of {grid.of_devices} devices" if len(names) < grid.of_devices else "device"
    apply_layout(fig, f"Anomalous windows per {which} and {unit}", height=height)
    fig.update_yaxes(autorange="reversed", type="category", tickfont={"size": 10} if len(names) > 40 else None)
    if len(names) <= 60:  # every device named (Plotly would skip every other label)
        fig.update_yaxes(tickmode="array", tickvals=names, ticktext=names)
    fig.update_xaxes(title="time" if grid.epoch_times else "hours since each device's first window")
    _date_axis(fig, grid.epoch_times)
    return fig


def fig_alarm_curve(
    plain: AlarmCurve,
    smoothed: AlarmCurve | None,
    threshold: float,
    current_rate: float,
    smoothing_label: str,
    budget: float | None = None,
    upper: AlarmCurve | None = None,
) -> go.Figure:
    """Alarms per device per day against the threshold, with and without smoothing (log scale; a
    rate of 0 has no place on it, so the curves end there), the current policy marked; with
    `upper`, the policy's upper bound (the 95 % interval's upper end from a bootstrap over devices)."""

    def positive(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.where(values > 0, values, np.nan)

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=plain.thresholds,
            y=positive(plain.per_device_day),
            mode="lines",
            name="no smoothing (score > threshold)",
            line={"color": MUTED if smoothed is not None else NORMAL, "width": 2},
            hovertemplate="threshold %{x:.3f}<br>%{y:.3g} alarms per device per day<extra></extra>",
        )
    )
    if smoothed is not None:
        fig.add_trace(
            go.Scatter(
                x=smoothed.thresholds,
                y=positive(smoothed.per_device_day),
                mode="lines",
                name=chart_label(f"smoothing {smoothing_label}"),
                line={"color": NORMAL, "width": 2},
                hovertemplate="threshold %{x:.3f}<br>%{y:.3g} alarms per device per day<extra></extra>",
            )
        )
    if upper is not None:
        fig.add_trace(
            go.Scatter(
                x=upper.thresholds,
                y=positive(upper.per_device_day),
                mode="lines",
                name="upper bound (95% interval)",
                line={"color": NORMAL, "width": 1.5, "dash": "dash"},
                hovertemplate="threshold %{x:.3f}<br>at most %{y:.3g} alarms per device per day<extra></extra>",
            )
        )
    if budget is not None and budget > 0:
        value_line(fig, y=budget, line={"color": MUTED, "dash": "dot"}, text=f"budget {budget:g} / day")
    fig.add_shape(  # the threshold, unlabelled (the x axis says it): what add_vline draws, cheaper
        type="line",
        x0=threshold,
        x1=threshold,
        xref="x",
        y0=0,
        y1=1,
        yref="y domain",
        line={"color": THRESHOLD, "dash": "dash"},
    )
    if current_rate > 0:
        fig.add_trace(
            go.Scatter(
                x=[threshold],
                y=[current_rate],
                mode="markers",
                name=f"this policy: {current_rate:.3g} per day",
                marker={"color": ANOMALY, "size": 11, "symbol": "diamond"},
            )
        )
    apply_layout(fig, "Alarms per device per day against the threshold", height=380)
    fig.update_layout(legend={"y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"})
    fig.update_xaxes(title="threshold")
    fig.update_yaxes(title="alarms per device per day", type="log", dtick=1, exponentformat="none")
    return fig


def fig_device_trace(trace: DeviceTrace, threshold: float, epoch: bool) -> go.Figure:
    """One device: its scores in time order, where the (smoothed) answer is anomaly (a band), its
    alarms. SVG only: a WebGL chart costs a browser without a GPU far more than a few thousand points."""
    n = len(trace.scores)
    keep = np.arange(n)
    if n > TRACE_POINTS:  # the lowest and highest score of each stretch, plus every alarm
        edges = np.linspace(0, n, TRACE_POINTS // 2 + 1).astype(np.int64)
        filled = np.nan_to_num(trace.scores, nan=np.inf)
        lows = [a + int(np.argmin(filled[a:b])) for a, b in itertools.pairwise(edges) if b > a]
        highs = [
            a + int(np.argmax(np.nan_to_num(trace.scores[a:b], nan=-np.inf)))
            for a, b in itertools.pairwise(edges)
            if b > a
        ]
        keep = np.union1d(np.union1d(lows, highs), np.flatnonzero(trace.alarm))
    x = _time_axis(trace.times, epoch)
    fig = go.Figure()
    answer = trace.answer_anomaly.astype(np.int8)
    change = np.flatnonzero(np.diff(answer)) + 1  # the band needs only the windows where the answer changes
    corners = np.unique(np.concatenate([[0, n - 1], change - 1, change])) if n else np.zeros(0, np.int64)
    fig.add_trace(
        go.Scatter(
            x=x[corners],
            y=answer[corners],
            mode="lines",
            line={"width": 0, "shape": "hv"},
            fill="tozeroy",
            fillcolor="rgba(213, 94, 0, 0.15)",  # ANOMALY, faint
            name="answer: anomaly",
            yaxis="y2",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x[keep],
            y=trace.scores[keep],
            mode="lines",
            name="score",
            line={"color": MUTED, "width": 1},
            customdata=trace.rows[keep],
            hovertemplate="row %{customdata}<br>score %{y:.4f}<extra></extra>",
        )
    )
    alarms = np.flatnonzero(trace.alarm)
    fig.add_trace(
        go.Scatter(
            x=x[alarms],
            y=trace.scores[alarms],
            mode="markers",
            name=f"alarm ({len(alarms)})",
            marker={"color": ANOMALY, "size": 12, "symbol": "triangle-down", "line": {"color": THRESHOLD, "width": 1}},
            customdata=trace.rows[alarms],
            hovertemplate="row %{customdata}<br>alarm<extra></extra>",
        )
    )
    value_line(fig, y=threshold, line={"color": THRESHOLD, "dash": "dash"}, text=f"threshold {threshold:g}")
    apply_layout(fig, f"Device {chart_label(trace.device)}: score, smoothed answer and alarms", height=360)
    fig.update_layout(
        legend={"y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
    )
    fig.update_xaxes(title="time" if epoch else "hours since the first window")
    _date_axis(fig, epoch)
    fig.update_yaxes(title="anomaly score", selector={"anchor": "x"})
    return fig
