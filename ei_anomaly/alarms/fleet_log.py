"""A fleet log made ready for the alarm simulation: each device's windows in time order.

Logs arrive out of order (collectors deliver late), so each device's windows are ordered by the
time column (a stable sort: windows with the same time keep their file order). Without a time
column the file order is the device's order and the time of a device's i-th window is
`i * stride`. Rows without a device or a readable time cannot be placed: they are left out of the
simulation and counted (`FleetLog.skipped`), never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import FeatureFileError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

T = TypeVar("T")

__all__ = [
    "DAY_S",
    "NO_CLASS_TEXTS",
    "FleetLog",
    "build_fleet_log",
    "detect_device_column",
    "detect_time_column",
    "times_in_seconds",
]

DAY_S = 86_400.0
# Class readings that are no class: the classifier reached no confidence (the SDK's "uncertain").
# "anomaly" is the simulation's own decision, from the scores, never taken from the log.
NO_CLASS_TEXTS = frozenset({"", "uncertain", "anomaly"})
_DEVICE_NAMES = ("device", "device_id", "deviceid", "device id", "device_name", "sensor", "sensor_id", "node", "serial")
_TIME_NAMES = ("timestamp", "time", "datetime", "date", "ts", "time_s", "t")
_EPOCH_MS = 1e11  # numeric times above this are epoch milliseconds (1e11 s would be the year 5138)
MAX_TIME_S = 1e11  # a time beyond this many seconds from 1970 (either way) is no time: its row is left out
CACHE_ENTRIES = 16  # values a log keeps computed (smoothing levels, intervals, curves, the grid's bins)
_NAME_OVERHEAD = 56  # a device name's Python string, beyond its characters


def _nbytes(value: object) -> int:
    """The bytes of a cached value: arrays, and tuples or objects of them (a curve, a grid's bins)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    if value is None:
        return 0
    fields = getattr(value, "__dict__", None)
    return sum(_nbytes(v) for v in fields.values()) if isinstance(fields, dict) else 64


def detect_device_column(columns: Sequence[str]) -> str | None:
    """A column named like a device id (`device`, `device_id`, `sensor`...), else one containing "device"."""
    lowered = {c.lower().strip(): c for c in columns}
    for name in _DEVICE_NAMES:
        if name in lowered:
            return lowered[name]
    return next((c for c in columns if "device" in c.lower()), None)


def detect_time_column(columns: Sequence[str]) -> str | None:
    """A column named like a time (`timestamp`, `time`, `date`...), else one containing "time" or "date"."""
    lowered = {c.lower().strip(): c for c in columns}
    for name in _TIME_NAMES:
        if name in lowered:
            return lowered[name]
    return next((c for c in columns if "time" in c.lower() or "date" in c.lower()), None)


def times_in_seconds(values: pa.ChunkedArray | pa.Array) -> tuple[npt.NDArray[np.float64], str]:
    """A time column as float seconds (NaN where missing or unreadable) and how it was read.

    Numbers are epoch seconds, or milliseconds when they are above 1e11 (a column mixing both is
    refused); text is ISO 8601 (or anything pandas reads as a date and time, in UTC when no zone is
    given). A time beyond `MAX_TIME_S` is unreadable (NaN)."""
    kind = values.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        ns = pc.cast(pc.cast(values, pa.timestamp("ns")), pa.int64())
        out = np.array(ns.to_numpy(zero_copy_only=False), np.float64) / 1e9
        out[np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), bool)] = np.nan
        return out, "date and time"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _numeric_times(np.array(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), np.float64))
    try:  # ISO 8601 without a zone, as most collectors write it: Arrow parses it natively, fast
        return times_in_seconds(pc.cast(values, pa.timestamp("ns")))[0], "dates and times"
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    import pandas as pd

    text = pd.Series(values.to_pandas(), dtype="object")
    try:
        parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    except (ValueError, TypeError):
        parsed = pd.to_datetime(text, utc=True, format="mixed", errors="coerce")
    if parsed.isna().all() and text.notna().any():
        parsed = pd.to_datetime(text, utc=True, format="mixed", errors="coerce")
    ns = parsed.to_numpy("datetime64[ns]").astype(np.int64).astype(np.float64)
    ns[parsed.isna().to_numpy()] = np.nan
    return ns / 1e9, "dates and times"


