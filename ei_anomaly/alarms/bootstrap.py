"""How sure a fleet's alarm rate is: a bootstrap over devices.

A fleet of a few dozen devices over a few days gives one number of alarms per device per day;
another few dozen devices would give another. Devices are the unit: each keeps its own alarms and
its own days, and the fleet is resampled with replacement (`ei_anomaly.bounds.bootstrap_weights`,
seeded, the same resamples for every threshold), so the interval follows how much devices differ.

- `fleet_interval`: the fleet's alarms per device per day under a policy, with its percentile
  interval.
- `upper_curve`: the interval's upper end at each threshold of the alarms-per-day curve.
- `lowest_threshold_by_bound`: the lowest threshold whose interval's upper end stays within an
  alarm budget, there and at every higher threshold. Without a cool-down it is exact for every
  threshold at once: each device's alarm count changes only where an alarm interval
  (`tuning`) begins or ends, so a sweep down from the highest level meets every count there is,
  and stops at the first level whose upper end breaks the budget. With a cool-down it is found by
  bisection over the scores and checked.

A fleet of more than `MAX_GROUPS` devices is resampled as `MAX_GROUPS` groups of devices dealt at
random (a cluster bootstrap: each group keeps its devices' alarms and days), so that what is held
(replicates x groups) stays bounded whatever the number of devices; up to `MAX_GROUPS` devices,
each device is its own group.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ..bounds import (
    DEFAULT_CONFIDENCE,
    DEFAULT_REPLICATES,
    DEFAULT_SEED,
    RatioInterval,
    bootstrap_weights,
    ratio_interval,
)
from ..errors import UsageError
from . import kernels
from .fleet_log import FleetLog
from .policy import Smoothing
from .simulate import FleetAlarms, answer_levels, effective_level
from .tuning import AlarmCurve, device_days, threshold_for_level

__all__ = [
    "MAX_GROUPS",
    "DeviceResamples",
    "LowestBoundThreshold",
    "fleet_interval",
    "fleet_weights",
    "lowest_threshold_by_bound",
    "upper_curve",
]

_CELLS = 4_000_000  # replicates x events held at once by the sweep


MAX_GROUPS = 4_000  # devices resampled one by one up to this many; more as this many random groups


@dataclass(frozen=True)
class DeviceResamples:
    """The log's resamples: `weights` (replicates x groups) counts how often each group is drawn;
    `group` maps each device to its group (the identity up to `MAX_GROUPS` devices)."""

    weights: npt.NDArray[np.int32]
    group: npt.NDArray[np.int64]

    @property
    def groups(self) -> int:
        return int(self.weights.shape[1])

    @property
    def grouped(self) -> bool:
        """True when devices share groups (more than `MAX_GROUPS` of them)."""
        return self.groups < len(self.group)

    def per_group(self, per_device: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Per-device values (devices, or devices x k) summed within each group."""
        values = np.asarray(per_device, np.float64)
        if not self.grouped:
            return values
        if values.ndim == 1:
            return np.asarray(np.bincount(self.group, weights=values, minlength=self.groups), np.float64)
        return np.stack([np.bincount(self.group, weights=c, minlength=self.groups) for c in values.T], axis=1)

    def totals(self, per_device: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Per replicate, the sum of the drawn devices' values (one column per column of values)."""
        return self.weights.astype(np.float64) @ self.per_group(per_device)


def fleet_weights(log: FleetLog, replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED) -> DeviceResamples:
    """The log's device resamples, drawn once per log, count and seed."""

    def draw() -> DeviceResamples:
        n = log.n_devices
        if n > MAX_GROUPS:
            rng = np.random.default_rng([seed, n])
            group = (rng.permutation(n) % MAX_GROUPS).astype(np.int64)
        else:
            group = np.arange(n, dtype=np.int64)
        weights = bootstrap_weights(min(n, MAX_GROUPS), replicates, seed)
        weights.setflags(write=False)
        group.setflags(write=False)
        return DeviceResamples(weights, group)

    return log.cached(("bootstrap_weights", replicates, seed), draw)


def fleet_interval(
    log: FleetLog,
    result: FleetAlarms,
    confidence: float = DEFAULT_CONFIDENCE,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = DEFAULT_SEED,
) -> RatioInterval:
    """Alarms per device per day over the fleet (all alarms over all devices' days) and its
    bootstrap interval over devices (over groups of devices in a fleet of more than `MAX_GROUPS`)."""
    resamples = fleet_weights(log, replicates, seed)
    found = ratio_interval(
        resamples.per_group(result.alarms),
        resamples.per_group(result.days),
        confidence,
        replicates,
        seed,
        weights=resamples.weights,
    )
    return replace(found, units=len(resamples.group), groups=resamples.groups if resamples.grouped else None)


@dataclass(frozen=True)
class LowestBoundThreshold:
    """The lowest threshold whose interval's upper end keeps an alarm budget (and every higher one's)."""

    threshold: float  # a float32 value
    upper: float  # the upper end of the interval there, alarms per device per day
    per_device_day: float  # the point estimate there
    budget_per_day: float
    confidence: float
    replicates: int
    seed: int
    exact: bool  # False with a cool-down: found by bisection, then checked
    note: str

    def to_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "upper_bound_per_device_per_day": self.upper,
            "alarms_per_device_per_day_there": self.per_device_day,
            "confidence": self.confidence,
            "how_found": self.note,
        }


