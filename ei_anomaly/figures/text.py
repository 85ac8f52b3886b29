"""Untrusted text in a chart, shown as text.

Plotly renders a subset of HTML (`<a href>`, `<b>`, `<br>`, `<span style>`, ...) in titles, trace
names, tick labels, hover text and annotations: a column name or a class label from outside must
reach a chart escaped, never as markup.
"""

from __future__ import annotations

import html

CHART_LABEL_LIMIT = 80  # characters of one untrusted text in a chart (axis title, tick, legend)


def plotly_escape(text: object, limit: int | None = CHART_LABEL_LIMIT) -> str:
    """Text for Plotly titles, names, labels and hover text: `<`, `>`, `&` become
    entities, so no tag or link is rendered. Cut at `limit` characters with "…" (a chart
    label has no room to say more)."""
    s = str(text)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "…"
    return html.escape(s, quote=False)