def _numeric_times(out: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], str]:
    """Numbers as seconds: epoch milliseconds when they are above 1e11 (all of them: a column that
    mixes seconds and milliseconds is refused, it would give wrong rates), else seconds. Beyond
    `MAX_TIME_S` seconds (the year 5138) a number is no time: unreadable, its row left out."""
    out[~np.isfinite(out)] = np.nan
    finite = np.isfinite(out)
    large = finite & (np.abs(out) > _EPOCH_MS)
    n_large, n_finite = int(np.count_nonzero(large)), int(np.count_nonzero(finite))
    if 0 < n_large < n_finite:
        small = np.flatnonzero(finite & ~large)
        big = np.flatnonzero(large)
        raise FeatureFileError(
            f"the time column mixes units: {n_large:,} numbers are above 1e11 (epoch milliseconds, first at data row "
            f"{int(big[0]) + 1}: {out[big[0]]:.6g}) and {n_finite - n_large:,} are not (seconds, first at data row "
            f"{int(small[0]) + 1}: {out[small[0]]:.6g}); write every time in one unit"
        )
    how = "numbers, read as seconds"
    if n_large:
        out, how = out / 1000.0, "numbers, read as epoch milliseconds"
    out[np.abs(out) > MAX_TIME_S] = np.nan
    return out, how


def _device_ids(values: pa.ChunkedArray | pa.Array) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Codes (-1: missing) and the ids as text; whole numbers read as floats are shown as integers."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    kind = values.type
    if pa.types.is_floating(kind):
        numbers = np.asarray(values.to_numpy(zero_copy_only=False), np.float64)
        finite = numbers[np.isfinite(numbers)]
        if np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53):
            values = pa.array(np.where(np.isfinite(numbers), numbers, 0).astype(np.int64), mask=~np.isfinite(numbers))
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = pc.cast(values, pa.string())
    encoded = values.dictionary_encode()
    raw = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.float64)
    codes = np.where(np.isnan(raw), -1, raw).astype(np.int64)
    names = [str(v) for v in encoded.dictionary.to_pylist()]
    return codes, names


@dataclass
class FleetLog:
    """Scores ordered by device, then time. `order[i]` is the file row (0-based) of window i."""

    device_names: list[str]  # in the order of `starts`, sorted by name
    starts: npt.NDArray[np.int64]  # device d's windows: starts[d]:starts[d + 1]
    order: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float32]
    times: npt.NDArray[np.float64]  # seconds: epoch (time column) or i * stride
    classes: npt.NDArray[np.int32] | None  # -1: no class reading
    class_names: list[str]
    time_source: str  # "time column 'ts' (dates and times)" or "stride of 2 s (no time column)"
    device_source: str
    has_time_column: bool
    skipped: int = 0  # rows left out: no device or no readable time
    first_skipped_row: int | None = None  # 1-based data row
    _cache: dict[tuple[object, ...], Any] = field(default_factory=dict, repr=False)

    @property
    def n_devices(self) -> int:
        return len(self.device_names)

    @property
    def n_windows(self) -> int:
        return len(self.scores)

    @property
    def windows(self) -> npt.NDArray[np.int64]:
        return np.diff(self.starts)

    @property
    def days(self) -> npt.NDArray[np.float64]:
        """Each device's own span: last minus first window time, in days."""
        if self.n_windows == 0:
            return np.zeros(self.n_devices)
        first = self.times[self.starts[:-1]]
        last = self.times[self.starts[1:] - 1]
        return np.asarray((last - first) / DAY_S, np.float64)

    @property
    def with_classes(self) -> bool:
        return self.classes is not None

    @property
    def simulation(self) -> str:
        """Which path the simulation takes: says whether class readings were given."""
        if self.classes is None:
            return "anomaly-only (no predicted-class column: every reading is anomaly or uncertain)"
        return f"with classes ({len(self.class_names)} classes from the predicted-class column)"

    def device_slice(self, device: int) -> slice:
        return slice(int(self.starts[device]), int(self.starts[device + 1]))

    def cached(self, key: tuple[object, ...], compute: Callable[[], T]) -> T:
        """What `compute` gives for `key` (smoothing levels, alarm intervals), computed once per log:
        everything that does not depend on the threshold, so a threshold step only compares. The
        last `CACHE_ENTRIES` are kept (a visitor trying many smoothings does not grow it for ever)."""
        if key in self._cache:
            self._cache[key] = self._cache.pop(key)  # now the most recently used
        else:
            self._cache[key] = compute()
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.pop(next(iter(self._cache)))
        found: T = self._cache[key]
        return found

    @property
    def nbytes(self) -> int:
        """What the log holds in memory: its arrays, its device names and what it has cached."""
        arrays = (self.starts, self.order, self.scores, self.times, self.classes)
        names = sum(len(n) + _NAME_OVERHEAD for n in self.device_names)
        return sum(_nbytes(a) for a in arrays) + names + sum(_nbytes(v) for v in self._cache.values())


