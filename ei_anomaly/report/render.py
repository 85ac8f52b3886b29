"""The stakeholder report: one self-contained, offline HTML file of a model review.

It renders what `ei_anomaly.review` decided (the model card, the score set, the scored file's
summary) with the figure builders the pages use (`ei_anomaly.figures`). The page is
`templates/report.html.j2`, rendered by Jinja2 with autoescaping on, because every text from
metadata or a feature file is untrusted. Plotly's JavaScript is inlined once; each figure is JSON
drawn by `Plotly.newPlot`. Needs the `report` extra (Plotly, Jinja2); no Streamlit.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ..evaluation import binary_counts, confusion_labels, on_device_frame, pr_curve
from ..figures import (
    FLASH,
    RAM,
    fig_alarm_curves_compare,
    fig_cluster_map,
    fig_confusion_matrix,
    fig_gmm_map,
    fig_latency,
    fig_on_device,
    fig_pr_compare,
    fig_pr_curve,
    fig_score_histogram,
    fig_scored_file_timeline,
    timeline_note,
)
from ..figures.style import ANOMALY, NORMAL
from ..figures.text import safe_figure
from ..gmm import GmmAnomalyModel
from ..model import AnomalyModel, BlockKind
from ..review import (
    Comparison,
    ModelCard,
    ScoreSet,
    ScoreSource,
    block_title,
    default_map_axes,
    device_model_type,
    gmm_components,
    model_card,
    score_definition,
    scored_points,
    summarize_scored,
    tuning_scores,
)
from ..review.compare import ComparedBlock
from ..rules import SCORE_CAP
from ..scored_file import ScoredFile
from ..visible import visible_controls
from .fleet_section import fleet_section

if TYPE_CHECKING:
    from ..alarms.views import FleetReview
    from ..review.compare_fleet import FleetComparison

__all__ = ["build_comparison_report", "build_report", "report_filename"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_MAP_POINTS = 4_000
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}  # the logo is a link to plotly.com
SCORE_DEFINITION = (
    "Each window's features are standard-scaled ((value − mean) / scale); its score is the Euclidean "
    "distance to the nearest cluster center minus that cluster's radius (maxError), "
    f"capped at {SCORE_CAP:g}, "
    "computed in float32 exactly as the Edge Impulse SDK does on the device. Negative means inside a "
    "cluster; a window is an anomaly when its score is strictly greater than the threshold."
)


@dataclass(frozen=True)
class Figure:
    """One chart in the template: a div id and its figure as script-safe JSON."""

    id: str
    json: Markup


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
        return Figure(f"figure-{self.count}", _script_safe_json(fig))


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


def tool_version() -> str:
    """`anomaly-lens` as installed, else the version in the checkout's pyproject.toml."""
    from importlib import metadata

    try:
        return metadata.version("anomaly-lens")
    except metadata.PackageNotFoundError:
        pass
    try:  # tomllib is Python 3.11+; the one line needed is easy to find without it
        text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    except OSError:
        return "unknown"
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return found.group(1) if found else "unknown"


def report_filename(source_label: str) -> str:
    """A file name from the source label: letters, digits and dashes only."""
    stem = "".join(c if c.isalnum() else "-" for c in source_label.lower()).strip("-")
    stem = "-".join(part for part in stem.split("-") if part)[:60]
    return f"anomaly-report-{stem or 'model'}.html"


# --- sections: each renders a decision of `ei_anomaly.review` into figures and template values ---


def gmm_score_text(model: AnomalyModel) -> str:
    """The footer's score definition for a GMM block."""
    definition = score_definition(model)
    return (
        f"A GMM block's score is {definition.meaning}: "
        + "; ".join(" ".join(line.split()) for line in definition.formula)
        + f". Computed with {definition.exact_to}; a window is an anomaly when its score is strictly greater than "
        "the threshold."
    )


def _cluster_map(model: AnomalyModel, scored: ScoredFile | None, threshold: float) -> tuple[go.Figure, bool]:
    """The clusters map with the scored file's rows, and whether those rows are a sample."""
    ax1, ax2 = default_map_axes(model)
    overlays = []
    sampled = False
    if scored is not None:
        points = scored_points(model, scored, threshold, REPORT_MAP_POINTS)
        sampled = points.sampled
        for name, z, color in (("file: normal", points.normal, NORMAL), ("file: anomaly", points.anomalies, ANOMALY)):
            overlays.append((name, z[:, ax1], z[:, ax2], color))
    labels = model.axis_labels
    if isinstance(model, GmmAnomalyModel):  # components at 1, 2, 3 standard deviations, raw units
        pair = [ax1, ax2]
        gmm = model.gmm
        return fig_gmm_map(
            gmm.means[:, pair], gmm.covariances[:, pair][:, :, pair], gmm.weights, (labels[ax1], labels[ax2]), overlays
        ), sampled
    fig = fig_cluster_map(
        model.centers[:, [ax1, ax2]], model.max_errors, (labels[ax1] + " (scaled)", labels[ax2] + " (scaled)"), overlays
    )
    return fig, sampled


