"""The HTML report of a review: `build_report` renders it, `report_filename` names it;
`build_comparison_report` renders two blocks side by side.

Needs the `report` extra: `pip install "anomaly-lens[report]"` (Plotly and Jinja2).
"""

from __future__ import annotations

from .render import build_comparison_report, build_report, report_filename, tool_version

__all__ = ["build_comparison_report", "build_report", "report_filename", "tool_version"]
