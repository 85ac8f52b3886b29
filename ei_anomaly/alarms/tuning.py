"""Threshold helpers at fleet scale: the alarms-per-device-per-day curve against the threshold, and
the lowest threshold that keeps known-normal data within an alarm budget.

Without a cool-down both are exact for every threshold at once: window i raises an alarm exactly
for the answer levels in `(level[i-1], level[i]]` (the answer turns anomalous there), so the
alarm count at any level is a count of intervals, read from two sorted arrays. With a cool-down an
alarm depends on the last raised one, so each threshold is simulated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..errors import UsageError
from . import kernels
from .fleet_log import FleetLog
from .policy import Smoothing
from .simulate import answer_levels, effective_level

__all__ = [
    "AlarmCurve",
    "LowestThreshold",
    "alarm_curve",
    "alarm_intervals",
    "device_days",
    "lowest_threshold",
    "threshold_for_level",
]


@dataclass(frozen=True)
class _Intervals:
    """Sorted lower (exclusive) and upper (inclusive) answer levels of every possible alarm."""

    low: npt.NDArray[np.float32]
    high: npt.NDArray[np.float32]

    def alarms_at(self, levels: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        """Alarms raised when the answer is anomaly at `level >= e`, for each e in `levels`."""
        above_high = len(self.high) - np.searchsorted(self.high, levels, side="left")
        above_low = len(self.low) - np.searchsorted(self.low, levels, side="left")
        return np.asarray(above_high - above_low, np.int64)


def _intervals(log: FleetLog, smoothing: Smoothing | None) -> _Intervals:
    key = None if smoothing is None else (smoothing.n_readings, smoothing.min_readings_same)
    return log.cached(("intervals", key), lambda: _compute_intervals(log, smoothing))


def _compute_intervals(log: FleetLog, smoothing: Smoothing | None) -> _Intervals:
    _, low, high = alarm_intervals(log, smoothing)
    return _Intervals(np.sort(low), np.sort(high))


def alarm_intervals(
    log: FleetLog, smoothing: Smoothing | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Every alarm interval of the smoothed answer: (device, low, high), one alarm raised by that
    device's window at each level e with low < e <= high (the answer turns anomalous there)."""
    levels = answer_levels(log, smoothing)
    before = np.empty_like(levels)
    before[1:] = levels[:-1]
    before[log.starts[:-1]] = -np.inf  # a device's first window follows its uncertain start
    useful = before < levels
    device = np.repeat(np.arange(log.n_devices, dtype=np.int64), log.windows)[useful]
    return device, before[useful], levels[useful]


def device_days(log: FleetLog) -> float:
    days = float(log.days.sum())
    if days <= 0:
        raise UsageError(
            "the log spans no time (every device has its windows at one time): alarm rates need a time "
            "column with more than one time per device, or a window stride"
        )
    return days


@dataclass(frozen=True)
class AlarmCurve:
    thresholds: npt.NDArray[np.float64]
    alarms: npt.NDArray[np.int64]
    per_device_day: npt.NDArray[np.float64]  # the fleet's alarms per device per day


def alarm_curve(
    log: FleetLog, smoothing: Smoothing | None, thresholds: npt.ArrayLike, cooldown_s: float = 0.0
) -> AlarmCurve:
    """The fleet's alarms per device per day at each threshold (any order); kept with the log for
    these arguments (a threshold step redraws the same curve)."""
    t = np.asarray(thresholds, np.float64)
    key = ("alarm_curve", smoothing, float(cooldown_s), t.tobytes())
    return log.cached(key, lambda: _read_only(_alarm_curve(log, smoothing, t.copy(), cooldown_s)))


def _read_only(curve: AlarmCurve) -> AlarmCurve:
    """A curve kept with the log is shared by every caller: its arrays cannot be written."""
    for values in (curve.thresholds, curve.alarms, curve.per_device_day):
        values.setflags(write=False)
    return curve


