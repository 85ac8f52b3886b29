"""Tables and grids of a simulated policy, each computed once: the per-device table worst first, the
device-by-time grid of anomaly rates, the thresholds of the curve (`ei_anomaly.review.fleet`
puts them together for the Fleet page and the report)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..rules import is_anomaly
from .fleet_log import DAY_S, FleetLog
from .simulate import FleetAlarms

__all__ = ["HOUR_S", "RateGrid", "anomaly_rate_grid", "curve_thresholds", "device_table", "grid_bin"]

HOUR_S = 3_600.0
MAX_BINS = 400  # time bins of the grid, at most
GRID_DEVICES = 50  # rows of the grid, at most: the worst devices (a taller chart costs every redraw)


def device_table(result: FleetAlarms) -> pd.DataFrame:
    """One row per device, worst first (alarms per day, then alarms, then anomalous windows)."""
    order = result.worst_first()
    return pd.DataFrame(
        {
            "device": np.asarray(result.devices, dtype=object)[order],
            "windows": result.windows[order],
            "anomalous windows": result.anomaly_windows[order],
            "alarms": result.alarms[order],
            "days": result.days[order],
            "alarms per day": result.alarms_per_day[order],
        }
    )


def grid_bin(log: FleetLog) -> float:
    """Hour bins for a log of up to two weeks, day bins beyond (so the grid stays readable)."""
    span = float(log.times.max() - log.times.min()) if log.n_windows else 0.0
    return HOUR_S if span <= 14 * DAY_S else DAY_S


@dataclass(frozen=True)
class RateGrid:
    """Anomalous windows / windows per device (rows, in `devices` order) and time bin (NaN: none)."""

    devices: list[str]
    bin_starts: npt.NDArray[np.float64]  # seconds (epoch with a time column)
    bin_s: float
    rates: npt.NDArray[np.float64]
    epoch_times: bool
    of_devices: int  # devices in the log; `devices` may be the worst of them


def anomaly_rate_grid(
    log: FleetLog,
    threshold: float,
    device_order: npt.NDArray[np.intp],
    bin_s: float | None = None,
    max_devices: int = GRID_DEVICES,
) -> RateGrid:
    """The share of anomalous windows (score > threshold) per device and time bin, for the first
    `max_devices` devices of `device_order` (`RateGrid.of_devices` says out of how many)."""
    device_order = device_order[:max_devices]
    size, t0, n_bins, cell, total = log.cached(("grid_cells", bin_s), lambda: _grid_cells(log, bin_s))
    flagged = np.bincount(cell[is_anomaly(log.scores, threshold)], minlength=log.n_devices * n_bins).reshape(
        log.n_devices, n_bins
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(total > 0, flagged / total, np.nan)
    return RateGrid(
        devices=[log.device_names[i] for i in device_order],
        bin_starts=np.asarray(t0 + np.arange(n_bins) * size, np.float64),
        bin_s=size,
        rates=rates[device_order],
        epoch_times=log.has_time_column,
        of_devices=log.n_devices,
    )


def _grid_cells(
    log: FleetLog, bin_s: float | None
) -> tuple[float, float, int, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The grid's bins (size, start, count), each window's cell (device x time bin) and the windows
    per cell: the same at every threshold, so kept with the log."""
    size = bin_s or grid_bin(log)
    t0 = float(np.floor(log.times.min() / size) * size) if log.n_windows else 0.0
    bins = ((log.times - t0) // size).astype(np.int64)
    n_bins = int(bins.max()) + 1 if log.n_windows else 0
    if n_bins > MAX_BINS:  # wider bins, never more than MAX_BINS columns
        size *= float(np.ceil(n_bins / MAX_BINS))
        bins = ((log.times - t0) // size).astype(np.int64)
        n_bins = int(bins.max()) + 1
    cell = np.repeat(np.arange(log.n_devices), log.windows) * n_bins + bins
    total = np.bincount(cell, minlength=log.n_devices * n_bins).reshape(log.n_devices, n_bins)
    cell.setflags(write=False)
    total.setflags(write=False)
    return size, t0, n_bins, cell, total


def curve_thresholds(log: FleetLog, points: int = 161) -> npt.NDArray[np.float64]:
    """Thresholds for the alarms-per-day curve: from the lowest scores to past the highest ones
    (kept with the log: two percentiles of a million scores are not free)."""

    def compute() -> npt.NDArray[np.float64]:
        thresholds = _curve_thresholds(log, points)
        thresholds.setflags(write=False)  # kept with the log, shared by every caller
        return thresholds

    return log.cached(("curve_thresholds", points), compute)


def _curve_thresholds(log: FleetLog, points: int) -> npt.NDArray[np.float64]:
    finite = log.scores[np.isfinite(log.scores)]
    if not len(finite):
        return np.linspace(-0.5, 1.0, points)
    lo, hi = np.percentile(finite, [1.0, 99.99])
    lo, hi = min(float(lo), -0.1), max(float(hi), 0.5)
    pad = 0.05 * (hi - lo)
    return np.linspace(lo - pad, hi + pad, points)