def _confusions(model: AnomalyModel, figures: _Figures) -> list[dict[str, Any]]:
    out = []
    for m in model.metadata.model_validation_metrics:
        if not m.confusion_matrix:
            continue
        title = f"Confusion matrix ({m.type})"  # text as it is: the figure is escaped on its way out
        fig = fig_confusion_matrix(m.confusion_matrix, confusion_labels(m), title)
        out.append({"type": m.type, "accuracy": m.accuracy, "loss": m.loss, "figure": figures.add(fig)})
    return out


def _on_device(model: AnomalyModel, figures: _Figures) -> dict[str, Any] | None:
    devices = on_device_frame(model.metadata)
    if devices.empty:
        return None
    chosen = device_model_type(devices, model.metadata)
    view = devices[devices["model type"] == chosen]
    errors = [
        (row["device"], row["profiling error"])
        for _, row in view.drop_duplicates("device").iterrows()
        if row["profiling error"]
    ]
    return {
        "type": chosen,
        "figures": [
            figures.add(fig_latency(view)),
            figures.add(fig_on_device(view, RAM)),
            figures.add(fig_on_device(view, FLASH)),
        ],
        "errors": errors,
    }


def _threshold_section(card: ModelCard, tuned: ScoreSet | None, figures: _Figures) -> dict[str, Any]:
    threshold = card.threshold.value
    section: dict[str, Any] = {
        "origin": tuned.origin if tuned is not None else None,
        "from_file": tuned is not None and tuned.source is ScoreSource.UPLOAD,
        "figures": [],
        "counts": None,
    }
    if tuned is None:
        return section
    section["figures"].append(
        figures.add(
            fig_score_histogram(
                tuned.histogram, threshold, title="Score distribution", suggested=card.threshold.suggested
            )
        )
    )
    if tuned.labelled and tuned.truth is not None:
        counts = binary_counts(tuned.scores, tuned.truth, threshold)
        section["counts"] = counts
        matrix = fig_confusion_matrix(counts.matrix, ["normal", "anomaly"], f"Normal vs anomaly at {threshold:g}")
        section["figures"].append(figures.add(matrix))
        curve = fig_pr_curve(pr_curve(tuned.scores, tuned.truth), (counts.precision, counts.recall))
        section["figures"].append(figures.add(curve))
    return section


def _top_rows(scored: ScoredFile, threshold: float) -> tuple[list[str], list[list[str]], int]:
    """The highest-scoring anomalies: row number, score, nearest cluster, time column, the axis columns."""
    rows = scored.top_anomalies(threshold)
    if not len(rows):
        return [], [], 0
    time_name = scored.time_column
    shown = list(dict.fromkeys([*([time_name] if time_name else []), *scored.mapping.columns]))
    rows = rows[["row", "anomaly score", "nearest cluster", *shown]]
    header = [str(c) for c in rows.columns]
    body = [[_num(v, 4) for v in record] for record in rows.itertuples(index=False, name=None)]
    return header, body, len(scored.table.all_columns) - len(shown)


def _scoring_section(scored: ScoredFile, threshold: float, figures: _Figures, histogram: bool) -> dict[str, Any]:
    """Summary, score along the file, top anomalies; the histogram unless the threshold section drew it."""
    flagged = scored.flagged(threshold)
    summary = summarize_scored(scored, threshold, flagged.total)
    header, body, hidden = _top_rows(scored, threshold)
    drawn = []
    if histogram:
        drawn.append(
            figures.add(fig_score_histogram(scored.histogram, threshold, title="Score distribution of the file"))
        )
    drawn.append(figures.add(fig_scored_file_timeline(scored, flagged, threshold)))
    return {
        "summary": summary,
        "figures": drawn,
        "timeline_note": f"The score along the file: {note}." if (note := timeline_note(scored, flagged)) else "",
        "hidden_columns": hidden,
        "top_header": header,
        "top_rows": body,
    }


def build_report(
    model: AnomalyModel,
    *,
    threshold: float,
    title: str,
    source_label: str,
    scored: ScoredFile | None = None,
    generated: datetime | None = None,
    fleet: FleetReview | None = None,
) -> str:
    """The whole review as one HTML document (str); `fleet`: a fleet log under an alarm policy."""
    threshold = float(threshold)
    if not math.isfinite(threshold):
        raise ValueError("the threshold must be a finite number")
    figures = _Figures()
    card = model_card(model, threshold)
    tuned = tuning_scores(model.metadata, scored)
    map_figure, map_sampled = _cluster_map(model, scored, threshold)
    cluster_map = figures.add(map_figure)
    confusions = _confusions(model, figures)
    on_device = _on_device(model, figures)
    threshold_section = _threshold_section(card, tuned, figures)
    scoring = (
        _scoring_section(scored, threshold, figures, histogram=not threshold_section["from_file"])
        if scored is not None
        else None
    )
    fleet_view = fleet_section(fleet, figures.add) if fleet is not None else None
    context = {
        "fleet": fleet_view,
        "title": title,
        "source": source_label,
        "card": card,
        "cluster_map": cluster_map,
        "map_sampled": map_sampled,
        "confusions": confusions,
        "on_device": on_device,
        "threshold": threshold_section,
        "scoring": scoring,
        "score_definition": SCORE_DEFINITION if model.kind is BlockKind.KMEANS else gmm_score_text(model),
        "gmm": model.kind is BlockKind.GMM,
        "components": gmm_components(model),
        "version": tool_version(),
        "generated": f"{(generated or datetime.now(timezone.utc)):%Y-%m-%d %H:%M} UTC",
        "plotly_js": _plotly_js(),
        "plotly_config": Markup(json.dumps(PLOTLY_CONFIG)),
        "n_figures": figures.count,
    }
    return _environment().get_template("report.html.j2").render(context)


