"""The alarm simulation against the SDK's smoothing restated line by line (tests/support/sdk_smooth.py),
on random and adversarial logs; the threshold helpers against brute force."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from ei_anomaly.alarms import (
    AlarmPolicy,
    Smoothing,
    alarm_curve,
    build_fleet_log,
    device_trace,
    lowest_threshold,
    parse_smoothing,
    simulate,
)
from ei_anomaly.errors import FeatureFileError, UsageError
from tests.support.sdk_smooth import SdkSmooth, reference_device

T = 0.3
T32 = float(np.float32(T))


def random_log(rng: np.random.Generator, n_rows: int, n_devices: int, ties: bool, n_labels: int = 0):
    """Rows in shuffled order (logs arrive late): device ids, times, scores, class codes."""
    devices = rng.integers(0, n_devices, n_rows)
    times = rng.choice(np.arange(n_rows * 3), n_rows, replace=False).astype(np.float64)  # distinct
    scores = rng.normal(T, 0.15, n_rows).astype(np.float32)
    if ties:  # many scores exactly at the float32 threshold, and its neighbours
        pick = rng.random(n_rows)
        scores[pick < 0.3] = np.float32(T)
        scores[(pick >= 0.3) & (pick < 0.4)] = np.nextafter(np.float32(T), np.float32(1))
        scores[(pick >= 0.4) & (pick < 0.5)] = np.nextafter(np.float32(T), np.float32(0))
    scores[rng.random(n_rows) < 0.02] = np.nan  # unscorable windows
    classes = rng.integers(-1, n_labels, n_rows) if n_labels else None
    return devices, times, scores, classes


def reference_fleet(devices, times, scores, n, k, threshold, cooldown=0.0, classes=None, n_labels=0):
    """Per device id: (answers, alarms) from the line-by-line SDK restatement."""
    out = {}
    for d in np.unique(devices):
        rows = np.flatnonzero(devices == d)
        rows = rows[np.argsort(times[rows], kind="stable")]
        cls = None if classes is None else list(classes[rows])
        out[str(d)] = reference_device(list(scores[rows]), list(times[rows]), n, k, threshold, cooldown, cls, n_labels)
    return out


def log_of(devices, times, scores, classes=None):
    cls = None
    if classes is not None:
        cls = pa.array([None if c < 0 else f"class {c}" for c in classes], pa.string())
    return build_fleet_log(scores, pa.array(devices.astype(str)), pa.array(times), classes=cls)


SMOOTHINGS = [(None, None), (1, 1), (2, 1), (3, 3), (4, 2), (5, 3), (10, 7), (10, 10), (10, 1), (7, 4)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n,k", SMOOTHINGS)
def test_anomaly_only_matches_the_sdk(seed, n, k):
    rng = np.random.default_rng(seed)
    devices, times, scores, _ = random_log(rng, 400, 5, ties=seed % 2 == 0)
    log = log_of(devices, times, scores)
    smoothing = Smoothing(n, k) if n else None
    for cooldown in (0.0, 25.0):
        policy = AlarmPolicy(T, smoothing, cooldown)
        result = simulate(log, policy)
        ref = reference_fleet(devices, times, scores, n, k, T, cooldown)
        assert result.devices == sorted(ref)
        for d, name in enumerate(result.devices):
            answers, alarms = ref[name]
            trace = device_trace(log, d, policy)
            assert trace.answer_anomaly.tolist() == answers
            assert trace.alarm.tolist() == alarms
            assert result.alarms[d] == sum(alarms)
            assert result.anomaly_windows[d] == int(np.sum(scores[devices == int(name)] > np.float32(T)))
    assert "anomaly-only" in result.simulation


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n,k", [(3, 2), (5, 2), (6, 3), (10, 4), (4, 4), (8, 1)])
def test_class_column_matches_the_sdk(seed, n, k):
    """With class readings the anomaly answer depends on how the other readings split over classes."""
    rng = np.random.default_rng(100 + seed)
    n_labels = 1 + seed % 4
    devices, times, scores, classes = random_log(rng, 400, 4, ties=seed % 2 == 1, n_labels=n_labels)
    log = log_of(devices, times, scores, classes)
    policy = AlarmPolicy(T, Smoothing(n, k))
    result = simulate(log, policy)
    # class codes in the log follow the labels' first appearance; the SDK's answer does not depend on order
    ref = reference_fleet(devices, times, scores, n, k, T, classes=classes, n_labels=n_labels)
    for d, name in enumerate(result.devices):
        answers, alarms = ref[name]
        trace = device_trace(log, d, policy)
        assert trace.answer_anomaly.tolist() == answers
        assert result.alarms[d] == sum(alarms)
    assert "with classes" in result.simulation


def test_classes_change_the_answer():
    """4 of 10 anomalous, 6 uncertain: uncertain wins; the same 6 split 3/3 over two classes: anomaly wins."""
    scores = np.array([0.0] * 6 + [1.0] * 4, np.float32)
    times = np.arange(10.0)
    devices = np.zeros(10, np.int64)
    alone = simulate(log_of(devices, times, scores), AlarmPolicy(T, Smoothing(10, 4)))
    split = simulate(log_of(devices, times, scores, np.array([0, 1] * 3 + [0] * 4)), AlarmPolicy(T, Smoothing(10, 4)))
    assert alone.alarms.tolist() == [0] and split.alarms.tolist() == [1]
    ref = reference_device(list(scores), list(times), 10, 4, T, classes=[0, 1] * 3 + [0] * 4, n_labels=2)
    assert sum(ref[1]) == 1


def test_a_score_equal_to_the_threshold_is_a_reading_but_not_an_anomalous_window():
    """Smoothing uses the SDK's >=, the no-smoothing path and anomaly_windows Studio's >."""
    scores = np.full(5, np.float32(T))
    log = log_of(np.zeros(5, np.int64), np.arange(5.0), scores)
    smoothed = simulate(log, AlarmPolicy(T, Smoothing(1, 1)))
    plain = simulate(log, AlarmPolicy(T))
    assert smoothed.alarms.tolist() == [1] and smoothed.anomaly_windows.tolist() == [0]
    assert plain.alarms.tolist() == [0]
    smooth = SdkSmooth(1, 1, [], anomaly_confidence=T)
    assert smooth.update([], T32) == "anomaly"


def test_the_first_window_counts_against_uncertain_readings():
    """No warm-up: with 3:2 the answer turns anomalous at the 2nd anomalous window, not the 3rd."""
    log = log_of(np.zeros(4, np.int64), np.arange(4.0), np.array([1, 1, 1, 0], np.float32))
    trace = device_trace(log, 0, AlarmPolicy(T, Smoothing(3, 2)))
    assert trace.answer_anomaly.tolist() == [False, True, True, True]


def test_out_of_order_rows_are_ordered_by_time_per_device():
    times = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    scores = np.array([0, 1, 1, 0, 1], np.float32)  # in time order: 1 0 1 1 0 -> two runs
    log = log_of(np.zeros(5, np.int64), times, scores)
    result = simulate(log, AlarmPolicy(T))
    assert result.alarms.tolist() == [2]
    assert result.days.tolist() == [4 / 86400]
    assert log.order.tolist() == [1, 3, 2, 4, 0]


def test_one_window_device_gets_a_row_with_no_rate():
    devices = np.array([0, 0, 1])
    log = log_of(devices, np.array([0.0, 86400.0, 7.0]), np.array([1, 0, 1], np.float32))
    result = simulate(log, AlarmPolicy(T))
    assert result.windows.tolist() == [2, 1]
    assert result.alarms.tolist() == [1, 1]
    rate = result.alarms_per_day
    assert rate[0] == 1.0 and np.isnan(rate[1])


def test_stride_gives_times_without_a_time_column():
    devices = pa.array(["a", "b", "a", "a"])
    log = build_fleet_log(np.array([1, 1, 0, 1], np.float32), devices, None, stride_s=3600)
    result = simulate(log, AlarmPolicy(T))
    assert result.days.tolist() == [2 / 24, 0.0]
    assert result.alarms.tolist() == [2, 1]
    with pytest.raises(UsageError, match="stride"):
        build_fleet_log(np.zeros(4, np.float32), devices, None)


def test_rows_without_device_or_time_are_counted_not_silently_dropped():
    devices = pa.array(["a", None, "a", "a"])
    times = pa.array(["2026-01-01T00:00:00", "2026-01-01T00:00:01", "not a time", "2026-01-02T00:00:00"])
    log = build_fleet_log(np.ones(4, np.float32), devices, times)
    assert log.n_windows == 2 and log.skipped == 2 and log.first_skipped_row == 2
    assert log.days.tolist() == [1.0]
    with pytest.raises(FeatureFileError, match="device"):
        build_fleet_log(np.ones(2, np.float32), pa.array([None, None], pa.string()), pa.array([1.0, 2.0]))


def test_numeric_device_ids_read_as_floats_print_as_integers():
    log = build_fleet_log(np.ones(2, np.float32), pa.array([17.0, 3.0]), pa.array([1.0, 2.0]))
    assert log.device_names == ["17", "3"]


def test_epoch_milliseconds_are_recognised():
    log = build_fleet_log(np.ones(2, np.float32), pa.array(["a", "a"]), pa.array([1.7e12, 1.7e12 + 86_400_000]))
    assert log.days.tolist() == [1.0]


@pytest.mark.parametrize("text", ["3:4", "0:0", "10:0", "256:3", "5", "a:b", "-1:1"])
def test_smoothing_the_sdk_cannot_run_is_refused_clearly(text):
    with pytest.raises(UsageError) as info:
        parse_smoothing(text)
    assert "smoothing" in str(info.value)


def test_min_above_n_names_both_numbers():
    with pytest.raises(UsageError, match=r"between 1 and n readings \(3\)"):
        Smoothing(3, 4)
    assert parse_smoothing("255:255") == Smoothing(255, 255)


@pytest.mark.parametrize("n,k", SMOOTHINGS[:6])
@pytest.mark.parametrize("cooldown", [0.0, 30.0])
def test_curve_equals_the_simulation_at_every_threshold(n, k, cooldown):
    rng = np.random.default_rng(7)
    devices, times, scores, _ = random_log(rng, 300, 4, ties=True)
    log = log_of(devices, times, scores)
    smoothing = Smoothing(n, k) if n else None
    grid = np.concatenate([np.linspace(-0.2, 0.8, 41), [T, T32, float(np.nextafter(np.float32(T), np.float32(1)))]])
    curve = alarm_curve(log, smoothing, grid, cooldown)
    expected = [simulate(log, AlarmPolicy(float(t), smoothing, cooldown)).total_alarms for t in grid]
    assert curve.alarms.tolist() == expected
    assert curve.per_device_day.tolist() == pytest.approx(np.array(expected) / log.days.sum())


@pytest.mark.parametrize("n,k", SMOOTHINGS[:7])
@pytest.mark.parametrize("budget", [0.0, 20.0, 200.0, 5000.0])
def test_lowest_threshold_is_the_lowest_that_keeps_the_budget_everywhere_above(n, k, budget):
    rng = np.random.default_rng(11)
    devices, times, scores, _ = random_log(rng, 200, 3, ties=True)
    log = log_of(devices, times, scores)
    smoothing = Smoothing(n, k) if n else None
    found = lowest_threshold(log, smoothing, budget)
    days = log.days.sum()

    def rate(t: float) -> float:
        return simulate(log, AlarmPolicy(t, smoothing)).total_alarms / days

    assert found.exact and rate(found.threshold) <= budget
    assert found.per_device_day == pytest.approx(rate(found.threshold))
    # every candidate threshold above keeps it; the float32 just below breaks it (unless nothing does)
    finite = np.unique(scores[np.isfinite(scores)])
    probes = np.concatenate([finite, np.nextafter(finite, np.float32(np.inf))])
    assert all(rate(float(t)) <= budget for t in probes if t >= np.float32(found.threshold))
    below = float(np.nextafter(np.float32(found.threshold), np.float32(-np.inf)))
    if found.note.startswith("exact"):
        assert rate(below) > budget


def test_lowest_threshold_with_a_cooldown_is_checked():
    rng = np.random.default_rng(3)
    devices, times, scores, _ = random_log(rng, 300, 3, ties=False)
    log = log_of(devices, times, scores)
    found = lowest_threshold(log, Smoothing(3, 2), 50.0, cooldown_s=40.0)
    assert not found.exact
    assert simulate(log, AlarmPolicy(found.threshold, Smoothing(3, 2), 40.0)).total_alarms / log.days.sum() <= 50.0
