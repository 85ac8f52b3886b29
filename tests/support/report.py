"""The demo's report as the report tests (core and browser) check it."""

from __future__ import annotations

import copy

from ei_anomaly.demo import ANOMALY_SESSION_CSV, demo_files
from ei_anomaly.features import map_columns, read_feature_file
from ei_anomaly.scored_file import ScoredFile

# cluster map, 2 confusion matrices, latency + RAM + flash, threshold histogram + confusion + PR curve,
# the false-alarm bound (from the validation windows labelled normal)
DEMO_FIGURES = 10
SCORING_FIGURES = 2  # histogram, score along the file


def scored_demo_file(model) -> ScoredFile:
    table = read_feature_file(ANOMALY_SESSION_CSV)
    mapping = map_columns(table, model)
    return ScoredFile.score(table, model, mapping, ANOMALY_SESSION_CSV.name, "demo")


def hostile_demo_metadata() -> dict:
    meta = copy.deepcopy(demo_files()["metadata"])
    meta["thresholds"][0]["description"] = "**bold** <img src=x onerror=alert(1)>"
    meta["thresholds"][0]["helpText"] = (
        "</script><script>window.__injected='help'</script> [link](https://evil.example)"
    )
    for metrics in meta["modelValidationMetrics"]:
        metrics["onDevicePerformance"][0]["name"] = "</script><script>window.__injected='mcu'</script>"
    meta["modelValidationMetrics"][0]["type"] = "<a href='https://evil.example'>int8</a>"
    return meta


def report_html(model, *, threshold, title, source_label, scored=None, fleet=None, policy=None, generated=None) -> str:
    """The offline report of these inputs, as the app's download and `report` write it (`Review`)."""
    from ei_anomaly.report import Review

    review = Review(
        model,
        threshold,
        features=scored,
        fleet=fleet,
        policy=policy,
        title=title,
        source_label=source_label,
        generated=generated,
    )
    return review.to_html()
