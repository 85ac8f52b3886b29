"""A fleet log under an alarm policy: how often each device would alarm, the threshold that keeps an
alarm budget, and one device's windows. One function per view, for the Fleet page and the report."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..alarms import (
    AlarmCurve,
    AlarmPolicy,
    DeviceTrace,
    FleetAlarms,
    FleetLog,
    LowestThreshold,
    alarm_curve,
    device_trace,
    lowest_threshold,
    simulate,
)
from ..alarms.bootstrap import LowestBoundThreshold, fleet_interval, lowest_threshold_by_bound, upper_curve
from ..alarms.views import anomaly_rate_grid, curve_thresholds, device_table
from ..bounds import RatioInterval
from .jsonable import JsonValue, jsonable, records

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "REPORT_DEVICES",
    "TABLE_DEVICES",
    "AlarmBudget",
    "DeviceDrillDown",
    "FleetSection",
    "alarm_budget",
    "device_drilldown",
    "fleet_section",
]

REPORT_DEVICES = 20  # devices in the report's table (and the JSON's), worst first
TABLE_DEVICES = 1_000  # devices in the page's table and its drill-down choice, worst first


@dataclass(frozen=True)
class FleetSection:
    """The log simulated under one policy: per device windows, anomalous windows, alarms, days."""

    name: str  # the log's file name
    log: FleetLog
    result: FleetAlarms

    @property
    def policy(self) -> AlarmPolicy:
        return self.result.policy

    @property
    def rate(self) -> float | None:
        """Alarms per device per day over the fleet (None: no device has a day of windows)."""
        rate = self.result.fleet_rate
        return rate if math.isfinite(rate) else None

    @cached_property
    def interval(self) -> RatioInterval | None:
        """The rate's 95 % interval from a seeded bootstrap over devices (None: no device has a day)."""
        if self.rate is None:
            return None
        return fleet_interval(self.log, self.result)

    @property
    def interval_text(self) -> str:
        """ "0.0185 – 0.0602" (what the page's and the report's tiles show), "–" without one."""
        i = self.interval
        return f"{i.low:.3g} – {i.high:.3g}" if i is not None else "–"

    @property
    def interval_note(self) -> str:
        i = self.interval
        if i is None:
            return "No interval: no device's windows span any time."
        return (
            f"{i.confidence:.0%} interval from {i.replicates:,} bootstrap resamples of the {i.units:,} devices "
            + (
                f"(dealt at random into {i.groups:,} groups, resampled with replacement, each group keeping its "
                f"devices' alarms and days; seed {i.seed})"
                if i.groups is not None
                else f"(with replacement, each keeping its own alarms and days; seed {i.seed})"
            )
            + (": with so few devices it is rough." if i.units < 10 else ".")
        )

    @property
    def columns_text(self) -> str:
        return f"Devices: {self.log.device_source}; times: {self.log.time_source}"

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per device, worst first: the worst `TABLE_DEVICES` (`alarms` writes every one)."""
        return device_table(self.result, TABLE_DEVICES)

    @property
    def table_caption(self) -> str:
        """Says when the table is the worst of more devices than it shows."""
        n = self.log.n_devices
        return f"The {len(self.table):,} worst of {n:,} devices." if n > len(self.table) else ""

    def grid_figure(self) -> go.Figure:
        """Anomalous windows per device and time bin, for the worst devices."""
        from ..figures import fig_rate_grid

        return fig_rate_grid(anomaly_rate_grid(self.log, self.policy.threshold, self.result.worst_first()))

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "log": self.name,
            "policy": self.policy.describe(),
            "simulation": self.log.simulation,
            "columns": self.columns_text,
            "devices": self.log.n_devices,
            "windows": self.log.n_windows,
            "skipped_rows": self.log.skipped,
            "alarms": self.result.total_alarms,
            "anomalous_windows": int(self.result.anomaly_windows.sum()),
            "alarms_per_device_per_day": jsonable(self.rate),
            "alarms_per_device_per_day_interval": (
                jsonable(self.interval.to_dict()) if self.interval is not None else None
            ),
            "devices_alarming_daily": self.result.devices_daily,
            "worst_devices": records(self.table.head(REPORT_DEVICES)),
        }


def fleet_section(name: str, log: FleetLog, policy: AlarmPolicy) -> FleetSection:
    return FleetSection(name, log, simulate(log, policy))


@dataclass(frozen=True)
class AlarmBudget:
    """Alarms per device per day against the threshold (without and with the policy's smoothing)
    and, for a budget, the lowest threshold that keeps it."""

    policy: AlarmPolicy
    rate: float  # at the policy's threshold (0 when there is none)
    plain: AlarmCurve
    smoothed: AlarmCurve | None
    per_day: float | None  # the budget, alarms per device per day
    lowest: LowestThreshold | None  # None without a budget
    lowest_bound: LowestBoundThreshold | None = None  # the lowest whose interval's upper end keeps the budget
    upper: AlarmCurve | None = None  # the policy's curve: the upper end of the rate's 95 % interval

    def figure(self) -> go.Figure:
        from ..figures import fig_alarm_curve

        label = str(self.policy.smoothing or "")
        return fig_alarm_curve(
            self.plain, self.smoothed, self.policy.threshold, self.rate, label, self.per_day, upper=self.upper
        )

    def to_dict(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {"budget_per_device_per_day": jsonable(self.per_day)}
        if self.lowest is not None:
            out["lowest_threshold"] = jsonable(self.lowest.threshold)
            out["alarms_per_device_per_day_there"] = jsonable(self.lowest.per_device_day)
            out["how_found"] = self.lowest.note
        if self.lowest_bound is not None:
            out["lowest_threshold_by_upper_bound"] = jsonable(self.lowest_bound.to_dict())
        return out


def alarm_budget(section: FleetSection, per_day: float | None = None) -> AlarmBudget:
    """The curve of the section's log under its policy and, for a budget `per_day`, the lowest
    threshold that keeps it: on the point estimate, and on the upper end of its bootstrap interval."""
    log, policy = section.log, section.policy
    thresholds = curve_thresholds(log)
    plain = alarm_curve(log, None, thresholds, policy.cooldown_s)
    smoothed = alarm_curve(log, policy.smoothing, thresholds, policy.cooldown_s) if policy.smoothing else None
    upper = upper_curve(log, policy.smoothing, thresholds, policy.cooldown_s)
    lowest = bound = None
    if per_day is not None:
        lowest = lowest_threshold(log, policy.smoothing, per_day, policy.cooldown_s)
        bound = lowest_threshold_by_bound(log, policy.smoothing, per_day, policy.cooldown_s)
    return AlarmBudget(policy, section.rate or 0.0, plain, smoothed, per_day, lowest, bound, upper)


@dataclass(frozen=True)
class DeviceDrillDown:
    """One device's windows in time order under the policy: its score, the smoothed answer, its alarms."""

    trace: DeviceTrace
    policy: AlarmPolicy
    epoch_times: bool

    @property
    def alarm_rows(self) -> list[int]:
        """File rows (0-based) of the windows that raise an alarm."""
        return [int(r) for r in self.trace.rows[np.flatnonzero(self.trace.alarm)]]

    @property
    def first_row_to_explain(self) -> int:
        """The first alarm's row, else the highest-scoring window's (unscorable windows last)."""
        if self.alarm_rows:
            return self.alarm_rows[0]
        return int(self.trace.rows[int(np.argmax(np.nan_to_num(self.trace.scores, nan=-np.inf)))])

    @property
    def caption(self) -> str:
        t, rows = self.trace, self.alarm_rows
        if not rows:
            return f"{len(t.scores):,} windows, no alarm with this policy."
        shown = ", ".join(str(r) for r in rows[:12]) + (", …" if len(rows) > 12 else "")
        return (
            f"{len(t.scores):,} windows, {int(t.answer_anomaly.sum()):,} with the answer anomaly, "
            f"{len(rows):,} alarms (rows {shown})."
        )

    def figure(self) -> go.Figure:
        from ..figures import fig_device_trace

        return fig_device_trace(self.trace, self.policy.threshold, self.epoch_times)


def device_drilldown(log: FleetLog, device: str, policy: AlarmPolicy) -> DeviceDrillDown:
    """The drill-down of `device` (one of `log.device_names`)."""
    return DeviceDrillDown(device_trace(log, log.device_names.index(device), policy), policy, log.has_time_column)