def build_fleet_log(
    scores: npt.ArrayLike,
    devices: pa.ChunkedArray | pa.Array | None,
    times: pa.ChunkedArray | pa.Array | None,
    *,
    stride_s: float | None = None,
    classes: pa.ChunkedArray | pa.Array | None = None,
    device_column: str | None = None,
    time_column: str | None = None,
    class_column: str | None = None,
) -> FleetLog:
    """Order a scored log per device and time. Without a time column `stride_s` (the impulse's
    window increase, in seconds) gives each device's windows their times."""
    s = np.asarray(scores, np.float32)
    n = len(s)
    if times is None and (stride_s is None or not np.isfinite(stride_s) or stride_s <= 0):
        raise UsageError(
            "alarm rates need time: name the time column, or give the window stride in seconds "
            "(the impulse's window increase, shown in Studio's Create impulse page)"
        )
    if devices is not None:
        codes, names = _device_ids(devices)
        device_source = f"device column {device_column!r}" if device_column else "device column"
    else:
        codes, names = np.zeros(n, np.int64), ["all rows"]
        device_source = "no device column (the whole log is one device)"
    if times is not None:
        seconds, how = times_in_seconds(times)
        time_source = f"time column {time_column!r} ({how})" if time_column else f"time column ({how})"
    else:
        seconds = np.zeros(n)
        time_source = f"stride of {stride_s:g} s per window (no time column)"
    placed = (codes >= 0) & np.isfinite(seconds)
    skipped = int(n - np.count_nonzero(placed))
    first_skipped = int(np.flatnonzero(~placed)[0]) + 1 if skipped else None
    if not placed.any():
        what = "a device id" if (codes < 0).all() else "a readable time"
        raise FeatureFileError(f"no row has {what}; check the device and time columns")
    # device names sorted, so the table and the CLI list devices alike; codes renumbered to match
    name_order = np.argsort(np.asarray(names, dtype=object), kind="stable")
    rank = np.empty(len(names), np.int64)
    rank[name_order] = np.arange(len(names))
    code = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
    rows = np.flatnonzero(placed)
    if times is not None:
        order = rows[np.lexsort((seconds[rows], code[rows]))]
    else:
        order = rows[np.argsort(code[rows], kind="stable")]
    sorted_code = code[order]
    present = np.unique(sorted_code)
    starts = np.searchsorted(sorted_code, present).astype(np.int64)
    starts = np.append(starts, len(order)).astype(np.int64)
    if times is None:
        within = np.arange(len(order)) - np.repeat(starts[:-1], np.diff(starts))
        ordered_times = within.astype(np.float64) * float(stride_s)  # type: ignore[arg-type]
    else:
        ordered_times = seconds[order]
    class_codes: npt.NDArray[np.int32] | None = None
    class_names: list[str] = []
    if classes is not None:
        class_codes, class_names = _class_readings(classes, order)
    return FleetLog(
        device_names=[names[name_order[c]] for c in present],
        starts=starts,
        order=order.astype(np.int64),
        scores=s[order],
        times=ordered_times,
        classes=class_codes,
        class_names=class_names,
        time_source=time_source,
        device_source=device_source,
        has_time_column=times is not None,
        skipped=skipped,
        first_skipped_row=first_skipped,
    )


def _class_readings(
    classes: pa.ChunkedArray | pa.Array, order: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int32], list[str]]:
    """Each window's class reading as a code (-1: none), in `order`; class names in code order."""
    text = pc.cast(classes, pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    stripped = pc.utf8_trim_whitespace(text)
    none = pc.or_kleene(pc.is_null(stripped), pc.is_in(pc.utf8_lower(stripped), pa.array(sorted(NO_CLASS_TEXTS))))
    encoded = pc.if_else(none, pa.scalar(None, pa.string()), stripped).dictionary_encode()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.float64)
    codes = np.where(np.isnan(codes), -1, codes).astype(np.int32)
    return np.ascontiguousarray(codes[order]), [str(v) for v in encoded.dictionary.to_pylist()]
