"""The review's decisions, each made once: which model type, which cost, what a threshold means,
which scores to tune on, whether a block is the demo's."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest

from ei_anomaly import load_metadata
from ei_anomaly.demo import ANOMALY_SESSION_CSV, demo_files
from ei_anomaly.features import map_columns, read_feature_file
from ei_anomaly.review import (
    counts_line,
    default_mcu_cost,
    match_demo,
    model_card,
    shown_metrics,
    summarize_scored,
    threshold_meaning,
    tuning_scores,
    validation_scores,
    with_demo_names,
)
from ei_anomaly.scored_file import ScoredFile
from tests.support.constants import tiny_metadata


def demo_json() -> dict[str, Any]:
    return copy.deepcopy(demo_files()["metadata"])


def metrics_of(meta: dict[str, Any], model_type: str) -> dict[str, Any]:
    return next(m for m in meta["modelValidationMetrics"] if m["type"] == model_type)


def test_the_shown_model_type_is_the_recommended_else_the_first():
    meta = demo_json()
    assert meta["recommendedModelType"] == "float32"
    assert shown_metrics(load_metadata(meta).metadata).type == "float32"
    meta["recommendedModelType"] = "not-a-type"
    assert shown_metrics(load_metadata(meta).metadata).type == "int8"  # the first listed
    meta["recommendedModelType"] = "float32"
    metrics_of(meta, "float32")["predictions"] = []
    parsed = load_metadata(meta).metadata
    assert shown_metrics(parsed).type == "float32"
    assert shown_metrics(parsed, with_predictions=True).type == "int8"  # the scores come from int8


def test_the_default_mcu_cost_is_the_shown_types_never_another_ones():
    meta = demo_json()
    meta["recommendedModelType"] = "int8"
    metrics_of(meta, "int8")["onDevicePerformance"] = []  # int8 not profiled; float32 is
    model = load_metadata(meta)
    card = model_card(model)
    assert card.shown is not None and card.shown.type == "int8"
    assert card.default_mcu is None
    float32 = default_mcu_cost(model.metadata, model_type="float32")
    assert float32 is not None and float32.model_type == "float32" and float32.engine == "EON"


def test_the_default_mcu_cost_is_the_default_mcus_eon_row():
    meta = demo_json()
    cost = model_card(load_metadata(meta)).default_mcu
    default = next(p for p in metrics_of(meta, "float32")["onDevicePerformance"] if p["isDefault"])
    assert cost is not None
    assert (cost.device, cost.model_type, cost.latency_ms) == (default["name"], "float32", default["latency"])
    assert cost.ram_kb == pytest.approx(default["eon"]["ramRequired"] / 1024)
    assert cost.flash_kb == pytest.approx(default["eon"]["romRequired"] / 1024)


def test_a_threshold_that_is_no_number_is_said_as_the_block_says_it():
    model = load_metadata(tiny_metadata(thresholds=[{"key": "min_anomaly_score", "value": "auto"}]))
    meaning = threshold_meaning(model, 0.3)
    assert meaning.block_text == "auto" and not meaning.block_is_number
    assert meaning.changed  # 0.3 is Studio's default, not the block's value
    assert threshold_meaning(load_metadata(tiny_metadata()), 0.4).changed is False  # the block's 0.4
    assert threshold_meaning(load_metadata(tiny_metadata()), 0.5).changed is True


def test_threshold_meaning_without_thresholds_is_studios_default():
    meaning = threshold_meaning(load_metadata(tiny_metadata(thresholds=[])))
    assert (meaning.key, meaning.value, meaning.configured) == ("min_anomaly_score", 0.3, False)
    assert (meaning.block_value, meaning.reset_value, meaning.changed) == (0.3, 0.3, False)


def test_validation_scores_leave_out_windows_without_a_score_and_none_is_no_set():
    meta = demo_json()
    found = validation_scores(load_metadata(meta).metadata)
    predictions = metrics_of(meta, "float32")["predictions"]
    assert found is not None and len(found.scores) == len(predictions) and found.labelled
    for m in meta["modelValidationMetrics"]:
        for p in m["predictions"]:
            p["anomalyScores"] = []
    assert validation_scores(load_metadata(meta).metadata) is None


def scored_demo(model) -> ScoredFile:
    table = read_feature_file(ANOMALY_SESSION_CSV)
    return ScoredFile.score(table, model, map_columns(table, model), ANOMALY_SESSION_CSV.name, "demo")


def test_a_report_tunes_on_validation_else_on_the_scored_file(demo_model):
    scored = scored_demo(demo_model)
    assert tuning_scores(demo_model.metadata, scored).origin == "330 validation windows (float32)"
    bare = load_metadata(tiny_metadata())
    table = read_feature_file(b"a,b,c\n1,2,3\n4,5,6\n", "t.csv")
    on_file = tuning_scores(bare.metadata, ScoredFile.score(table, bare, map_columns(table, bare), "t.csv", "t"))
    assert on_file is not None and on_file.truth is None and "scored rows of t.csv" in on_file.origin


def test_a_scored_files_summary_is_said_in_the_commands_words(demo_model):
    scored = scored_demo(demo_model)
    summary = summarize_scored(scored, 0.5)
    flags = scored.scores.score > np.float32(0.5)
    assert (summary.rows, summary.anomalies, summary.unscorable) == (595, int(flags.sum()), 3)
    assert summary.line == counts_line(595, int(flags.sum()), 3, 0.5, summary.mapping)
    assert summary.line.startswith(f"595 rows, {int(flags.sum())} anomalies (score > 0.5), 3 unscorable; mapping: ")


def test_the_demo_is_recognised_from_its_metadata(demo_model):
    assert match_demo(demo_model) == match_demo(load_metadata(demo_json()))
    assert match_demo(demo_model).identical and match_demo(demo_model).illustrative
    edited = demo_json()
    edited["thresholds"][0]["value"] = 0.9
    match = match_demo(load_metadata(edited))
    assert match.same_block and not match.identical and match.illustrative
    named = with_demo_names(load_metadata(edited))
    assert named.axis_labels == demo_model.axis_labels and named.default_threshold == 0.9
    other = load_metadata(json.loads(json.dumps(tiny_metadata())))
    assert not match_demo(other).same_block and with_demo_names(other) is other
