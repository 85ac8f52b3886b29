"""Scores of windows known to be normal, the reference a false-alarm guarantee and p-values need:
the block's validation windows labelled normal, Studio's model-testing windows expected normal
(project source), or a file of normal operation scored by the block (all its rows, or those whose
label column says normal).

Each is one `NormalWindows`: the scores in their order and, per grouping a unit may take one score
per (a sample, a device, a device-hour), each window's group. Scores come from the block's own
scoring (`Scorer.score_axes`) or Studio's, so K-means and GMM blocks are alike here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ..alarms.fleet_log import detect_device_column, detect_time_column, times_in_seconds
from ..bounds import Unit, p_values, unit_scores
from ..errors import FeatureFileError, UsageError
from ..evaluation import is_anomaly_label, predictions_frame
from ..metadata import AnomalyMetadata
from ..model_testing import TestWindows
from ..scored_file import ScoredFile
from .metrics import shown_metrics

__all__ = [
    "HOUR",
    "NormalSource",
    "NormalWindows",
    "default_normal_labels",
    "file_normal",
    "model_testing_normal",
    "validation_normal",
]

HOUR = "hour"  # a grouping by the hour of the time column; "<column>-hour": per value of the column and hour
HOUR_S = 3_600.0
MAX_LABELS = 200  # label values offered, at most


class NormalSource(enum.Enum):
    """Where normal windows come from."""

    VALIDATION = "validation"  # the block's validation windows labelled normal
    MODEL_TESTING = "model_testing"  # Studio's model-testing windows expected normal (project source)
    FILE = "file"  # a file of normal operation, scored by the block


@dataclass(frozen=True, eq=False)
class NormalWindows:
    """Scores of normal windows (float32, in their order; NaN: unscorable), where they come from in
    words (outside text inside: escape when rendering), and the groupings a unit may use: name ->
    each window's group code (-1: none)."""

    source: NormalSource
    scores: npt.NDArray[np.float32]
    origin: str
    groups: Mapping[str, npt.NDArray[np.int64]] = field(default_factory=dict)

    @cached_property
    def reference(self) -> npt.NDArray[np.float32]:
        """The finite scores, sorted (every window: what p-values are relative to)."""
        s = self.scores[np.isfinite(self.scores)]
        sorted_scores: npt.NDArray[np.float32] = np.sort(s)
        sorted_scores.setflags(write=False)
        return sorted_scores

    @property
    def windows(self) -> int:
        """Scorable normal windows."""
        return len(self.reference)

    @property
    def groupings(self) -> list[str]:
        return list(self.groups)

    def unit_scores(self, unit: Unit) -> npt.NDArray[np.float32]:
        """The scores the guarantee counts for `unit` (every k-th window, or each group's highest)."""
        if unit.per is not None and unit.per not in self.groups:
            options = ", ".join(self.groups) or "none here"
            raise UsageError(f"no grouping {unit.per!r} for these normal windows (groupings: {options})")
        return unit_scores(self.scores, unit, self.groups.get(unit.per) if unit.per is not None else None)

    def p_values(self, scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Per score, how unusual it is among these normal windows: (1 + #{normal >= s}) / (n + 1)."""
        return p_values(scores, self.reference)


def _codes(values: Iterable[object] | pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    """Group codes of a column (-1 where missing)."""
    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(list(values))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = pc.cast(array, pa.string())
    encoded = array.dictionary_encode()
    raw = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.float64)
    return np.where(np.isnan(raw), -1, raw).astype(np.int64)


def _combined(first: npt.NDArray[np.int64], second: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """One code per (first, second) pair (-1 where either is missing)."""
    ok = (first >= 0) & (second >= 0)
    out = np.full(len(first), -1, np.int64)
    if ok.any():
        pairs = np.stack([first[ok], second[ok]], axis=1)
        _, inverse = np.unique(pairs, axis=0, return_inverse=True)
        out[ok] = np.asarray(inverse, np.int64).ravel()
    return out


def _hours(times: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    seconds, _ = times_in_seconds(times)
    hours = np.floor(seconds / HOUR_S)
    finite = np.isfinite(hours)
    out = np.full(len(hours), -1, np.int64)
    if finite.any():
        out[finite] = (hours[finite] - hours[finite].min()).astype(np.int64)
    return out


def validation_normal(meta: AnomalyMetadata) -> NormalWindows | None:
    """The shown model type's validation windows labelled normal that have a score (None: none)."""
    metrics = shown_metrics(meta, with_predictions=True)
    if metrics is None:
        return None
    frame = predictions_frame(metrics).dropna(subset=["anomaly score"])
    frame = frame[~frame["labelled anomaly"].to_numpy(bool)]
    if frame.empty:
        return None
    return NormalWindows(
        NormalSource.VALIDATION,
        frame["anomaly score"].to_numpy(np.float32),
        f"{len(frame):,} validation windows labelled normal ({metrics.type})",
        {"sample": _codes(frame["sample"].astype(str))},
    )


def model_testing_normal(found: TestWindows) -> NormalWindows | None:
    """Studio's model-testing windows whose expected outcome is normal (None: none)."""
    frame = found.frame[~found.frame["expected anomaly"].to_numpy(bool)]
    if frame.empty:
        return None
    samples = frame["sample id"].nunique()
    return NormalWindows(
        NormalSource.MODEL_TESTING,
        frame["anomaly score"].to_numpy(np.float32),
        f"{len(frame):,} windows of {samples:,} test samples expected normal (Studio model testing)",
        {"test sample": _codes(frame["sample id"].astype(str))},
    )


def default_normal_labels(values: Iterable[str]) -> list[str]:
    """The label values that say normal by default: every non-empty one that is not an anomaly label."""
    return [v for v in values if v.strip() and not is_anomaly_label(v)]


def label_values(scored: ScoredFile, column: str) -> list[str]:
    """The distinct values of a label column, as text (the first MAX_LABELS)."""
    values = scored.table.table.column(column)
    distinct = pc.unique(pc.cast(values, pa.string()).combine_chunks()).drop_null().to_pylist()
    return sorted(str(v) for v in distinct)[:MAX_LABELS]


def file_groupings(
    scored: ScoredFile, device_column: str | None = None, time_column: str | None = None
) -> dict[str, npt.NDArray[np.int64]]:
    """The groupings of a scored file: each text column but the time column (its values), the hour
    of the time column, and per device and hour."""
    table = scored.table.table
    columns = [c for c in table.column_names if c not in scored.mapping.columns]
    time_name = time_column or detect_time_column(columns)
    groups = {c: _codes(table.column(c)) for c in columns if c not in scored.table.numeric_columns and c != time_name}
    if time_name is not None and time_name in table.column_names:
        hours = _hours(table.column(time_name))
        groups[HOUR] = hours
        device = device_column or detect_device_column(columns)
        if device is not None and device in table.column_names:
            groups[f"{device}-{HOUR}"] = _combined(_codes(table.column(device)), hours)
    return groups


def file_grouping(scored: ScoredFile, name: str, time_column: str | None = None) -> npt.NDArray[np.int64]:
    """One grouping by name: a column (its values), `hour` (of the time column) or `COLUMN-hour`."""
    table = scored.table.table
    if name in table.column_names:
        return _codes(table.column(name))
    columns = table.column_names
    time_name = time_column or detect_time_column(columns)
    if name == HOUR or name.endswith(f"-{HOUR}"):
        if time_name is None or time_name not in columns:
            raise UsageError(f"one score per {name} needs a time column (name it with --time)")
        hours = _hours(table.column(time_name))
        if name == HOUR:
            return hours
        column = name[: -len(HOUR) - 1]
        if column in columns:
            return _combined(_codes(table.column(column)), hours)
    raise UsageError(
        f"no column {name!r} to take one score per (columns: {', '.join(columns[:20])}"
        f"{', ...' if len(columns) > 20 else ''}; or {HOUR!r}, or COLUMN-{HOUR})"
    )


def file_normal(
    scored: ScoredFile,
    *,
    label_column: str | None = None,
    normal_labels: Iterable[str] | None = None,
    groups: Mapping[str, npt.NDArray[np.int64]] | None = None,
) -> NormalWindows:
    """A scored file of normal operation: all its rows, or the rows whose `label_column` holds one of
    `normal_labels` (default: every non-empty label that is not an anomaly label). `groups`: the
    groupings to offer (default: `file_groupings`)."""
    keep = np.ones(scored.n_rows, bool)
    how = "all rows"
    if label_column is not None:
        if label_column not in scored.table.table.column_names:
            raise FeatureFileError(f"no label column {label_column!r} in {scored.name}")
        text = pc.cast(scored.table.table.column(label_column), pa.string()).combine_chunks()
        labels = np.asarray(text.to_pylist(), dtype=object)
        chosen = set(
            default_normal_labels(label_values(scored, label_column)) if normal_labels is None else normal_labels
        )
        keep = np.array([v is not None and str(v) in chosen for v in labels], bool)
        shown = ", ".join(sorted(chosen)[:5]) + (", ..." if len(chosen) > 5 else "")
        how = f"rows whose {label_column} is {shown or 'none'}"
    groupings = file_groupings(scored) if groups is None else dict(groups)
    scores = scored.scores.score[keep]
    scorable = int(np.count_nonzero(np.isfinite(scores)))
    return NormalWindows(
        NormalSource.FILE,
        np.asarray(scores, np.float32),
        f"{scorable:,} scored windows of {scored.name} ({how})",
        {name: codes[keep] for name, codes in groupings.items()},
    )
