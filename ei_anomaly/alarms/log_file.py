"""Read a fleet log feature file for the alarm simulation, block by block, as `score` reads it.

Each block is scored and only its device, time and class cells and its scores are kept: memory
grows with those, never with the features. The device, time and class columns are never features
(a numeric device id or epoch time would otherwise count as one in a positional mapping).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ..errors import FeatureFileError, UsageError
from ..features import ColumnMapping, FeatureTable, map_columns, score_table
from .fleet_log import FleetLog, build_fleet_log, detect_device_column, detect_time_column

if TYPE_CHECKING:
    from ..scores import Scorer
    from ..streaming import FeatureStream

__all__ = ["FleetColumns", "FleetFile", "ScoredLog", "choose_fleet_columns", "read_fleet_file", "read_fleet_log"]


@dataclass(frozen=True)
class FleetColumns:
    """Which columns say the device, the time and the predicted class (None: not in the file)."""

    device: str | None
    time: str | None
    predicted_class: str | None = None

    @property
    def used(self) -> list[str]:
        return [c for c in (self.device, self.time, self.predicted_class) if c is not None]


def choose_fleet_columns(
    columns: list[str], device: str | None, time: str | None, predicted_class: str | None
) -> FleetColumns:
    """The given columns (checked), or detected by name when not given."""
    for what, name in (("device", device), ("time", time), ("class", predicted_class)):
        if name is not None and name not in columns:
            shown = ", ".join(repr(c) for c in columns[:12]) + (", ..." if len(columns) > 12 else "")
            raise FeatureFileError(f"no {what} column named {name!r}; the file's columns are {shown}")
    return FleetColumns(
        device=device if device is not None else detect_device_column(columns),
        time=time if time is not None else detect_time_column(columns),
        predicted_class=predicted_class,
    )


@dataclass
class ScoredLog:
    log: FleetLog
    columns: FleetColumns
    mapping: ColumnMapping
    rows: int
    unscorable: int
    bad_cells: int
    notes: tuple[str, ...]


def _without(table: FeatureTable, names: list[str]) -> FeatureTable:
    return replace(table, numeric_columns=[c for c in table.numeric_columns if c not in names])


def read_fleet_log(stream: FeatureStream, model: Scorer, columns: FleetColumns, stride_s: float | None) -> ScoredLog:
    """Score every block of `stream` and keep what the simulation needs."""
    if columns.time is None and stride_s is None:
        raise UsageError(
            "no time column found (none is named like time, timestamp or date): name it with --time, "
            "or give --stride, the window increase in seconds (Studio: Create impulse > Window increase)"
        )
    first = _without(stream.first, columns.used)
    mapping = map_columns(first, model)
    scores: list[np.ndarray] = []
    kept: dict[str, list[pa.ChunkedArray]] = {name: [] for name in columns.used}
    rows = unscorable = 0

    def keep(table: pa.Table) -> None:
        nonlocal rows, unscorable
        block = FeatureTable(table, first.numeric_columns, first.source_name)
        scored = score_table(block, model, mapping)
        scores.append(scored.score)
        for name in kept:
            kept[name].append(table.column(name))
        rows += block.n_rows
        unscorable += scored.unscorable_count

    try:
        keep(first.table)
        for table in stream.rest():
            keep(table)
    finally:
        stream.close()

    def joined(name: str | None) -> pa.ChunkedArray | None:
        if name is None:
            return None
        chunks = [c for part in kept[name] for c in part.chunks]
        kind = kept[name][0].type
        if any(c.type != kind for c in chunks):  # a first block of numbers, later ones of text
            chunks = [c.cast(pa.string()) for c in chunks]
            kind = pa.string()
        return pa.chunked_array(chunks, type=kind)

    log = build_fleet_log(
        np.concatenate(scores) if scores else np.zeros(0, np.float32),
        joined(columns.device),
        joined(columns.time),
        stride_s=stride_s,
        classes=joined(columns.predicted_class),
        device_column=columns.device,
        time_column=columns.time,
        class_column=columns.predicted_class,
    )
    return ScoredLog(log, columns, mapping, rows, unscorable, stream.bad_cells, stream.first.notes)


@dataclass(frozen=True)
class FleetFile:
    """A fleet log on disk and how to read it: its device, time and class columns (None: detected by
    name; no class column), and the seconds between windows when it has no time column."""

    path: Path
    device: str | None = None
    time: str | None = None
    predicted_class: str | None = None
    stride_s: float | None = None


def read_fleet_file(fleet: FleetFile, model: Scorer) -> ScoredLog:
    """The log of `fleet`, scored by `model`, in blocks (`score`'s stream)."""
    from ..streaming import open_feature_stream

    stream = open_feature_stream(fleet.path)
    try:
        columns = choose_fleet_columns(stream.first.columns, fleet.device, fleet.time, fleet.predicted_class)
        return read_fleet_log(stream, model, columns, fleet.stride_s)
    finally:
        stream.close()
