"""How sure a fleet's alarm rate is (`ei_anomaly/alarms/bootstrap.py`, `ei_anomaly/bounds.py`): the
bootstrap over devices covers a simulated fleet's true rate at about the nominal level (and an
interval that treats alarms as independent does not), it is seeded, the budget helper's answer
on the upper bound is the one brute force finds, and the curve's upper bound is the interval."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from ei_anomaly.alarms import AlarmPolicy, Smoothing, alarm_curve, bootstrap, build_fleet_log, simulate
from ei_anomaly.alarms.bootstrap import fleet_interval, lowest_threshold_by_bound, upper_curve
from ei_anomaly.alarms.views import curve_thresholds
from ei_anomaly.bounds import bootstrap_weights, ratio_interval
from ei_anomaly.errors import UsageError
from ei_anomaly.review import alarm_budget, fleet_section
from tests.support.fleet import demo_fleet_log

TRUE_RATE = 0.5  # alarms per device per day of the simulated fleets' population


def simulated_fleet(rng: np.random.Generator, devices: int, shape: float) -> tuple[np.ndarray, np.ndarray]:
    """Devices of 1 to 5 days, each with its own alarm rate (gamma, mean TRUE_RATE: some devices are
    much noisier than others), alarms Poisson over its days. The population's alarms per device-day
    is TRUE_RATE."""
    days = rng.uniform(1, 5, devices)
    rates = rng.gamma(shape, TRUE_RATE / shape, devices)
    return rng.poisson(rates * days), days


def bootstrap_covers(alarms: np.ndarray, days: np.ndarray, seed: int) -> bool:
    found = ratio_interval(alarms, days, 0.95, 1_000, seed)
    return found.low <= TRUE_RATE <= found.high


def independent_alarms_cover(alarms: np.ndarray, days: np.ndarray, seed: int) -> bool:
    """Wrong on purpose: the exact Poisson interval of all alarms over all device-days, as if the
    alarms were independent of the device that raised them."""
    total, exposure = int(alarms.sum()), float(days.sum())
    low = stats.chi2.ppf(0.025, 2 * total) / 2 / exposure if total else 0.0
    high = stats.chi2.ppf(0.975, 2 * (total + 1)) / 2 / exposure
    return low <= TRUE_RATE <= high


def coverage(interval, fleets: int, devices: int, shape: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    return float(np.mean([interval(*simulated_fleet(rng, devices, shape), seed=i) for i in range(fleets)]))


def about_nominal(share: float, fleets: int) -> bool:
    """About 95 %: the percentile bootstrap of a ratio over a few dozen uneven devices runs a little
    short (about 92-93 % here); at least 90 %, at most 95 % plus Monte Carlo tolerance."""
    return 0.90 <= share <= 0.95 + 3.5 * math.sqrt(0.95 * 0.05 / fleets)


def test_the_bootstrap_interval_covers_a_simulated_fleets_true_rate():
    """1,000 seeded fleets of 36 devices (the demo's size), 1,000 resamples each."""
    share = coverage(bootstrap_covers, 1_000, 36, shape=2.0, seed=1)
    assert about_nominal(share, 1_000), share


def test_an_interval_that_ignores_devices_fails_the_same_check():
    share = coverage(independent_alarms_cover, 1_000, 36, shape=2.0, seed=1)
    assert not about_nominal(share, 1_000), share


@pytest.mark.slow
@pytest.mark.parametrize(("devices", "shape"), [(36, 2.0), (100, 1.0), (200, 4.0)])
def test_the_bootstrap_interval_covers_at_more_fleet_sizes(devices, shape):
    share = coverage(bootstrap_covers, 3_000, devices, shape=shape, seed=devices)
    assert about_nominal(share, 3_000), share


def test_the_bootstrap_is_seeded_and_needs_a_thousand_resamples():
    a, b = bootstrap_weights(36, 1_000, 0), bootstrap_weights(36, 1_000, 0)
    assert (a == b).all() and (a.sum(axis=1) == 36).all()
    assert not (a == bootstrap_weights(36, 1_000, 1)).all()
    with pytest.raises(UsageError, match="at least 1,000"):
        bootstrap_weights(36, 999, 0)
    found = ratio_interval([0, 1, 5, 0], [1.0, 2.0, 1.0, 0.0])
    assert found.estimate == pytest.approx(6 / 4) and found.low <= found.estimate <= found.high
    assert found.replicates == 2_000 and found.seed == 0 and found.units == 4


def test_the_demo_fleets_interval_on_the_section_and_in_json():
    log = demo_fleet_log()
    section = fleet_section("fleet_log.csv", log, AlarmPolicy(0.3, Smoothing(10, 7)))
    interval = section.interval
    assert interval is not None and interval.low <= section.rate <= interval.high
    assert interval.units == 36 and interval.replicates >= 1_000
    assert section.interval_text == f"{interval.low:.3g} – {interval.high:.3g}"
    shown = section.to_dict()["alarms_per_device_per_day_interval"]
    assert shown["low"] == interval.low and shown["high"] == interval.high and shown["seed"] == 0


def small_log(seed: int):
    """5 devices of 40 windows, 10 minutes apart; two of them noisy."""
    rng = np.random.default_rng(seed)
    devices = np.repeat(np.arange(5), 40)
    scores = rng.normal(0.2, 0.1, 200).astype(np.float32)
    scores[devices >= 3] += np.float32(0.15)
    times = np.tile(np.arange(40) * 600.0, 5)
    return build_fleet_log(scores, pa.array([f"d{d}" for d in devices]), pa.array(times))


def upper_at(log, threshold: float, smoothing: Smoothing | None, cooldown: float) -> float:
    return fleet_interval(log, simulate(log, AlarmPolicy(threshold, smoothing, cooldown))).high


@pytest.mark.parametrize(
    ("smoothing", "cooldown"), [(None, 0.0), (Smoothing(3, 2), 0.0), (Smoothing(4, 3), 1800.0)], ids=str
)
def test_the_lowest_threshold_by_bound_is_what_brute_force_finds(smoothing, cooldown):
    log = small_log(4)
    budget = 2.0
    found = lowest_threshold_by_bound(log, smoothing, budget, cooldown)
    assert upper_at(log, found.threshold, smoothing, cooldown) == pytest.approx(found.upper)
    assert found.upper <= budget
    values = np.unique(log.scores[np.isfinite(log.scores)])
    tried = np.unique(np.concatenate([values, np.nextafter(values, np.float32(-np.inf))]))
    higher = tried[tried > np.float32(found.threshold)]
    below = float(np.nextafter(np.float32(found.threshold), np.float32(-np.inf)))
    if cooldown > 0:  # found by bisection: the answer keeps the budget; the score just below it does not
        assert upper_at(log, below, smoothing, cooldown) > budget or found.threshold <= values[0]
        return
    assert all(upper_at(log, float(t), smoothing, cooldown) <= budget for t in higher)  # every higher one keeps it
    assert upper_at(log, below, smoothing, cooldown) > budget  # and it is the lowest
    assert found.exact


def test_the_budget_helper_gives_both_answers():
    log = demo_fleet_log()
    section = fleet_section("fleet_log.csv", log, AlarmPolicy(0.3, Smoothing(10, 7)))
    helper = alarm_budget(section, 1.0)
    assert helper.lowest is not None and helper.lowest_bound is not None
    assert helper.lowest_bound.threshold >= helper.lowest.threshold  # the bound asks more of the threshold here
    shown = helper.to_dict()["lowest_threshold_by_upper_bound"]
    assert shown["threshold"] == helper.lowest_bound.threshold and shown["upper_bound_per_device_per_day"] <= 1.0


@pytest.mark.parametrize(
    ("smoothing", "cooldown"), [(None, 0.0), (Smoothing(10, 7), 0.0), (Smoothing(4, 3), 1800.0)], ids=str
)
def test_the_upper_curve_is_the_interval_at_each_threshold(smoothing, cooldown):
    """The curve's upper bound at a threshold is the interval the policy at that threshold gets."""
    log = demo_fleet_log()
    thresholds = curve_thresholds(log)
    upper = upper_curve(log, smoothing, thresholds, cooldown)
    assert (upper.alarms == alarm_curve(log, smoothing, thresholds, cooldown).alarms).all()
    for j in range(0, len(thresholds), 20):
        policy = AlarmPolicy(float(thresholds[j]), smoothing, cooldown)
        assert upper.per_device_day[j] == fleet_interval(log, simulate(log, policy)).high


# --- a fleet of more devices than MAX_GROUPS: a bootstrap over random groups of devices --------------


@pytest.mark.parametrize(("smoothing", "cooldown"), [(None, 0.0), (Smoothing(4, 3), 1800.0)], ids=str)
def test_grouped_resamples_keep_the_curve_the_interval_and_the_budget_helper_consistent(
    monkeypatch, smoothing, cooldown
):
    """With groups, the curve's upper bound is still the interval a policy gets, and the budget
    helper's answer still keeps it (the demo's 36 devices in 10 groups)."""
    monkeypatch.setattr(bootstrap, "MAX_GROUPS", 10)
    log = demo_fleet_log()
    thresholds = curve_thresholds(log)
    upper = upper_curve(log, smoothing, thresholds, cooldown)
    assert (upper.alarms == alarm_curve(log, smoothing, thresholds, cooldown).alarms).all()
    for j in range(0, len(thresholds), 20):
        found = fleet_interval(log, simulate(log, AlarmPolicy(float(thresholds[j]), smoothing, cooldown)))
        assert found.groups == 10 and found.units == 36
        assert upper.per_device_day[j] == found.high
    lowest = lowest_threshold_by_bound(log, smoothing, 1.0, cooldown)
    assert fleet_interval(log, simulate(log, AlarmPolicy(lowest.threshold, smoothing, cooldown))).high <= 1.0


def test_a_fleet_of_many_devices_is_resampled_in_bounded_groups_with_about_the_same_interval():
    """Issue 27's bound on the issue 25 interval: 2,000 resamples of 200,000 devices were a 1.6 GB
    matrix (5.5 GB at its peak in `report --fleet`). Past MAX_GROUPS devices they are dealt into
    MAX_GROUPS random groups; the interval stays about the per-device one."""
    rng = np.random.default_rng(9)
    n = 20_000
    scores = rng.gamma(2.0, 0.1, 20 * n).astype(np.float32)
    devices = pa.array(np.repeat([f"d{i}" for i in range(n)], 20))
    times = pa.array(np.tile(np.arange(20) * 3600.0, n) + np.repeat(rng.uniform(0, 3600, n), 20))
    log = build_fleet_log(scores, devices, times)
    result = simulate(log, AlarmPolicy(0.5))
    grouped = fleet_interval(log, result)
    assert grouped.groups == bootstrap.MAX_GROUPS and grouped.units == n
    assert bootstrap.fleet_weights(log).weights.shape == (2_000, bootstrap.MAX_GROUPS)
    per_device = ratio_interval(result.alarms, result.days, 0.95, 2_000, 0)
    assert grouped.estimate == pytest.approx(per_device.estimate)
    width, reference = grouped.high - grouped.low, per_device.high - per_device.low
    assert abs(width - reference) <= 0.15 * reference
    assert grouped.to_dict()["groups"] == bootstrap.MAX_GROUPS
