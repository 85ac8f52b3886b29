"""Two blocks on one fleet log, decided once: alarms per device per day at matched policies.

Both blocks score the same windows of the log; both are simulated with the alarms core (the SDK's
smoothing, `ei_anomaly.alarms.simulate`) under the same smoothing and cool-down, each (a) at its
own threshold and (b) at the lowest threshold that keeps the whole log within one alarm budget
per device per day (`lowest_threshold`). Like for like: the same devices, days and policy, so the
difference is the blocks'.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..alarms import (
    AlarmCurve,
    FleetAlarms,
    FleetLog,
    FleetPolicy,
    LowestThreshold,
    alarm_curve,
    lowest_threshold,
    simulate,
)
from ..alarms.views import curve_thresholds
from ..errors import UsageError
from .jsonable import JsonValue, jsonable, records

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["NOISIEST_DEVICES", "FleetComparison", "FleetSide", "compare_on_fleet", "log_with_scores"]

NOISIEST_DEVICES = 10


def log_with_scores(log: FleetLog, scores: npt.ArrayLike) -> FleetLog:
    """The same log (devices, order, times, classes) with another block's scores of the same file
    rows (`scores[i]`: file row i): no re-parsing, and its own cache of smoothing levels."""
    by_row = np.asarray(scores, np.float32)
    if log.n_windows and int(log.order.max()) >= len(by_row):
        raise UsageError(f"{len(by_row):,} scores for a log of rows up to {int(log.order.max()) + 1:,}")
    return dataclasses.replace(log, scores=np.ascontiguousarray(by_row[log.order]), _cache={})


@dataclass(frozen=True)
class FleetSide:
    """One block on the log: at its own threshold, at the budget's threshold, and its curve."""

    name: str
    log: FleetLog
    own: FleetAlarms  # at the block's own threshold
    budget: LowestThreshold  # the lowest threshold within the budget
    at_budget: FleetAlarms  # simulated at `budget.threshold`
    curve: AlarmCurve  # alarms per device per day against the threshold


@dataclass(frozen=True)
class FleetComparison:
    log_name: str
    policy: FleetPolicy  # the same smoothing and cool-down for both blocks
    budget_per_day: float
    a: FleetSide
    b: FleetSide

    @property
    def policy_text(self) -> str:
        return self.policy.describe()

    def curves_figure(self) -> go.Figure:
        """Each block's alarms per device per day against its own thresholds (one panel each)."""
        from ..figures import fig_alarm_curves_compare

        curves = [
            (side.name, side.curve, side.own.policy.threshold, side.own.fleet_rate, side.budget.threshold)
            for side in (self.a, self.b)
        ]
        return fig_alarm_curves_compare(curves, self.budget_per_day, self.log_name)

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "log": self.log_name,
            "policy": self.policy_text,
            "budget_per_device_per_day": jsonable(self.budget_per_day),
            "devices": self.a.log.n_devices,
            "windows": self.a.log.n_windows,
            "summary": records(self.summary()),
            "noisiest_devices": records(self.noisiest()),
        }

    def summary(self) -> pd.DataFrame:
        """One row per block and threshold: the threshold, alarms, alarms per device per day, and
        the devices alarming at least daily."""
        rows = []
        for side in (self.a, self.b):
            for what, result in (
                ("its own threshold", side.own),
                (f"budget {self.budget_per_day:.3g} per device per day", side.at_budget),
            ):
                rows.append(
                    {
                        "block": side.name,
                        "at": what,
                        "threshold": result.policy.threshold,
                        "alarms": result.total_alarms,
                        "alarms per device per day": result.fleet_rate,
                        "devices alarming daily": result.devices_daily,
                    }
                )
        return pd.DataFrame(rows)

    def noisiest(self, n: int = NOISIEST_DEVICES) -> pd.DataFrame:
        """The `n` devices with the most alarms per day under either block (at its own threshold,
        then at the budget's), side by side; the noisiest first."""
        columns = {
            "A, own threshold": self.a.own,
            "B, own threshold": self.b.own,
            "A, budget": self.a.at_budget,
            "B, budget": self.b.at_budget,
        }
        # both logs share their devices (one log, two blocks' scores)
        rates = pd.DataFrame({k: v.alarms_per_day for k, v in columns.items()})
        rates.insert(0, "device", self.a.own.devices)
        worst = rates[["A, own threshold", "B, own threshold"]].max(axis=1).fillna(-1.0)
        then = rates[["A, budget", "B, budget"]].max(axis=1).fillna(-1.0)
        order = np.lexsort((rates["device"].to_numpy(str), -then.to_numpy(), -worst.to_numpy()))
        return rates.iloc[order[:n]].reset_index(drop=True)


def _side(name: str, log: FleetLog, threshold: float, policy: FleetPolicy, budget_per_day: float) -> FleetSide:
    smoothing, cooldown_s = policy.smoothing, policy.cooldown_s
    own = simulate(log, policy.at(threshold))
    found = lowest_threshold(log, smoothing, budget_per_day, cooldown_s)
    at_budget = simulate(log, policy.at(found.threshold))
    curve = alarm_curve(log, smoothing, _thresholds_around(log, threshold, found.threshold), cooldown_s)
    return FleetSide(name, log, own, found, at_budget, curve)


def _thresholds_around(log: FleetLog, *marked: float, points: int = 161) -> npt.NDArray[np.float64]:
    """The Fleet page's curve thresholds, cut to three times the span up to the highest marked
    threshold: a GMM block's scores have a long tail that would squeeze its thresholds into a corner."""
    full = curve_thresholds(log, points)
    lo, hi = float(full[0]), float(full[-1])
    top = max(marked)
    if top > lo:
        hi = min(hi, lo + 3 * (top - lo))
    return np.linspace(lo, hi, points)


def compare_on_fleet(
    log_name: str,
    a: tuple[str, FleetLog, float],
    b: tuple[str, FleetLog, float],
    *,
    policy: FleetPolicy,
    budget_per_day: float,
) -> FleetComparison:
    """Blocks A and B, each (name, its scores of the log, its own threshold), under one policy."""
    if a[1].device_names != b[1].device_names or not np.array_equal(a[1].order, b[1].order):
        raise UsageError("the two blocks' logs must be the same windows (one log, two blocks' scores)")
    sides = [_side(*side, policy, budget_per_day) for side in (a, b)]
    return FleetComparison(log_name, policy, budget_per_day, sides[0], sides[1])