def _side(block: ComparedBlock) -> dict[str, Any]:
    model, card = block.model, block.card
    definition = score_definition(model)
    mcu = card.default_mcu
    cost = (
        f"{mcu.device}: {_num(mcu.latency_ms)} ms, {_num(mcu.ram_kb)} KB RAM, {_num(mcu.flash_kb)} KB flash"
        if mcu is not None and mcu.latency_ms is not None
        else ""
    )
    units = f"{model.n_clusters} clusters" if model.kind is BlockKind.KMEANS else gmm_components(model)
    return {
        "name": block.name,
        "kind": block_title(model),
        "units": units,
        "axes": card.axis_labels,
        "threshold": block.threshold,
        "accuracy": card.accuracy,
        "mcu": cost,
        "meaning": definition.meaning,
        "exact_to": definition.exact_to,
    }


def _fleet_context(fleet: FleetComparison, figures: _Figures) -> dict[str, Any]:
    """Both blocks on a fleet log (`ei_anomaly.review.compare_fleet`): the summary, the noisiest
    devices and both alarm curves."""
    summary, noisiest = fleet.summary(), fleet.noisiest()
    curves = [
        (side.name, side.curve, side.own.policy.threshold, side.own.fleet_rate, side.budget.threshold)
        for side in (fleet.a, fleet.b)
    ]
    return {
        "log_name": fleet.log_name,
        "policy": fleet.policy_text,
        "budget": _num(fleet.budget_per_day),
        "devices": f"{fleet.a.log.n_devices:,}",
        "windows": f"{fleet.a.log.n_windows:,}",
        "summary": {
            "header": list(summary.columns),
            "rows": [[_num(v, 4) for v in row] for row in summary.itertuples(index=False)],
        },
        "noisiest": {
            "header": list(noisiest.columns),
            "rows": [[_num(v, 3) for v in row] for row in noisiest.itertuples(index=False)],
        },
        "curves": figures.add(fig_alarm_curves_compare(curves, fleet.budget_per_day, fleet.log_name)),
    }


def build_comparison_report(
    comparison: Comparison,
    *,
    title: str,
    generated: datetime | None = None,
    fleet: FleetComparison | None = None,
) -> str:
    """Two blocks side by side (`ei_anomaly.review.compare_blocks`) as one offline HTML document;
    with `fleet`, also on a fleet log at matched alarm policies."""
    figures = _Figures()
    a, b = comparison.a, comparison.b
    confusions, pr = [], None
    if comparison.counts_a is not None and comparison.counts_b is not None and comparison.shared is not None:
        for side, counts in ((a, comparison.counts_a), (b, comparison.counts_b)):
            confusions.append(
                figures.add(
                    fig_confusion_matrix(counts.matrix, ["normal", "anomaly"], f"{side.name} at {side.threshold:g}")
                )
            )
        assert comparison.curve_a is not None and comparison.curve_b is not None
        curves = [
            (a.name, comparison.curve_a, (comparison.counts_a.precision, comparison.counts_a.recall), a.threshold),
            (b.name, comparison.curve_b, (comparison.counts_b.precision, comparison.counts_b.recall), b.threshold),
        ]
        pr = figures.add(fig_pr_compare(curves, comparison.shared.origin))
    costs = comparison.costs
    context = {
        "title": title,
        "a": _side(a),
        "b": _side(b),
        "notes": comparison.notes,
        "costs": {
            "header": list(costs.columns),
            "rows": [
                [_num(v, 4) if not isinstance(v, str) else v for v in row] for row in costs.itertuples(index=False)
            ],
        },
        "shared": comparison.shared.origin if comparison.shared is not None else None,
        "confusions": confusions,
        "pr": pr,
        "matched": comparison.matched,
        "agreement": comparison.agreement,
        "disagreements": comparison.disagreements,
        "fleet": _fleet_context(fleet, figures) if fleet is not None else None,
        "version": tool_version(),
        "generated": f"{(generated or datetime.now(timezone.utc)):%Y-%m-%d %H:%M} UTC",
        "plotly_js": _plotly_js(),
        "plotly_config": Markup(json.dumps(PLOTLY_CONFIG)),
    }
    return _environment().get_template("compare.html.j2").render(context)
