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


def device_table(result: FleetAlarms, max_rows: int | None = None) -> pd.DataFrame:
    """One row per device, worst first (alarms per day, then alarms, then anomalous windows): the
    first `max_rows` of them when given (what a page shows of a log of a million devices)."""
    order = result.worst_first()[:max_rows]
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
    `max_devices` devices of `device_order` (`RateGrid.of_devices` says out of how many). Counted
    for those devices only: a log of a million devices costs the rows shown, not a million."""
    shown = device_order[:max_devices]
    size, t0, n_bins, bins = log.cached(("grid_bins", bin_s), lambda: _grid_bins(log, bin_s))
    rates = np.full((len(shown), n_bins), np.nan)
    for row, device in enumerate(shown):
        part = log.device_slice(int(device))
        cells = bins[part]
        total = np.bincount(cells, minlength=n_bins)
        flagged = np.bincount(cells[is_anomaly(log.scores[part], threshold)], minlength=n_bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates[row] = np.where(total > 0, flagged / total, np.nan)
    return RateGrid(
        devices=[log.device_names[i] for i in shown],
        bin_starts=np.asarray(t0 + np.arange(n_bins) * size, np.float64),
        bin_s=size,
        rates=rates,
        epoch_times=log.has_time_column,
        of_devices=log.n_devices,
    )


def _grid_bins(log: FleetLog, bin_s: float | None) -> tuple[float, float, int, npt.NDArray[np.int16]]:
    """The grid's bins (size, start, count) and each window's bin: the same at every threshold, so
    kept with the log (2 bytes a window: never more than MAX_BINS bins)."""
    size = bin_s or grid_bin(log)
    if not log.n_windows:
        return size, 0.0, 0, np.zeros(0, np.int16)
    t0 = float(np.floor(log.times.min() / size) * size)
    span = float(log.times.max()) - t0
    n_bins = int(span // size) + 1
    if n_bins > MAX_BINS:  # wider bins, never more than MAX_BINS columns
        size *= float(np.ceil(n_bins / MAX_BINS))
        n_bins = int(span // size) + 1
    bins = np.minimum((log.times - t0) // size, n_bins - 1).astype(np.int16)
    bins.setflags(write=False)
    return size, t0, n_bins, bins


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
