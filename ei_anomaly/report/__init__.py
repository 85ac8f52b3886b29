"""The HTML report of a review: `build_report` renders it, `report_filename` names it.

Needs the `report` extra: `pip install "anomaly-lens[report]"` (Plotly and Jinja2).
"""

from __future__ import annotations

from .render import build_report, report_filename, tool_version

__all__ = ["build_report", "report_filename", "tool_version"]
