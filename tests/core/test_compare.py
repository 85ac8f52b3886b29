"""Comparing two blocks: the shared windows, the counts at each block's threshold, the matched
false-alarm rate, the agreement table and the costs, checked against direct computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ei_anomaly.demo import load_demo_gmm_model
from ei_anomaly.evaluation import predictions_frame
from ei_anomaly.model_testing import block_test_windows
from ei_anomaly.review import compare_blocks, shared_upload_windows, shared_validation_windows
from ei_anomaly.review.compare import cost_comparison, shared_model_testing_windows
from tests.support.constants import BLOCK_ID, GMM_BLOCK_ID, PROJECT_ID


@pytest.fixture(scope="module")
def blocks(demo_model):
    return demo_model, load_demo_gmm_model()


def test_validation_windows_are_matched_by_sample_start_and_label(blocks):
    a, b = blocks
    shared = shared_validation_windows(a, b)
    pa = predictions_frame(a.metadata.model_validation_metrics[1])  # float32, the recommended type
    pb = predictions_frame(b.metadata.model_validation_metrics[0])
    assert len(shared.truth) == len(pa) == len(pb) == 330
    first = shared.keys.iloc[0]
    row_a = pa[(pa["sample"] == first["sample"]) & (pa["start (ms)"] == first["start (ms)"])].iloc[0]
    row_b = pb[(pb["sample"] == first["sample"]) & (pb["start (ms)"] == first["start (ms)"])].iloc[0]
    assert (shared.scores_a[0], shared.scores_b[0]) == (row_a["anomaly score"], row_b["anomaly score"])
    assert shared.truth.sum() == (pa["label"] == "anomaly").sum()


def test_blocks_with_no_common_windows_share_nothing(blocks):
    a, b = blocks
    moved = b.metadata.model_copy(deep=True)
    for p in moved.model_validation_metrics[0].predictions:
        p.sample_id += 10_000
    other = type(b)(moved, b.feature_names, gmm=b.gmm, tflite=b.tflite)
    assert shared_validation_windows(a, other) is None
    comparison = compare_blocks(("A", a), ("B", other), None)
    assert comparison.labelled is None and comparison.matched is None and not comparison.costs.empty


def test_counts_agreement_and_matched_rate_follow_the_scores(blocks):
    a, b = blocks
    shared = shared_validation_windows(a, b)
    c = compare_blocks(("A", a), ("B", b), shared, false_alarm_rate=0.02)
    fa = shared.scores_a.astype(np.float32) > np.float32(0.3)
    fb = shared.scores_b.astype(np.float32) > np.float32(2.05)
    assert c.agreement == {
        "both flag": int(np.sum(fa & fb)),
        "only A flags": int(np.sum(fa & ~fb)),
        "only B flags": int(np.sum(~fa & fb)),
        "neither": int(np.sum(~fa & ~fb)),
    }
    assert c.labelled is not None
    side_a, side_b = c.labelled
    assert side_a.counts.tp == int(np.sum(fa & shared.truth)) and side_b.counts.fp == int(np.sum(fb & ~shared.truth))
    assert len(c.disagreements) == int(np.sum(fa != fb))
    assert {r.which for r in c.disagreements} <= {"only A", "only B"}
    allowed = int(0.02 * np.sum(~shared.truth))
    for scores, threshold, counts in (
        (shared.scores_a, c.matched.threshold_a, c.matched.counts_a),
        (shared.scores_b, c.matched.threshold_b, c.matched.counts_b),
    ):
        s = scores.astype(np.float32)
        assert counts.fp == int(np.sum((s > np.float32(threshold)) & ~shared.truth)) <= allowed
        lower = s[s < np.float32(threshold)]  # no lower threshold keeps the false alarms within the budget
        if len(lower):
            assert int(np.sum((s > lower.max()) & ~shared.truth)) > allowed


def test_costs_are_per_mcu_with_the_difference(blocks):
    a, b = blocks
    costs = cost_comparison(a, b)
    row = costs[costs["mcu"] == "cortex-m4f-80mhz"].iloc[0]

    def eon(model):
        perf = next(p for p in model.metadata.model_validation_metrics[-1].on_device_performance if p.mcu == row["mcu"])
        return perf.latency, perf.eon.ram_required / 1024

    (lat_a, ram_a), (lat_b, ram_b) = eon(a), eon(b)
    assert (row["latency (ms) A"], row["latency (ms) B"], row["latency (ms) B - A"]) == (lat_a, lat_b, lat_b - lat_a)
    assert row["RAM (KB) B - A"] == pytest.approx(ram_b - ram_a)


def test_an_upload_with_a_label_column_is_a_shared_source():
    labels = pd.Series(["idle", "shake", None, "tap", "idle"])
    shared = shared_upload_windows(
        "f.csv", [0.1, 2.0, 0.3, np.nan, 0.2], [1.0, 3.0, 0.5, 4.0, 0.1], labels, {"shake", "tap"}
    )
    assert shared.keys["row"].tolist() == [0, 1, 4]  # unlabelled and unscorable rows left out
    assert shared.truth.tolist() == [False, True, False]
    assert "2 unscorable or unlabelled left out" in shared.origin


def test_model_testing_results_of_both_blocks_from_the_local_api(local_api, blocks):
    client = local_api.client()
    results = client.get_model_testing_results(PROJECT_ID)
    shared = shared_model_testing_windows(
        block_test_windows(results, BLOCK_ID), block_test_windows(results, GMM_BLOCK_ID)
    )
    a, b = blocks
    assert len(shared.truth) == len(block_test_windows(results, BLOCK_ID).frame)
    c = compare_blocks(("A", a), ("B", b), shared)
    assert c.labelled is not None and len(c.labelled[1].curve)