def _ratios(numerators: npt.NDArray[np.int64], days: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per level (rows) and replicate (columns): alarms over days, as `bounds.replicate_ratios` does."""
    ratio: npt.NDArray[np.float64] = np.ascontiguousarray(numerators.T) / days
    if not (days > 0).all():
        ratio = np.where(days > 0, ratio, np.where(numerators.T > 0, np.inf, 0.0))
    return ratio


def lowest_threshold_by_bound(
    log: FleetLog,
    smoothing: Smoothing | None,
    budget_per_day: float,
    cooldown_s: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = DEFAULT_SEED,
) -> LowestBoundThreshold:
    """The lowest threshold at which the upper end of the bootstrap interval of the fleet's alarms
    per device per day is at most `budget_per_day`, and so is every higher threshold's. Kept with
    the log for these arguments."""
    if not (np.isfinite(budget_per_day) and budget_per_day >= 0):
        raise UsageError(f"the alarm budget must be a number >= 0, not {budget_per_day}")
    key = ("lowest_by_bound", smoothing, float(budget_per_day), float(cooldown_s), confidence, replicates, seed)
    return log.cached(
        key, lambda: _lowest_by_bound(log, smoothing, budget_per_day, cooldown_s, confidence, replicates, seed)
    )


def _lowest_by_bound(
    log: FleetLog,
    smoothing: Smoothing | None,
    budget: float,
    cooldown_s: float,
    confidence: float,
    replicates: int,
    seed: int,
) -> LowestBoundThreshold:
    total_days = device_days(log)
    resamples = fleet_weights(log, replicates, seed)
    days = resamples.totals(log.days)  # each replicate's device-days
    found = (
        _sweep(log, smoothing, budget, confidence, resamples, days)
        if cooldown_s <= 0
        else _bisect(log, smoothing, budget, cooldown_s, confidence, resamples, days)
    )
    level, upper, alarms, note = found
    return LowestBoundThreshold(
        threshold_for_level(level, smoothing),
        upper,
        alarms / total_days,
        budget,
        confidence,
        replicates,
        seed,
        cooldown_s <= 0,
        note,
    )


def _upper(
    numerators: npt.NDArray[np.int64], days: npt.NDArray[np.float64], confidence: float
) -> npt.NDArray[np.float64]:
    """The interval's upper end (`bounds.interval_ends`) at each level (columns of `numerators`)."""
    high = np.quantile(_ratios(numerators, days), 1 - (1 - confidence) / 2, axis=1)
    return np.asarray(high, np.float64)


@dataclass(frozen=True)
class _Events:
    """Where each device's alarm count changes, sweeping down from the highest level: at descending
    position p of `candidates` (ascending levels), device `who` gains (`sign` +1) or loses (-1) an
    alarm. The same for every budget: kept with the log."""

    candidates: npt.NDArray[np.float32]
    position: npt.NDArray[np.int64]
    who: npt.NDArray[np.int64]
    sign: npt.NDArray[np.int64]


def _events(log: FleetLog, smoothing: Smoothing | None) -> _Events:
    key = None if smoothing is None else (smoothing.n_readings, smoothing.min_readings_same)
    return log.cached(("bootstrap_events", key), lambda: _compute_events(log, smoothing))


def _compute_events(log: FleetLog, smoothing: Smoothing | None) -> _Events:
    levels = answer_levels(log, smoothing)
    before = np.empty_like(levels)
    before[1:] = levels[:-1]
    before[log.starts[:-1]] = -np.inf  # a device's first window follows its uncertain start
    useful = before < levels
    device = np.repeat(np.arange(log.n_devices), log.windows)[useful]
    low, high = before[useful], levels[useful]
    finite = np.isfinite(low)
    # an alarm interval counts at levels c with low < c <= high: in descending positions of the
    # candidate levels, from its high's position on, until its low's
    candidates, inverse = np.unique(np.concatenate([high, low[finite]]), return_inverse=True)
    position = (len(candidates) - 1) - np.asarray(inverse, np.int64).ravel()
    who = np.concatenate([device, device[finite]]).astype(np.int64)
    sign = np.concatenate([np.ones(len(high), np.int64), -np.ones(int(finite.sum()), np.int64)])
    n = len(position)
    order = np.sort(position * n + np.arange(n)) % n  # by position (a sort of integers: far faster than argsort)
    return _Events(candidates, position[order], who[order], sign[order])


def _sweep(
    log: FleetLog,
    smoothing: Smoothing | None,
    budget: float,
    confidence: float,
    resamples: DeviceResamples,
    days: npt.NDArray[np.float64],
) -> tuple[float, float, int, str]:
    """(level, upper end there, alarms there, note), exact: every level where a count changes."""
    weights, group = resamples.weights, resamples.group
    events = _events(log, smoothing)
    candidates, position, who, sign = events.candidates, events.position, events.who, events.sign
    if len(candidates) == 0:
        return 0.0, 0.0, 0, "no window ever turns the answer to anomaly"
    last = len(candidates) - 1
    running = np.zeros(weights.shape[0], np.int64)  # alarms of each replicate at the level reached
    alarms = 0  # the fleet's alarms there
    upper_there = 0.0  # above the highest level: no alarm
    step = max(1, _CELLS // weights.shape[0])
    start = 0
    while start < len(position):
        stop = min(len(position), start + step)
        stop = int(np.searchsorted(position, position[stop - 1], side="right"))  # whole positions only
        part = slice(start, stop)
        cumulative = np.cumsum(weights[:, group[who[part]]] * sign[part], axis=1, dtype=np.int64) + running[:, None]
        counts = np.cumsum(sign[part]) + alarms
        ends = np.flatnonzero(np.r_[position[part][1:] != position[part][:-1], True])
        upper = _upper(cumulative[:, ends], days, confidence)
        broken = np.flatnonzero(upper > budget)
        if len(broken):
            j = int(broken[0])
            if j > 0:
                upper_there, alarms = float(upper[j - 1]), int(counts[ends[j - 1]])
            level = float(np.nextafter(candidates[last - int(position[part][ends[j]])], np.float32(np.inf)))
            return level, upper_there, alarms, "exact: every higher threshold keeps the bound within the budget too"
        running = cumulative[:, -1]
        alarms = int(counts[-1])
        upper_there = float(upper[-1])
        start = stop
    return (
        float(candidates[0]),
        upper_there,
        alarms,
        "every threshold at or below the lowest score keeps the bound within the budget",
    )


def _bisect(
    log: FleetLog,
    smoothing: Smoothing | None,
    budget: float,
    cooldown_s: float,
    confidence: float,
    resamples: DeviceResamples,
    days: npt.NDArray[np.float64],
) -> tuple[float, float, int, str]:
    levels = answer_levels(log, smoothing)
    values = np.unique(levels[np.isfinite(levels)])
    if len(values) == 0:
        return 0.0, 0.0, 0, "no window ever turns the answer to anomaly"

    def at(level: float) -> tuple[float, int]:
        flags = kernels.alarm_flags(levels, log.starts, log.times, level, float(cooldown_s))
        cumulative = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
        per_device = cumulative[log.starts[1:]] - cumulative[log.starts[:-1]]
        numerators = np.rint(resamples.totals(per_device)).astype(np.int64)[:, None]
        return float(_upper(numerators, days, confidence)[0]), int(per_device.sum())

    lo, hi = 0, len(values)  # the lowest index whose level keeps the bound; `hi` = above every score
    while lo < hi:
        mid = (lo + hi) // 2
        if at(float(values[mid]))[0] <= budget:
            hi = mid
        else:
            lo = mid + 1
    level = float(values[lo]) if lo < len(values) else float(np.nextafter(values[-1], np.float32(np.inf)))
    upper, alarms = at(level)
    note = "with a cool-down, found by bisection over the scores and checked: a lower threshold may also keep it"
    return level, upper, alarms, note


@dataclass(frozen=True)
class _DeviceIntervals:
    """Each device's alarm intervals (`tuning`): lows and highs sorted within each device."""

    lows: npt.NDArray[np.float32]
    low_starts: npt.NDArray[np.int64]  # device d's lows: lows[low_starts[d]:low_starts[d + 1]]
    highs: npt.NDArray[np.float32]
    high_starts: npt.NDArray[np.int64]


def _device_intervals(log: FleetLog, smoothing: Smoothing | None) -> _DeviceIntervals:
    key = None if smoothing is None else (smoothing.n_readings, smoothing.min_readings_same)
    return log.cached(("device_intervals", key), lambda: _compute_device_intervals(log, smoothing))


def _compute_device_intervals(log: FleetLog, smoothing: Smoothing | None) -> _DeviceIntervals:
    levels = answer_levels(log, smoothing)
    before = np.empty_like(levels)
    before[1:] = levels[:-1]
    before[log.starts[:-1]] = -np.inf
    useful = before < levels
    device = np.repeat(np.arange(log.n_devices), log.windows)[useful]
    low, high = before[useful], levels[useful]
    # windows are in device order already: sort each device's values within it
    starts = np.searchsorted(device, np.arange(log.n_devices + 1)).astype(np.int64)
    return _DeviceIntervals(_sorted_within(low, device), starts, _sorted_within(high, device), starts)


def _sorted_within(values: npt.NDArray[np.float32], device: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """`values` sorted within each device (devices ascending): one sort of 64-bit integers, the
    device above the float32's bits mapped to an unsigned order (far faster than a lexsort)."""
    bits = values.astype(np.float32).view(np.uint32).astype(np.int64)
    negative = (bits & 0x80000000) != 0
    ordered = np.where(negative, ~bits & 0xFFFFFFFF, bits | 0x80000000)
    keys = np.sort((device.astype(np.int64) << 32) | ordered) & 0xFFFFFFFF
    negative = (keys & 0x80000000) == 0
    back = np.where(negative, ~keys & 0xFFFFFFFF, keys & 0x7FFFFFFF)
    return back.astype(np.uint32).view(np.float32)


def _per_group_alarms(
    log: FleetLog,
    smoothing: Smoothing | None,
    at: npt.NDArray[np.float32],
    cooldown_s: float,
    resamples: DeviceResamples,
) -> npt.NDArray[np.int64]:
    """(groups x levels): each group's alarms when the answer is anomaly at level >= each of `at`
    (a group is one device up to `MAX_GROUPS` devices)."""
    groups = resamples.groups
    if cooldown_s > 0:
        out = np.zeros((groups, len(at)), np.int64)
        levels = answer_levels(log, smoothing)
        for j, e in enumerate(at):
            flags = kernels.alarm_flags(levels, log.starts, log.times, float(e), float(cooldown_s))
            cumulative = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
            per_device = cumulative[log.starts[1:]] - cumulative[log.starts[:-1]]
            out[:, j] = np.rint(resamples.per_group(per_device)).astype(np.int64)
        return out
    # A device's alarms at level e: its alarm intervals' highs >= e less their lows >= e. Each value
    # falls in a bin of the sorted levels; per group, the counts at or above each level are the
    # bins' sums from the top: groups x levels, whatever the number of windows.
    iv = _device_intervals(log, smoothing)
    order = np.argsort(at, kind="stable")
    sorted_at = at[order]
    bins = len(at) + 1
    device = np.repeat(np.arange(log.n_devices), np.diff(iv.high_starts))

    def at_or_above(values: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        k = np.searchsorted(sorted_at, values, side="right")  # values >= sorted_at[:k]
        hist = np.bincount(resamples.group[device] * bins + k, minlength=groups * bins).reshape(groups, bins)
        return np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]

    counts = at_or_above(iv.highs) - at_or_above(iv.lows)
    out = np.empty_like(counts)
    out[:, order] = counts
    return out


def upper_curve(
    log: FleetLog,
    smoothing: Smoothing | None,
    thresholds: npt.ArrayLike,
    cooldown_s: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = DEFAULT_SEED,
) -> AlarmCurve:
    """At each threshold, the upper end of the bootstrap interval of the fleet's alarms per device
    per day (`per_device_day`), with the same resamples as `fleet_interval`; kept with the log."""
    t = np.asarray(thresholds, np.float64)
    key = ("upper_curve", smoothing, float(cooldown_s), confidence, replicates, seed, t.tobytes())

    def compute() -> AlarmCurve:
        device_days(log)  # a log that spans no time has no rate: say so
        at = np.array([effective_level(v, smoothing) for v in t], np.float32)
        resamples = fleet_weights(log, replicates, seed)
        counts = _per_group_alarms(log, smoothing, at, cooldown_s, resamples)
        weights = resamples.weights.astype(np.float64)
        numerators = np.rint(weights @ counts.astype(np.float64)).astype(np.int64)
        upper = _upper(numerators, resamples.totals(log.days), confidence)
        curve = AlarmCurve(t.copy(), counts.sum(axis=0), upper)
        for values in (curve.thresholds, curve.alarms, curve.per_device_day):
            values.setflags(write=False)
        return curve

    return log.cached(key, compute)
