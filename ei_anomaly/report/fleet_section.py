"""The report's fleet section: a fleet log under the chosen alarm policy, with the page's figures."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from ..alarms import alarm_curve
from ..alarms.views import FleetReview, anomaly_rate_grid, curve_thresholds, device_table
from ..figures import fig_alarm_curve, fig_rate_grid

__all__ = ["TABLE_ROWS", "fleet_section"]

TABLE_ROWS = 20  # devices in the report's table, worst first


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3g}"
    return str(value)


def fleet_section(fleet: FleetReview, add: Callable[[go.Figure], Any]) -> dict[str, Any]:
    """What the template shows; `add` registers a figure and returns its handle."""
    log, result = fleet.log, fleet.result
    policy = result.policy
    thresholds = curve_thresholds(log)
    plain = alarm_curve(log, None, thresholds, policy.cooldown_s)
    smoothed = alarm_curve(log, policy.smoothing, thresholds, policy.cooldown_s) if policy.smoothing else None
    rate = result.fleet_rate
    table = device_table(result)
    return {
        "name": fleet.name,
        "policy": policy.describe(),
        "simulation": log.simulation,
        "columns": f"Devices: {log.device_source}; times: {log.time_source}",
        "devices": log.n_devices,
        "windows": log.n_windows,
        "alarms": result.total_alarms,
        "rate": rate if math.isfinite(rate) else None,
        "daily": result.devices_daily,
        "skipped": log.skipped,
        "figures": [
            add(fig_rate_grid(anomaly_rate_grid(log, policy.threshold, result.worst_first()))),
            add(
                fig_alarm_curve(
                    plain, smoothed, policy.threshold, rate if math.isfinite(rate) else 0.0, str(policy.smoothing or "")
                )
            ),
        ],
        "header": list(table.columns),
        "rows": [[_cell(v) for v in row] for row in table.head(TABLE_ROWS).itertuples(index=False)],
        "more": max(0, len(table) - TABLE_ROWS),
    }
