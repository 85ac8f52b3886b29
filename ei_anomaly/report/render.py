"""The review as one self-contained, offline HTML file.

It renders a `ReviewSnapshot` (`ei_anomaly.review`): every section's numbers and figures come from
the section objects, which the pages use too; nothing here decides anything. The page is
`templates/report.html.j2`, rendered by Jinja2 with autoescaping on, because every text from
metadata or a feature file is untrusted. Plotly's JavaScript is inlined once; each figure is JSON
drawn by `Plotly.newPlot`. Needs the `report` extra (Plotly, Jinja2); no Streamlit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ..figures.describe import figure_summary, figure_table
from ..figures.text import safe_figure
from ..review import ReviewSnapshot
from ..review.fleet import REPORT_DEVICES
from ..review.guarantee import percent
from ..visible import visible_controls

__all__ = ["Figure", "render_html", "report_filename"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}  # the logo is a link to plotly.com


@dataclass(frozen=True)
class Figure:
    """One chart in the template: a div id, its figure as script-safe JSON, and its text
    alternative (a sentence, and its numbers as a table one click away)."""

    id: str
    json: Markup
    summary: str = ""
    table: dict[str, list[Any]] | None = None
    table_note: str = ""


def _script_safe_json(fig: go.Figure) -> Markup:
    """Figure JSON that can sit inside <script>: every text escaped for Plotly (`safe_figure`, the
    rule the app applies too), then `<`, `>` and `&` as JSON escapes.

    Text from metadata (a label such as `</script><script>…`) then cannot end the script element.
    Plotly's `json` encoder escapes them today; doing it here keeps the guarantee in this file
    instead of in a detail of another library.
    """
    text = pio.to_json(safe_figure(fig), validate=False, pretty=False, engine="json")
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


class _Figures:
    """Numbers the figures of one report in order."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, fig: go.Figure) -> Figure:
        self.count += 1
        frame, total = figure_table(fig)
        note = f"The first {len(frame):,} of {total:,} points." if total > len(frame) else ""
        table = _table(frame) if len(frame) else None
        return Figure(f"figure-{self.count}", _script_safe_json(fig), figure_summary(fig), table, note)

    def all(self, figs: list[go.Figure | None]) -> list[Figure]:
        return [self.add(f) for f in figs if f is not None]


@lru_cache(maxsize=1)
def _plotly_js() -> Markup:
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    if "</script" in js.lower():  # would end the inline script early; never the case so far
        raise RuntimeError("plotly.js contains '</script': cannot inline it safely")
    return Markup(js)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # always: the template name ends in .j2, so select_autoescape would miss it
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_visible,
    )
    env.filters["num"] = _num
    env.filters["pct"] = percent
    return env


def _visible(value: object) -> object:
    """Every text the template prints: control and bidi-control characters as escapes (Markup,
    which render.py made itself, passes as it is)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible_controls(value)
    return value


def _num(value: object, digits: int = 3) -> str:
    """A number for people: up to `digits` significant digits; text passes through."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return "n/a" if math.isnan(value) else f"{float(value):.{digits}g}"
    return "" if value is None else str(value)


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.1f}%"


def _table(frame: pd.DataFrame, digits: int = 4) -> dict[str, list[Any]]:
    """A table as the template prints it: header and rows of text (numbers to `digits` digits)."""
    return {
        "header": [str(c) for c in frame.columns],
        "rows": [[_num(v, digits) for v in row] for row in frame.itertuples(index=False, name=None)],
    }


PRINT_HEADER_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:#-_")


def css_string(text: str, limit: int = 160) -> Markup:
    """Text as a CSS string literal (the printed pages' running header): every character outside a
    small safe set as a six-digit CSS escape, so outside text can end neither the string nor the
    <style> element."""
    shown = visible_controls(text)
    shown = shown if len(shown) <= limit else shown[: limit - 1] + "…"
    return Markup('"' + "".join(c if c in PRINT_HEADER_SAFE else f"\\{ord(c):06x}" for c in shown) + '"')


def report_filename(source_label: str) -> str:
    """A file name from the source label: letters, digits and dashes only."""
    stem = "".join(c if c.isalnum() else "-" for c in source_label.lower()).strip("-")
    stem = "-".join(part for part in stem.split("-") if part)[:60]
    return f"anomaly-report-{stem or 'model'}.html"


