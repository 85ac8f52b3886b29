"""A chart's text alternative, from the figure itself: a sentence saying what it shows (its title,
axes and series, with how many points each has) and its numbers as a table, for a reader who
cannot see it. The pages show the sentence under each chart; the report adds the table one click
away (a `<details>` element). Outside text in it (series and axis names) is returned as it is:
each renderer escapes it, as it does every other text."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["figure_summary", "figure_table"]

KINDS = {
    "bar": "bars",
    "box": "box plot",
    "heatmap": "cells",
    "histogram": "histogram",
    "scatter": "points",
    "scattergl": "points",
    "scatter3d": "3-D points",
    "parcoords": "parallel coordinates",
}
MAX_ROWS = 200  # rows of a chart's table in the report (a cloud of thousands of points: its first ones)


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = getattr(value, "text", value)
    return "" if text is None else str(text)


def _count(trace: Any) -> int:
    for name in ("z", "y", "x", "values"):
        data = getattr(trace, name, None)
        if data is not None:
            try:
                return int(np.asarray(data, dtype=object).size)
            except (TypeError, ValueError):
                return 0
    return 0


def _shown(trace: Any) -> bool:
    return getattr(trace, "visible", True) not in (False, "legendonly")


def figure_summary(fig: go.Figure) -> str:
    """One or two sentences: what the chart shows, for a reader who cannot see it."""
    layout = fig.layout
    title = _text(layout.title) or "Chart"
    parts = [f"Chart: {title}."]
    axes = [
        f"{axis} axis {label}"
        for axis, label in (("horizontal", _text(layout.xaxis.title)), ("vertical", _text(layout.yaxis.title)))
        if label
    ]
    if axes:
        parts.append(" and ".join(axes).capitalize() + ".")
    series = []
    for trace in fig.data:
        if not _shown(trace):
            continue
        kind = KINDS.get(trace.type, trace.type)
        name = _text(getattr(trace, "name", None))
        n = _count(trace)
        if n == 1 and kind.endswith("s"):
            kind = kind[:-1]
        series.append(f"{name + ': ' if name else ''}{n:,} {kind}" if n else f"{name or kind}")
    if series:
        parts.append(f"{len(series)} series: " + "; ".join(series[:8]) + ("; …" if len(series) > 8 else "") + ".")
    lines = [s for s in (getattr(a, "text", None) for a in layout.annotations or ()) if s]
    if lines:
        parts.append("Marked: " + "; ".join(str(s) for s in lines[:4]) + ".")
    return " ".join(parts)


def _column(values: Any, n: int) -> list[Any]:
    if values is None:
        return [None] * n
    array = np.asarray(values, dtype=object).ravel()
    return [array[i] if i < array.size else None for i in range(n)]


def figure_table(fig: go.Figure, max_rows: int = MAX_ROWS) -> tuple[pd.DataFrame, int]:
    """The chart's numbers, one row per point (series, x, y and z where the trace has them), at most
    `max_rows` over all series; and how many points there are in all (to say what was left out)."""
    rows: list[dict[str, Any]] = []
    total = 0
    for trace in fig.data:
        if not _shown(trace) or trace.type == "parcoords":
            continue
        name = _text(getattr(trace, "name", None)) or trace.type
        if trace.type == "heatmap" and trace.z is not None:
            z = np.asarray(trace.z, dtype=object)
            ys = _column(trace.y, z.shape[0]) if z.ndim == 2 else [None]
            xs = _column(trace.x, z.shape[1]) if z.ndim == 2 else [None]
            total += int(z.size)
            for i, y in enumerate(ys):
                for j, x in enumerate(xs):
                    if len(rows) < max_rows:
                        rows.append({"series": name, "x": x, "y": y, "value": z[i][j]})
            continue
        n = _count(trace)
        total += n
        xs, ys = _column(getattr(trace, "x", None), n), _column(getattr(trace, "y", None), n)
        zs = _column(getattr(trace, "z", None), n) if trace.type == "scatter3d" else None
        for i in range(n):
            if len(rows) >= max_rows:
                break
            row = {"series": name, "x": xs[i], "y": ys[i]}
            if zs is not None:
                row["z"] = zs[i]
            rows.append(row)
    return pd.DataFrame(rows), total
