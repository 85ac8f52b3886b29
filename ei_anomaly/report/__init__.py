"""The review rendered: `Review` (HTML, a notebook view, JSON), `render_html` of a snapshot,
`report_filename` to name the file.

The HTML needs the `report` extra: `pip install "anomaly-lens[report]"` (Plotly and Jinja2); the
JSON does not. Names are imported on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

if TYPE_CHECKING:
    from .render import render_html, report_filename
    from .review import Review

_WHERE = {"Review": "review", "render_html": "render", "report_filename": "render"}

__getattr__ = lazy_names(__name__, _WHERE)

__all__ = ["Review", "render_html", "report_filename"]
