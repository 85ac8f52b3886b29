"""The stakeholder report: one self-contained, offline HTML file of a model review.

Figures come from `components.figures` (the same builders the pages use), tables from
`ei_anomaly.evaluation`; the page is `templates/report.html.j2`, rendered by Jinja2 with
autoescaping on, because every text from metadata or a feature file is untrusted. Plotly's
JavaScript is inlined once; each figure is JSON drawn by `Plotly.newPlot`. No Streamlit here.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ei_anomaly import AnomalyModel
from ei_anomaly.evaluation import (
    binary_counts,
    confusion_labels,
    downsample_keep_flagged,
    on_device_frame,
    pr_curve,
    predictions_frame,
)
from ei_anomaly.score_views import score_histogram
from ei_anomaly.scored_file import ScoredFile

from .figures import (
    fig_cluster_map,
    fig_confusion_matrix,
    fig_latency,
    fig_on_device,
    fig_pr_curve,
    fig_score_histogram,
    fig_scored_file_timeline,
    timeline_note,
)
from .style import ANOMALY, NORMAL

__all__ = ["build_report", "report_filename"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_MAP_POINTS = 4_000
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}  # the logo is a link to plotly.com
SCORE_DEFINITION = (
    "Each window's features are standard-scaled ((value − mean) / scale); its score is the Euclidean "
    "distance to the nearest cluster center minus that cluster's radius (maxError), capped at 1000, "
    "computed in float32 exactly as the Edge Impulse SDK does on the device. Negative means inside a "
    "cluster; a window is an anomaly when its score is strictly greater than the threshold."
)


@dataclass(frozen=True)
class Figure:
    """One chart in the template: a div id and its figure as script-safe JSON."""

    id: str
    json: Markup


def _script_safe_json(fig: go.Figure) -> Markup:
    """Figure JSON that can sit inside <script>: `<`, `>` and `&` as JSON escapes.

    Text from metadata (a label such as `</script><script>…`) then cannot end the script element.
    Plotly's `json` encoder escapes them today; doing it here keeps the guarantee in this file
    instead of in a detail of another library.
    """
    text = pio.to_json(fig, validate=False, pretty=False, engine="json")
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
    )
    env.filters["num"] = _num
    return env


def _num(value: Any, digits: int = 3) -> str:
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
        text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    except OSError:
        return "unknown"
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return found.group(1) if found else "unknown"


def report_filename(source_label: str) -> str:
    """A file name from the source label: letters, digits and dashes only."""
    stem = "".join(c if c.isalnum() else "-" for c in source_label.lower()).strip("-")
    stem = "-".join(part for part in stem.split("-") if part)[:60]
    return f"anomaly-report-{stem or 'model'}.html"


# --- sections ---------------------------------------------------------------------------------


def _recommended_metrics(model: AnomalyModel) -> Any:
    metrics = model.metadata.model_validation_metrics
    recommended = model.metadata.recommended_model_type
    return next((m for m in metrics if m.type == recommended), metrics[0] if metrics else None)


def _summary(model: AnomalyModel, threshold: float, devices: pd.DataFrame) -> dict[str, Any]:
    meta = model.metadata
    best = _recommended_metrics(model)
    default_mcu = None
    if not devices.empty and best is not None:
        chosen = devices[(devices["model type"] == best.type) & devices["default"] & (devices["engine"] == "EON")]
        if len(chosen):
            row = chosen.iloc[0]
            default_mcu = {
                "device": row["device"],
                "latency": row["latency (ms)"],
                "ram": row["RAM (KB)"],
                "flash": row["ROM (KB)"],
                "error": row["profiling error"],
            }
    block = model.anomaly_threshold
    return {
        "clusters": model.n_clusters,
        "axes": model.axis_labels,
        "trained": f"{meta.created:%Y-%m-%d %H:%M} UTC" if meta.created else "unknown",
        "threshold": threshold,
        "threshold_key": block.key if block else "min_anomaly_score",
        "block_value": block.value if block else None,
        "accuracy": best.accuracy if best is not None else None,
        "accuracy_type": best.type if best is not None else None,
        "accuracies": [(m.type, m.accuracy) for m in meta.model_validation_metrics],
        "default_mcu": default_mcu,
    }


def _map_axes(model: AnomalyModel) -> tuple[int, int]:
    """The two axes the Clusters page opens on: the first two (the same one twice for one axis)."""
    return 0, min(1, len(model.axes) - 1)


def _cluster_map(model: AnomalyModel, scored: ScoredFile | None, threshold: float) -> go.Figure:
    ax1, ax2 = _map_axes(model)
    overlays = []
    if scored is not None:
        flags = scored.scores.is_anomaly(threshold)
        keep = downsample_keep_flagged(flags, REPORT_MAP_POINTS)
        keep = keep[scored.scores.scorable[keep]]
        z = model.to_scaled(scored.axis_values[keep])
        for name, mask, color in (("file: normal", ~flags[keep], NORMAL), ("file: anomaly", flags[keep], ANOMALY)):
            overlays.append((name, z[mask, ax1], z[mask, ax2], color))
    labels = model.axis_labels
    return fig_cluster_map(
        model.centers[:, [ax1, ax2]], model.max_errors, (labels[ax1] + " (scaled)", labels[ax2] + " (scaled)"), overlays
    )


def _confusions(model: AnomalyModel, figures: _Figures) -> list[dict[str, Any]]:
    out = []
    for m in model.metadata.model_validation_metrics:
        if not m.confusion_matrix:
            continue
        title = f"Confusion matrix ({m.type})"  # the builder escapes its title
        fig = fig_confusion_matrix(m.confusion_matrix, confusion_labels(m), title)
        out.append({"type": m.type, "accuracy": m.accuracy, "loss": m.loss, "figure": figures.add(fig)})
    return out


def _on_device(devices: pd.DataFrame, model: AnomalyModel, figures: _Figures) -> dict[str, Any] | None:
    if devices.empty:
        return None
    best = _recommended_metrics(model)
    types = list(dict.fromkeys(devices["model type"]))
    chosen = best.type if best is not None and best.type in types else types[0]
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
            figures.add(fig_on_device(view, "RAM (KB)", "KB")),
            figures.add(fig_on_device(view, "ROM (KB)", "KB")),
        ],
        "errors": errors,
    }


def _threshold_section(
    model: AnomalyModel, threshold: float, scored: ScoredFile | None, figures: _Figures
) -> dict[str, Any]:
    block = model.anomaly_threshold
    suggested = block.suggested_value if block and isinstance(block.suggested_value, float) else None
    suggested_text = block.suggested_value_text if block and block.suggested_value_text else None
    section: dict[str, Any] = {
        "description": block.description if block else "",
        "help": block.help_text if block else "",
        "suggested": suggested_text or (f"{suggested:g}" if suggested is not None else None),
        "origin": None,
        "from_file": False,  # no labelled validation windows: the histogram is the scored file's
        "figures": [],
        "counts": None,
    }
    best = _recommended_metrics(model)
    frame = predictions_frame(best).dropna(subset=["anomaly score"]) if best is not None else None
    if frame is not None and len(frame):
        scores, truth = frame["anomaly score"].to_numpy(), frame["labelled anomaly"].to_numpy()
        section["origin"] = f"{len(scores):,} validation windows ({best.type})"
    elif scored is not None and scored.scores.scorable.any():
        scores, truth = scored.scores.score[scored.scores.scorable], None
        section["origin"] = f"{len(scores):,} scored rows of {scored.name} (no labels)"
        section["from_file"] = True
    else:
        return section
    section["figures"].append(
        figures.add(
            fig_score_histogram(score_histogram(scores), threshold, title="Score distribution", suggested=suggested)
        )
    )
    if truth is not None and truth.any() and (~truth).any():
        counts = binary_counts(scores, truth, threshold)
        section["counts"] = counts
        section["figures"].append(
            figures.add(
                fig_confusion_matrix(counts.matrix, ["normal", "anomaly"], f"Normal vs anomaly at {threshold:g}")
            )
        )
        section["figures"].append(figures.add(fig_pr_curve(pr_curve(scores, truth), (counts.precision, counts.recall))))
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
    scores = scored.scores
    flagged = scored.flagged(threshold)
    n_flagged = flagged.total
    n_rows = scored.n_rows
    header, body, hidden = _top_rows(scored, threshold)
    return {
        "name": scored.name,
        "map_sampled": n_rows > REPORT_MAP_POINTS,
        "mapping": scored.mapping.how,
        "rows": n_rows,
        "anomalies": n_flagged,
        "rate": n_flagged / max(1, n_rows - scores.unscorable_count),
        "unscorable": scores.unscorable_count,
        "figures": [
            *(
                [figures.add(fig_score_histogram(scored.histogram, threshold, title="Score distribution of the file"))]
                if histogram
                else []
            ),
            figures.add(fig_scored_file_timeline(scored, flagged, threshold)),
        ],
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
    illustrative: bool = False,
    generated: datetime | None = None,
) -> str:
    """The whole review as one HTML document (str). `illustrative` marks demo on-device figures."""
    threshold = float(threshold)
    if not math.isfinite(threshold):
        raise ValueError("the threshold must be a finite number")
    figures = _Figures()
    devices = on_device_frame(model.metadata)
    summary = _summary(model, threshold, devices)
    cluster_map = figures.add(_cluster_map(model, scored, threshold))
    confusions = _confusions(model, figures)
    on_device = _on_device(devices, model, figures)
    threshold_section = _threshold_section(model, threshold, scored, figures)
    scoring = (
        _scoring_section(scored, threshold, figures, histogram=not threshold_section["from_file"])
        if scored is not None
        else None
    )
    context = {
        "title": title,
        "source": source_label,
        "summary": summary,
        "cluster_map": cluster_map,
        "confusions": confusions,
        "on_device": on_device,
        "illustrative": illustrative,
        "threshold": threshold_section,
        "scoring": scoring,
        "score_definition": SCORE_DEFINITION,
        "version": tool_version(),
        "generated": f"{(generated or datetime.now(timezone.utc)):%Y-%m-%d %H:%M} UTC",
        "plotly_js": _plotly_js(),
        "plotly_config": Markup(json.dumps(PLOTLY_CONFIG)),
        "n_figures": figures.count,
    }
    return _environment().get_template("report.html.j2").render(context)