def _alarm_curve(
    log: FleetLog, smoothing: Smoothing | None, t: npt.NDArray[np.float64], cooldown_s: float
) -> AlarmCurve:
    days = device_days(log)
    at = np.array([effective_level(v, smoothing) for v in t], np.float32)
    if cooldown_s <= 0:
        alarms = _intervals(log, smoothing).alarms_at(at)
    else:
        levels = answer_levels(log, smoothing)
        alarms = np.array(
            [int(kernels.alarm_flags(levels, log.starts, log.times, float(e), float(cooldown_s)).sum()) for e in at],
            np.int64,
        )
    return AlarmCurve(t, alarms, alarms / days)


@dataclass(frozen=True)
class LowestThreshold:
    threshold: float  # a float32 value
    per_device_day: float  # the fleet's rate at that threshold
    budget_per_day: float
    exact: bool  # False with a cool-down: found by bisection, then checked
    note: str


def threshold_for_level(level: float, smoothing: Smoothing | None) -> float:
    """The lowest threshold whose answer needs `level` (inverse of `effective_level`)."""
    e = np.float32(level)
    return float(e if smoothing is not None else np.nextafter(e, np.float32(-np.inf)))


def lowest_threshold(
    log: FleetLog, smoothing: Smoothing | None, budget_per_day: float, cooldown_s: float = 0.0
) -> LowestThreshold:
    """The lowest threshold at which this (known-normal) log raises at most `budget_per_day` alarms
    per device per day over the fleet, and so does every higher threshold.

    Alarms need not fall as the threshold rises (a run of anomalous windows can split in two), so
    the answer is the lowest threshold above the highest one that breaks the budget. Kept with the
    log for these arguments."""
    if not (np.isfinite(budget_per_day) and budget_per_day >= 0):
        raise UsageError(f"the alarm budget must be a number >= 0, not {budget_per_day}")
    key = ("lowest_threshold", smoothing, float(budget_per_day), float(cooldown_s))
    return log.cached(key, lambda: _lowest_threshold(log, smoothing, budget_per_day, cooldown_s))


def _lowest_threshold(
    log: FleetLog, smoothing: Smoothing | None, budget_per_day: float, cooldown_s: float
) -> LowestThreshold:
    days = device_days(log)
    limit = budget_per_day * days  # alarms allowed over the log
    if cooldown_s <= 0:
        iv = _intervals(log, smoothing)
        candidates = np.unique(np.concatenate([iv.low[np.isfinite(iv.low)], iv.high]))
        if len(candidates) == 0:
            return LowestThreshold(0.0, 0.0, budget_per_day, True, "no window ever turns the answer to anomaly")
        # the count is constant on (c[j-1], c[j]]: evaluate it at every c[j]
        counts = iv.alarms_at(candidates)
        broken = np.flatnonzero(counts > limit)
        if len(broken) == 0:
            level, alarms = float(candidates[0]), int(counts[0])
            note = "every threshold at or below the lowest score keeps the budget"
        else:
            j = int(broken[-1])
            level = float(np.nextafter(candidates[j], np.float32(np.inf)))
            alarms = int(iv.alarms_at(np.array([level], np.float32))[0])
            note = "exact: every higher threshold keeps the budget too"
        return LowestThreshold(threshold_for_level(level, smoothing), alarms / days, budget_per_day, True, note)
    levels = answer_levels(log, smoothing)
    values = np.unique(levels[np.isfinite(levels)])
    if len(values) == 0:
        return LowestThreshold(0.0, 0.0, budget_per_day, True, "no window ever turns the answer to anomaly")

    def count(level: float) -> int:
        return int(kernels.alarm_flags(levels, log.starts, log.times, level, float(cooldown_s)).sum())

    top = float(np.nextafter(values[-1], np.float32(np.inf)))  # nothing anomalous: no alarm
    lo, hi = 0, len(values)  # search the lowest index whose level keeps the budget; `hi` = top
    while lo < hi:
        mid = (lo + hi) // 2
        if count(float(values[mid])) <= limit:
            hi = mid
        else:
            lo = mid + 1
    level = float(values[lo]) if lo < len(values) else top
    found = count(level)
    return LowestThreshold(
        threshold_for_level(level, smoothing),
        found / days,
        budget_per_day,
        False,
        "with a cool-down, found by bisection over the scores and checked: a lower threshold may also keep it",
    )
