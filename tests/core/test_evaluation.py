"""Dashboard tables and metrics, checked against hand counts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ei_anomaly.evaluation import (
    binary_counts,
    confusion_labels,
    count_flagged,
    downsample_keep_flagged,
    fits_budget,
    is_anomaly_label,
    on_device_frame,
    pr_curve,
    predictions_frame,
    threshold_exports,
)


def test_anomaly_labels():
    assert is_anomaly_label("anomaly") and is_anomaly_label(" Anomalous ")
    assert not is_anomaly_label("idle") and not is_anomaly_label(None) and not is_anomaly_label("")


def test_binary_counts_use_strictly_greater():
    scores = np.array([0.3, 0.31, -1.0, 2.0])
    truth = np.array([True, True, False, False])
    c = binary_counts(scores, truth, 0.3)
    assert (c.tp, c.fp, c.fn, c.tn) == (1, 1, 1, 1)
    assert c.precision == 0.5 and c.recall == 0.5 and c.f1 == 0.5
    assert c.matrix == [[1, 1], [1, 1]]


def test_pr_curve_agrees_with_binary_counts_at_every_threshold():
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=300), 1)  # many ties
    truth = rng.random(300) < 0.3
    curve = pr_curve(scores, truth)
    for row in curve.itertuples():
        c = binary_counts(scores, truth, row.threshold)
        assert row.precision == pytest.approx(c.precision)
        assert row.recall == pytest.approx(c.recall)
    assert curve["recall"].iloc[-1] == 1.0


def test_demo_validation_tables(demo_model):
    metrics = demo_model.metadata.model_validation_metrics[1]
    assert confusion_labels(metrics) == ["normal", "anomaly"]
    frame = predictions_frame(metrics)
    assert len(frame) == 330
    assert frame["labelled anomaly"].sum() == 90
    counts = binary_counts(frame["anomaly score"], frame["labelled anomaly"], 0.3)
    assert counts.matrix == metrics.confusion_matrix


def test_on_device_frame_is_in_ms_and_kb(demo_model):
    frame = on_device_frame(demo_model.metadata)
    perf = demo_model.metadata.model_validation_metrics[0].on_device_performance[0]
    row = frame[(frame["mcu"] == perf.mcu) & (frame["engine"] == "EON") & (frame["model type"] == "int8")].iloc[0]
    assert row["RAM (KB)"] == pytest.approx(perf.eon.ram_required / 1024)
    assert row["latency (ms)"] == perf.latency
    assert len(frame) == 2 * 7 * 3
    fits = fits_budget(frame, ram_kb=1.5, rom_kb=7.0)
    assert not fits[frame["profiling error"] != ""].any()
    assert fits.sum() > 0 and not fits.all()


def test_downsampling_keeps_every_flagged_row():
    flags = np.zeros(200_000, bool)
    flags[::997] = True
    keep = downsample_keep_flagged(flags, 50_000, seed=1)
    assert len(keep) == 50_000 and np.all(np.diff(keep) > 0)
    assert set(np.flatnonzero(flags)) <= set(keep)
    assert np.array_equal(keep, downsample_keep_flagged(flags, 50_000, seed=1))
    assert len(downsample_keep_flagged(np.ones(10, bool), 4)) == 4
    assert len(downsample_keep_flagged(flags[:10], 50)) == 10


def test_threshold_exports():
    out = threshold_exports(4, "min_anomaly_score", 0.35)
    assert out["runner"] == "--thresholds 4.min_anomaly_score=0.35"
    assert json.loads(out["json"]) == {"thresholds": [{"blockId": 4, "key": "min_anomaly_score", "value": 0.35}]}
    assert "<learnId>" in threshold_exports(None, "min_anomaly_score", 1)["runner"]


def test_count_flagged_compares_in_float32():
    # 0.30000001 is 0.3 in float32: not strictly greater, as on the device
    assert count_flagged(np.array([0.30000001, 0.31, np.nan]), 0.3) == 1


def test_top_indices_skip_unscorable_rows(tiny_model):
    x = np.array([[0.0, 1.0, 2.0], [np.nan, 0, 0], [50.0, 1.0, 2.0], [5.0, 1.0, 2.0]])
    s = tiny_model.score_full(x)
    # by hand (axes [2, 0, 1]): row 0 scores sqrt(4.3125) - 0.5 = 1.58, row 3 sqrt(5.0625) - 1 = 1.25
    assert s.top_indices(10).tolist() == [2, 0, 3]
    assert s.top_indices(1).tolist() == [2]
