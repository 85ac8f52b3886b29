"""Run an alarm policy over a fleet log: per device, windows, anomalous windows, alarms, days, rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..rules import is_anomaly
from . import kernels
from .fleet_log import FleetLog
from .policy import AlarmPolicy, Smoothing

__all__ = [
    "TABLE_COLUMNS",
    "DeviceTrace",
    "FleetAlarms",
    "answer_levels",
    "device_trace",
    "effective_level",
    "simulate",
]

TABLE_COLUMNS = ("device", "windows", "anomaly_windows", "alarms", "days", "alarms_per_day")
_LOWEST = float(np.nextafter(np.float32(-np.inf), np.float32(0)))  # -FLT_MAX


def answer_levels(log: FleetLog, smoothing: Smoothing | None) -> npt.NDArray[np.float32]:
    """Per window, the level the answer compares with the threshold (see `kernels`): the score
    itself without smoothing; with smoothing, computed once per (n, min same) and log."""
    if smoothing is None:
        return log.cached(
            ("levels", None), lambda: np.where(np.isnan(log.scores), np.float32(-np.inf), log.scores).astype(np.float32)
        )
    n, k = smoothing.n_readings, smoothing.min_readings_same
    if log.classes is None:

        def compute() -> npt.NDArray[np.float32]:
            return kernels.majority_levels(log.scores, log.starts, n, max(k, n // 2 + 1))

    else:
        classes = log.classes

        def compute() -> npt.NDArray[np.float32]:
            return kernels.class_levels(log.scores, classes, max(len(log.class_names), 1), log.starts, n, k)

    return log.cached(("levels", n, k), compute)


def effective_level(threshold: float, smoothing: Smoothing | None) -> float:
    """The float32 value a level must reach (`>=`) for the answer to be anomaly: the threshold
    itself with smoothing (the SDK's `>=`), the next float32 above it without (Studio's `>`)."""
    t = np.float32(threshold)
    level = t if smoothing is not None else np.nextafter(t, np.float32(np.inf))
    return max(float(level), _LOWEST)  # a -inf threshold never turns the ring's uncertain start into anomaly


@dataclass(frozen=True)
class FleetAlarms:
    """A policy's outcome, one entry per device (in `log.device_names` order)."""

    policy: AlarmPolicy
    simulation: str
    devices: list[str]
    windows: npt.NDArray[np.int64]
    anomaly_windows: npt.NDArray[np.int64]  # score > threshold, always strict
    alarms: npt.NDArray[np.int64]
    days: npt.NDArray[np.float64]

    @property
    def alarms_per_day(self) -> npt.NDArray[np.float64]:
        """NaN for a device whose windows span no time (one window, or all at one time)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = self.alarms / self.days
        return np.where(self.days > 0, rate, np.nan)

    @property
    def total_alarms(self) -> int:
        return int(self.alarms.sum())

    @property
    def device_days(self) -> float:
        return float(self.days.sum())

    @property
    def fleet_rate(self) -> float:
        """Alarms per device per day over the fleet: all alarms over all devices' days."""
        return self.total_alarms / self.device_days if self.device_days > 0 else float("nan")

    @property
    def devices_daily(self) -> int:
        """How many devices alarm at least once a day."""
        return int(np.count_nonzero(self.alarms_per_day >= 1.0))

    def worst_first(self) -> npt.NDArray[np.intp]:
        """Device indices by alarms per day (then alarms, anomalous windows), highest first."""
        rate = np.nan_to_num(self.alarms_per_day, nan=-1.0)
        return np.lexsort((-self.anomaly_windows, -self.alarms, -rate))


def simulate(log: FleetLog, policy: AlarmPolicy) -> FleetAlarms:
    """The policy on every device of the log, from the SDK's initial state, in time order."""
    levels = answer_levels(log, policy.smoothing)
    flags = kernels.alarm_flags(
        levels, log.starts, log.times, effective_level(policy.threshold, policy.smoothing), float(policy.cooldown_s)
    )
    return FleetAlarms(
        policy=policy,
        simulation=log.simulation,
        devices=log.device_names,
        windows=log.windows,
        anomaly_windows=_per_device(log, is_anomaly(log.scores, policy.threshold)),
        alarms=_per_device(log, flags),
        days=log.days,
    )


def _per_device(log: FleetLog, flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    cumulative = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
    return np.asarray(cumulative[log.starts[1:]] - cumulative[log.starts[:-1]], np.int64)


@dataclass(frozen=True)
class DeviceTrace:
    """One device's windows in time order: score, the smoothed answer, where alarms are raised."""

    device: str
    rows: npt.NDArray[np.int64]  # file rows (0-based)
    times: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float32]
    answer_anomaly: npt.NDArray[np.bool_]
    alarm: npt.NDArray[np.bool_]


def device_trace(log: FleetLog, device: int, policy: AlarmPolicy) -> DeviceTrace:
    part = log.device_slice(device)
    levels = answer_levels(log, policy.smoothing)[part]
    at = effective_level(policy.threshold, policy.smoothing)
    starts = np.array([0, len(levels)], np.int64)
    flags = kernels.alarm_flags(levels, starts, log.times[part], at, float(policy.cooldown_s))
    return DeviceTrace(
        device=log.device_names[device],
        rows=log.order[part],
        times=log.times[part],
        scores=log.scores[part],
        answer_anomaly=levels >= np.float32(at),
        alarm=flags,
    )
