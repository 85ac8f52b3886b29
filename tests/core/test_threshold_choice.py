"""Threshold choice helpers: exact counts under the SDK's strict float32 `score > threshold`."""

from __future__ import annotations

import numpy as np
import pytest

from ei_anomaly import AnomalyLensError
from ei_anomaly.evaluation import (
    binary_counts,
    errors_per_sample,
    shortest_float32,
    threshold_for_cost,
    threshold_for_false_alarm_rate,
    threshold_for_recall,
)

SCORES = np.array([-0.5, -0.2, 0.1, 0.1, 0.4, 0.7, 0.35, 0.9, 1.2])
TRUTH = np.array([False, False, False, False, False, False, True, True, True])


def brute_force(scores, truth):
    """Every threshold worth trying, counted the slow way: each score and one below the lowest."""
    s32 = np.asarray(scores, np.float32)
    finite = s32[np.isfinite(s32)]
    cands = [np.nextafter(finite.min(), np.float32(-np.inf), dtype=np.float32), *np.unique(finite)]
    return [(float(c), binary_counts(scores, truth, float(c))) for c in cands]


def test_false_alarm_rate_is_the_smallest_threshold_within_budget():
    choice = threshold_for_false_alarm_rate(SCORES, TRUTH, 1 / 6)  # one false alarm allowed of 6 normals
    assert choice.counts.fp == 1
    assert choice.threshold == float(np.float32(0.4))  # 0.7 is the one false alarm left
    assert choice.counts == binary_counts(SCORES, TRUTH, choice.threshold)
    assert choice.counts.tp == 2  # 0.9 and 1.2; 0.35 is not above 0.4
    smaller = [t for t, c in brute_force(SCORES, TRUTH) if c.fp <= 1]
    assert choice.threshold == min(smaller)


def test_zero_false_alarms_and_rounding_of_the_budget():
    assert threshold_for_false_alarm_rate(SCORES, TRUTH, 0).counts.fp == 0
    assert threshold_for_false_alarm_rate(SCORES, TRUTH, 0).threshold == float(np.float32(0.7))
    # 0.29 * 100 is 28.999999999999996 in floats: 29 false alarms must still be allowed
    scores = np.arange(100, dtype=np.float32)
    truth = np.zeros(100, bool)
    assert threshold_for_false_alarm_rate(scores, truth, 0.29).counts.fp == 29


def test_recall_is_the_largest_threshold_reaching_it():
    choice = threshold_for_recall(SCORES, TRUTH, 1.0)
    assert choice.met and choice.counts.recall == 1.0
    assert choice.threshold == float(np.float32(0.1))  # the next score below 0.35
    assert choice.counts.fp == 2
    best = max(t for t, c in brute_force(SCORES, TRUTH) if c.recall >= 1.0)
    assert choice.threshold == best
    assert threshold_for_recall(SCORES, TRUTH, 0.6).threshold == float(np.float32(0.7))


def test_cost_weighted_minimum_matches_brute_force():
    for miss, fa in ((1, 1), (10, 1), (1, 10), (0, 1), (3.5, 0.25)):
        choice = threshold_for_cost(SCORES, TRUTH, miss, fa)
        costs = [(c.fn * miss + c.fp * fa, t) for t, c in brute_force(SCORES, TRUTH)]
        lowest = min(cost for cost, _ in costs)
        assert choice.counts.fn * miss + choice.counts.fp * fa == lowest
        assert choice.threshold == max(t for cost, t in costs if cost == lowest)  # ties: fewest alarms


def test_ties_between_normal_and_anomaly_scores():
    scores = np.array([0.5, 0.5, 0.5, 0.2])
    truth = np.array([True, False, True, False])
    # a threshold cannot split tied scores: recall 1 flags the tied normal too
    choice = threshold_for_recall(scores, truth, 1.0)
    assert choice.counts.tp == 2 and choice.counts.fp == 1
    assert choice.threshold == float(np.float32(0.2))
    zero_fa = threshold_for_false_alarm_rate(scores, truth, 0.0)
    assert zero_fa.counts.fp == 0 and zero_fa.counts.tp == 0 and zero_fa.threshold == float(np.float32(0.5))


def test_float32_ties_that_differ_in_float64():
    # distinct in float64, the same float32: the device cannot tell them apart either
    a = 0.1
    b = np.nextafter(a, 1.0)
    assert np.float32(a) == np.float32(b)
    choice = threshold_for_false_alarm_rate(np.array([a, b, 0.0]), np.array([False, True, False]), 0.0)
    assert choice.counts.fp == 0 and choice.counts.tp == 0
    assert choice.counts == binary_counts(np.array([a, b, 0.0]), np.array([False, True, False]), choice.threshold)


