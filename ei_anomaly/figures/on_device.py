"""What the model costs on each MCU: latency, RAM and flash per inference engine."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from .layout import apply_layout
from .style import ENGINE_COLORS, MUTED, NORMAL
from .text import chart_label


@dataclass(frozen=True)
class DeviceMetric:
    """One memory figure of `ei_anomaly.evaluation.on_device_frame`: its column and how a chart names it."""

    column: str
    title: str  # in a chart title: "RAM", "Flash"
    axis: str  # in an axis title: "RAM", "flash"
    unit: str


RAM = DeviceMetric("RAM (KB)", "RAM", "RAM", "KB")
FLASH = DeviceMetric("ROM (KB)", "Flash", "flash", "KB")


def _device_ticks(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    devices = list(dict.fromkeys(frame["device"]))
    default = set(frame.loc[frame["default"], "device"])
    return devices, [f"★ {chart_label(d)}" if d in default else chart_label(d) for d in devices]


def fig_on_device(frame: pd.DataFrame, metric: DeviceMetric) -> go.Figure:
    """Horizontal grouped bars per MCU and engine; the default MCU's name is starred."""
    devices, ticks = _device_ticks(frame)
    fig = go.Figure()
    for key, group in frame.groupby("engine", sort=False):
        engine = str(key)  # the engine's name (`ENGINES` in ei_anomaly.evaluation)
        values = group.set_index("device")[metric.column].reindex(devices)
        fig.add_trace(
            go.Bar(
                y=ticks,
                x=values,
                name=engine,
                orientation="h",
                marker={"color": ENGINE_COLORS.get(engine, MUTED)},
                hovertemplate=f"%{{y}}<br>%{{fullData.name}}: %{{x:.1f}} {metric.unit}<extra></extra>",
            )
        )
    apply_layout(fig, f"{metric.title} per MCU ({metric.unit})", height=120 + 22 * len(devices) * 3)
    fig.update_layout(barmode="group", bargroupgap=0.1)
    fig.update_xaxes(title=f"{metric.axis} ({metric.unit})")
    fig.update_yaxes(autorange="reversed")
    return fig


def fig_latency(frame: pd.DataFrame) -> go.Figure:
    """Latency per MCU (one value per MCU: the engines share the same inference time)."""
    per_mcu = frame.drop_duplicates("device")
    _, ticks = _device_ticks(per_mcu)
    colors = [NORMAL if d else MUTED for d in per_mcu["default"]]
    text = [
        "not profiled" if e else f"{v:.0f} ms"
        for v, e in zip(per_mcu["latency (ms)"], per_mcu["profiling error"], strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            y=ticks,
            x=per_mcu["latency (ms)"].fillna(0),
            orientation="h",
            marker={"color": colors},
            text=text,
            textposition="outside",
            hovertemplate="%{y}<br>%{x:.0f} ms<extra></extra>",
        )
    )
    apply_layout(fig, "Latency per MCU (ms)", height=120 + 40 * len(per_mcu))
    fig.update_xaxes(title="latency (ms)")
    fig.update_yaxes(autorange="reversed")
    return fig
