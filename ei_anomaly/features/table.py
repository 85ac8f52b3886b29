"""`FeatureTable`, a feature file as read; which of its columns hold numbers, reading a column as
numbers, and the checks of a table's shape against the deployer's limits."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import FeatureFileError
from ..limits import Limits, human_bytes, too_big
from .dialect import is_number

__all__ = [
    "P_VALUE_COLUMN",
    "RESULT_COLUMNS",
    "FeatureTable",
    "as_float",
    "check_table_shape",
    "is_earlier_result",
    "numeric_columns",
]

RESULT_COLUMNS = ("anomaly_score", "nearest_cluster", "is_anomaly")
P_VALUE_COLUMN = "p_value"  # with a normal reference: how unusual each row's score is among normal windows
# Result columns of an earlier run (`anomaly_score`, or `anomaly_score_1` from older versions):
# never features, and replaced on re-scoring so nobody reads stale scores.
_OLD_RESULT = re.compile(r"^(anomaly_score|nearest_cluster|is_anomaly|p_value)(_\d+)?$")
_NUMERIC_SAMPLE = 2000  # non-empty text cells looked at to tell a number column from a text one


@dataclass(frozen=True)
class FeatureTable:
    """A feature file as read: all its columns, and which of them hold numbers."""

    table: pa.Table
    numeric_columns: list[str]
    source_name: str = "features"
    file_columns: tuple[str, ...] = ()  # every column of the file, when only some were read
    notes: tuple[str, ...] = ()  # how the file was read, when a user should know (e.g. its encoding)

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)

    @property
    def all_columns(self) -> list[str]:
        """Every column of the file, including those not read."""
        return list(self.file_columns) or self.columns

    @property
    def n_rows(self) -> int:
        return int(self.table.num_rows)


def is_earlier_result(name: str) -> bool:
    """A column an earlier scoring run wrote (`anomaly_score`, `nearest_cluster_1`, ...)."""
    return _OLD_RESULT.match(name) is not None


def numeric_columns(table: pa.Table) -> list[str]:
    """The columns that can be features: numbers (or mostly numbers), never an earlier run's results."""
    return [
        n
        for n, c in zip(table.column_names, table.columns, strict=True)
        if _looks_numeric(c) and not is_earlier_result(n)
    ]


def _looks_numeric(column: pa.ChunkedArray) -> bool:
    """Numbers, or text whose non-empty cells are mostly numbers (a few bad cells keep it)."""
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return True
    if pa.types.is_null(kind):
        return True  # an empty column keeps its place in the feature vector
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return False
    cells = [v.strip() for v in column.slice(0, _NUMERIC_SAMPLE * 4).to_pylist() if v is not None]
    present = [v for v in cells if v][:_NUMERIC_SAMPLE]
    return len(present) > 0 and sum(is_number(v) for v in present) * 2 > len(present)


def as_float(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A column as float64 values, NaN where a cell is empty or not a number.

    Numbers are read from Arrow's buffers; text is stripped and parsed as pandas parses numbers;
    other types (booleans, dates, nulls) are not feature values, so all NaN."""
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        # Read the buffers directly: pyarrow's to_numpy and fill_null import pandas (~0.4 s).
        arr = column.cast(pa.float64())
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        values: np.ndarray = np.frombuffer(arr.buffers()[1], np.float64, count=len(arr), offset=arr.offset * 8)
        if arr.null_count:
            bits = np.unpackbits(np.frombuffer(arr.buffers()[0], np.uint8), bitorder="little")
            values = np.where(bits[arr.offset : arr.offset + len(arr)].astype(bool), values, np.nan)
        return values
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        import pandas as pd

        text = column.to_pandas().str.strip()
        numbers: np.ndarray = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return numbers
    return np.full(len(column), np.nan)


def check_table_shape(rows: int, columns: int, decoded: int, limits: Limits, about: str = "") -> None:
    """Refuse a table over the limits on rows, columns or decoded bytes. `about` qualifies the
    numbers in the message ("about " for an estimate, "over " for a running count)."""
    if columns > limits.columns:
        raise FeatureFileError(too_big("the file", f"{columns:,} columns wide", f"{limits.columns:,}", "columns"))
    if rows > limits.rows:
        raise FeatureFileError(too_big("the file", f"{about}{rows:,} rows", f"{limits.rows:,}", "rows"))
    if decoded > limits.decoded_bytes:
        raise FeatureFileError(
            too_big("read, it", about + human_bytes(decoded), human_bytes(limits.decoded_bytes), "decoded_bytes")
        )