# --- each section of the snapshot as the template's values: its figures registered, its tables as text ---


def _scoring(snapshot: ReviewSnapshot, figures: _Figures) -> dict[str, Any] | None:
    section = snapshot.scoring
    if section is None:
        return None
    histogram = None if snapshot.threshold.from_upload else section.histogram_figure("Score distribution of the file")
    top = section.top_shown
    note = section.timeline_note
    return {
        "section": section,
        "summary": section.summary,
        "figures": figures.all([histogram, section.timeline_figure()]),
        "timeline_note": f"The score along the file: {note}." if note else "",
        "hidden_columns": section.hidden_columns,
        "top": _table(top) if len(top) else None,
        "p_values_from": section.reference.origin if section.reference is not None else None,
    }


def _fleet(snapshot: ReviewSnapshot, figures: _Figures) -> dict[str, Any] | None:
    section, budget = snapshot.fleet, snapshot.budget
    if section is None or budget is None:
        return None

    table = section.table
    return {
        "section": section,
        "figures": figures.all([section.grid_figure(), budget.figure()]),
        "lowest": budget.lowest,
        "lowest_bound": budget.lowest_bound,
        "table": _table(table.head(REPORT_DEVICES), 3),
        "more": max(0, section.log.n_devices - REPORT_DEVICES),
    }


def _comparison(snapshot: ReviewSnapshot, figures: _Figures) -> dict[str, Any] | None:
    comparison = snapshot.comparison
    if comparison is None:
        return None
    matched = comparison.matched_table()
    if matched is not None:  # rates as people read them
        matched = matched.assign(**{c: [_percent(v) for v in matched[c]] for c in ("recall", "precision")})
    return {
        "c": comparison,
        "costs": _table(comparison.costs),
        "confusions": figures.all(list(comparison.confusion_figures())),
        "pr": figures.all([comparison.pr_figure()]),
        "matched": _table(matched, 5) if matched is not None else None,
        "disagreements": _table(comparison.disagreement_table(), 5),
    }


def _fleet_comparison(snapshot: ReviewSnapshot, figures: _Figures) -> dict[str, Any] | None:
    fleet = snapshot.fleet_comparison
    if fleet is None:
        return None
    return {
        "f": fleet,
        "summary": _table(fleet.summary()),
        "noisiest": _table(fleet.noisiest(), 3),
        "curves": figures.add(fleet.curves_figure()),
    }


def render_html(snapshot: ReviewSnapshot) -> str:
    """The whole review as one HTML document."""
    figures = _Figures()
    block = snapshot.block
    on_device = snapshot.on_device
    context = {
        "s": snapshot,
        "title": snapshot.inputs.title,
        "source": snapshot.inputs.source_label,
        "card": snapshot.card,
        "map_caption": block.map_caption,
        "map": figures.add(snapshot.block_map.figure()),
        "validation": [
            (v, figures.all([v.confusion_figure()])) for v in snapshot.validation if v.metrics.confusion_matrix
        ],
        "on_device": (
            (on_device, figures.all([on_device.latency_figure(), on_device.ram_figure(), on_device.flash_figure()]))
            if on_device is not None
            else None
        ),
        "threshold": (snapshot.threshold, figures.all(list(snapshot.threshold.figures()))),
        "guarantee": (
            (snapshot.guarantee, figures.add(snapshot.guarantee.figure())) if snapshot.guarantee is not None else None
        ),
        "scoring": _scoring(snapshot, figures),
        "fleet": _fleet(snapshot, figures),
        "comparison": _comparison(snapshot, figures),
        "fleet_comparison": _fleet_comparison(snapshot, figures),
        "generated": f"{snapshot.generated:%Y-%m-%d %H:%M} UTC",
        "version": snapshot.version,
        "plotly_js": _plotly_js(),
        "plotly_config": Markup(json.dumps(PLOTLY_CONFIG)),
        "print_header": css_string(
            f"{snapshot.inputs.source_label} · {snapshot.card.kind} · threshold {_num(snapshot.inputs.threshold, 4)}"
        ),
    }
    return _environment().get_template("report.html.j2").render(context)