def test_flag_everything_is_just_below_the_lowest_score():
    scores = np.array([0.3, 0.5])
    truth = np.array([True, True])
    choice = threshold_for_recall(scores, truth, 1.0)
    assert choice.counts.tp == 2
    assert np.float32(choice.threshold) < np.float32(0.3)
    assert np.float32(choice.threshold) == np.nextafter(np.float32(0.3), np.float32(-1))


def test_all_normal_and_no_anomalies():
    scores = np.array([0.1, 0.2, 0.3])
    normal = np.zeros(3, bool)
    choice = threshold_for_false_alarm_rate(scores, normal, 0.0)
    assert choice.counts.fp == 0 and choice.threshold == float(np.float32(0.3))
    assert threshold_for_cost(scores, normal, 5, 1).counts.fp == 0
    with pytest.raises(AnomalyLensError, match="no windows labelled anomaly"):
        threshold_for_recall(scores, normal, 0.9)
    with pytest.raises(AnomalyLensError, match="no windows labelled normal"):
        threshold_for_false_alarm_rate(scores, ~normal, 0.01)


def test_unreachable_recall_returns_the_best_with_met_false():
    scores = np.array([np.nan, 0.5, 0.1])  # an unscorable anomaly is never flagged
    truth = np.array([True, True, False])
    choice = threshold_for_recall(scores, truth, 1.0)
    assert not choice.met
    assert choice.counts.tp == 1 and choice.counts.fn == 1
    assert choice.counts.fp == 0  # the largest threshold with that best recall
    assert choice.threshold == float(np.float32(0.1))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: threshold_for_false_alarm_rate(SCORES, TRUTH, 1.5), "between 0 and 1"),
        (lambda: threshold_for_false_alarm_rate(SCORES, TRUTH, float("nan")), "between 0 and 1"),
        (lambda: threshold_for_recall(SCORES, TRUTH, 0), "above 0"),
        (lambda: threshold_for_cost(SCORES, TRUTH, -1, 1), "missed anomaly"),
        (lambda: threshold_for_cost(SCORES, TRUTH, 0, 0), "at least one cost"),
        (lambda: threshold_for_recall(np.array([np.nan]), np.array([True]), 0.5), "no scored windows"),
    ],
)
def test_bad_targets_are_refused(call, message):
    with pytest.raises(AnomalyLensError, match=message):
        call()


def test_random_sets_agree_with_brute_force():
    rng = np.random.default_rng(5)
    for _ in range(30):
        n = int(rng.integers(2, 60))
        scores = np.round(rng.normal(0, 1, n), int(rng.integers(1, 4)))  # rounding makes ties
        truth = rng.random(n) < 0.3
        truth[0], truth[1] = True, False
        table = brute_force(scores, truth)
        rate = float(rng.uniform(0, 0.5))
        fa = threshold_for_false_alarm_rate(scores, truth, rate)
        assert fa.threshold == min(t for t, c in table if c.fp <= np.floor(rate * (~truth).sum() + 1e-9))
        target = float(rng.uniform(0.1, 1))
        rc = threshold_for_recall(scores, truth, target)
        assert rc.threshold == max(t for t, c in table if c.tp >= np.ceil(target * truth.sum() - 1e-9))
        for choice in (fa, rc):
            assert choice.counts == binary_counts(scores, truth, choice.threshold)


def test_shortest_float32():
    assert shortest_float32(0.7400000095367432) == 0.74
    assert np.float32(shortest_float32(0.123456789)) == np.float32(0.123456789)
    assert shortest_float32(-2.0) == -2.0


def test_errors_per_sample_ranks_the_worst_samples():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "sample id": [1, 1, 2, 2, 3],
            "sample": ["a", "a", "b", "b", "c"],
            "label": ["shake", "shake", "idle", "idle", "idle"],
            "anomaly score": [0.1, 0.2, 0.9, 0.8, 0.0],
            "expected anomaly": [True, True, False, False, False],
        }
    )
    table = errors_per_sample(frame, 0.5)
    assert table["sample"].tolist() == ["a", "b"]  # tie on errors: lower sample id first; c has none
    assert table.loc[0, "missed anomalies"] == 2 and table.loc[0, "false alarms"] == 0
    assert table.loc[1, "false alarms"] == 2 and table.loc[1, "highest score"] == pytest.approx(0.9)
    assert errors_per_sample(frame, 0.15)["sample"].tolist() == ["b", "a"]  # b: 2 false alarms, a: 1 miss
