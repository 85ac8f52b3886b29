"""Untrusted text in a chart, shown as text: one rule, applied where a figure leaves Python.

Plotly renders a subset of HTML (`<a href>`, `<b>`, `<br>`, `<span style="...url(...)">`, ...) in
titles, trace names, tick labels, category values, hover text, annotations and every value a
template interpolates. So a figure is escaped once, whole, by `safe_figure`, at the two places
figures leave Python: the app's `components.charts.show_chart` and the report. Builders therefore
put outside text into figures as it is (cut to a chart's room with `chart_label`), never escaped
and never wrapped in markup; formatting they want (`<br>`, `<extra>`) goes in `hovertemplate` and
`texttemplate`, which are code and are kept, while the values they interpolate are data and are
escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..visible import ACTING_CHARACTERS, visible_controls

__all__ = ["CHART_LABEL_LIMIT", "chart_label", "plotly_escape", "safe_figure"]

CHART_LABEL_LIMIT = 80  # characters of one untrusted text in a chart (axis title, tick, legend)
_SPECIAL = ("<", ">", "&")


def _needs_escape(text: str) -> bool:
    return any(c in text for c in _SPECIAL) or ACTING_CHARACTERS.search(text) is not None


def chart_label(text: object, limit: int | None = CHART_LABEL_LIMIT) -> str:
    """Outside text for a chart label: a string cut at `limit` characters with "…" (a chart label
    has no room to say more). Not escaped: `safe_figure` does that for the whole figure."""
    s = str(text)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def plotly_escape(text: object, limit: int | None = None) -> str:
    """One string as Plotly text: `<`, `>`, `&` become entities, so no tag or link is rendered,
    and control and bidi-control characters show as escapes (`ei_anomaly.visible`). `limit` cuts
    it first (`chart_label`)."""
    return html.escape(visible_controls(chart_label(text, limit)), quote=False)


def _is_code(key: str) -> bool:
    """Properties that are code we write, not data: `hovertemplate`, `texttemplate` (and their
    `...fallback`), and the layout's theme (`template`)."""
    return key.endswith("template") or key.endswith("templatefallback")


def _escape_array(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind not in "OUS":
        return values  # numbers, dates, booleans: nothing to render
    flat = values.ravel()
    if values.dtype.kind == "O":
        items = flat.tolist()
        joined = "\n".join([v for v in items if isinstance(v, str)])  # one scan in C, not one per cell
        if not _needs_escape(joined) and not any(isinstance(v, (list, tuple, dict)) for v in items):
            return values
        out = np.empty(flat.shape, dtype=object)
        for i, v in enumerate(flat):
            out[i] = _escape(v)
        return out.reshape(values.shape)
    escaped = [plotly_escape(v) for v in values.astype(str).ravel().tolist()]
    return np.array(escaped, dtype=object).reshape(values.shape)


def _escape(node: Any) -> Any:
    """`node` with every string in it escaped; containers are copied, numeric arrays shared."""
    if isinstance(node, str):
        return plotly_escape(node) if _needs_escape(node) else node
    if isinstance(node, Mapping):
        return {k: (v if _is_code(str(k)) else _escape(v)) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_escape(v) for v in node]
    if isinstance(node, np.ndarray):
        return _escape_array(node)
    return node


def safe_figure(fig: Any) -> dict[str, Any]:
    """A finished figure (a `go.Figure` or its dict) as a plain figure dict in which every text
    Plotly would render as markup is escaped: titles, axis and legend titles, tick text, trace
    names, category values on axes, text, hover text, customdata, annotations, `meta`. Templates
    are kept. The figure given is not changed. Pass the result to the renderer (Streamlit takes a
    dict; `plotly.io.to_json` too)."""
    spec = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else fig
    escaped: dict[str, Any] = _escape(dict(spec))
    return escaped
