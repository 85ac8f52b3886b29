"""The per-device alarm table as CSV (the `alarms` command's output) and the fleet summary lines."""

from __future__ import annotations

import csv
import io
import math
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from ..features.spreadsheet import spreadsheet_safe
from ..visible import visible_controls
from .fleet_log import FleetLog
from .simulate import TABLE_COLUMNS, FleetAlarms

__all__ = ["EXTRA_COLUMNS", "device_cells", "fleet_summary_lines", "write_alarm_table"]

EXTRA_COLUMNS = ("unscorable_windows", "simulation")


def _number(value: float) -> str:
    """Full precision (Python's shortest round-trip repr); empty when there is no number."""
    return "" if not math.isfinite(value) else repr(float(value))


def device_cells(devices: list[str], spreadsheet: bool = False) -> list[str]:
    """Device ids as the table's cells: control and bidi-control characters shown as escapes (a
    terminal escape in an id would act when the file is printed); `spreadsheet` also defuses
    formula-like ids (`'=...`), as `score --spreadsheet-safe` does."""
    cells = [visible_controls(d) for d in devices]
    if spreadsheet and cells:
        cells = [str(c) for c in spreadsheet_safe(pa.chunked_array([pa.array(cells, pa.string())])).to_pylist()]
    return cells


def write_alarm_table(result: FleetAlarms, log: FleetLog, out: BinaryIO, spreadsheet: bool = False) -> None:
    """One row per device in the log's device order: TABLE_COLUMNS, then EXTRA_COLUMNS (device ids
    as `device_cells` writes them)."""
    unscorable = np.add.reduceat(np.isnan(log.scores), log.starts[:-1]) if log.n_windows else np.zeros(0, np.int64)
    path = "with classes" if log.with_classes else "anomaly-only"
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([*TABLE_COLUMNS, *EXTRA_COLUMNS])
    rates = result.alarms_per_day
    for d, device in enumerate(device_cells(result.devices, spreadsheet)):
        writer.writerow(
            [
                device,
                int(result.windows[d]),
                int(result.anomaly_windows[d]),
                int(result.alarms[d]),
                _number(result.days[d]),
                _number(rates[d]),
                int(unscorable[d]),
                path,
            ]
        )
    text.flush()
    text.detach()


def fleet_summary_lines(result: FleetAlarms, log: FleetLog) -> list[str]:
    """What the command prints on stderr after the table: the path, the policy, the fleet."""
    rate = result.fleet_rate
    rate_text = f"{rate:.4g} alarms per device per day" if math.isfinite(rate) else "no rate (the log spans no time)"
    lines = [
        f"simulation: {log.simulation}",
        f"policy: {result.policy.describe()}",
        f"devices: {log.device_source}; times: {log.time_source}",
        (
            f"fleet: {log.n_devices} devices, {log.n_windows} windows ({int(np.isnan(log.scores).sum())} unscorable), "
            f"{int(result.anomaly_windows.sum())} anomalous windows (score > {result.policy.threshold:g}), "
            f"{result.total_alarms} alarms over {result.device_days:.4g} device-days: {rate_text}; "
            f"{result.devices_daily} devices alarm at least once a day"
        ),
    ]
    if log.skipped:
        lines.insert(
            0,
            f"warning: {log.skipped} rows have no device or no readable time and are left out of the simulation "
            f"(first: row {log.first_skipped_row})",
        )
    return lines
