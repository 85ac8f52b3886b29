"""Reading feature files (CSV, Parquet) and mapping their columns onto a block's axes.

Nothing is dropped: every row and column the file had is kept. A row whose mapped features
are empty or not numbers is *unscorable*: it stays in the table with an empty score.
Files are read into Apache Arrow tables (multi-threaded CSV parsing, no copies on the way to
the scoring kernel); pages convert only the rows they show to pandas.

`read_feature_file` (here) is the entry point; each module does one job:

    dialect         CSV delimiter, header and decimal point; text encoding and BOMs; unique column names
    table           FeatureTable; which columns are numeric; a column as numbers; limit checks
    csv_reader      reading CSV: whole, the first block, or some columns
    parquet_reader  ParquetBatches, the one Parquet reader (app, streamed `score`, Dask `batch`)
    mapping         ColumnMapping, map_columns, the axis matrix the kernel scores
    results         scored tables; writing CSV/Parquet; parquet_writer, the one Parquet writer set-up
    spreadsheet     CSV-ready cells and spreadsheet-safe (formula-defused) text
    preview         a few rows as pandas, and the time column
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from ..errors import FeatureFileError
from ..limits import Limits, human_bytes, too_big
from .csv_reader import read_csv_file
from .dialect import file_head
from .mapping import ColumnMapping, axis_matrix, map_columns, score_table
from .parquet_reader import ParquetBatches, read_parquet
from .preview import preview, rows_frame, time_column
from .results import parquet_writer, replaced_result_columns, scored_csv, scored_table, write_table
from .spreadsheet import csv_ready, spreadsheet_safe
from .table import P_VALUE_COLUMN, RESULT_COLUMNS, FeatureTable, as_float, is_earlier_result, numeric_columns

__all__ = [
    "P_VALUE_COLUMN",
    "RESULT_COLUMNS",
    "ColumnMapping",
    "FeatureTable",
    "ParquetBatches",
    "as_float",
    "axis_matrix",
    "csv_ready",
    "map_columns",
    "numeric_columns",
    "parquet_writer",
    "preview",
    "read_feature_file",
    "replaced_result_columns",
    "rows_frame",
    "score_table",
    "scored_csv",
    "scored_table",
    "spreadsheet_safe",
    "time_column",
    "write_table",
]


def read_feature_file(
    source: bytes | str | Path | BinaryIO,
    name: str | None = None,
    limits: Limits | None = None,
    *,
    columns: Collection[str] | None = None,
    first_block: bool = False,
) -> FeatureTable:
    """Read a CSV or Parquet feature file from bytes, a path or a seekable binary file object.

    `limits` (default: `Limits.from_env()`): the file's size, rows, columns and decoded size are
    checked before it is parsed. A file object (e.g. an upload held in memory) is read in blocks,
    so no second copy of it is made. `columns` reads only those columns (the others are still
    listed in `all_columns`), and `first_block` only the first few MB or rows: enough to preview
    the file and map its columns.
    """
    limits = limits or Limits.from_env()
    handle: pa.NativeFile
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            handle = pa.memory_map(str(path))
        except OSError as exc:
            raise FeatureFileError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    elif isinstance(source, pa.Buffer):
        handle = pa.BufferReader(source)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        handle = pa.BufferReader(pa.py_buffer(bytes(source)))
    else:  # a seekable binary file object
        source.seek(0)
        handle = pa.PythonFile(source, mode="r")
    size = handle.size()
    if size > limits.feature_file_bytes:
        raise FeatureFileError(
            too_big("the file", human_bytes(size), human_bytes(limits.feature_file_bytes), "feature_file_bytes")
        )
    head = file_head(handle)
    if not head.strip():
        raise FeatureFileError("the file is empty")
    notes: list[str] = []
    wanted = list(dict.fromkeys(columns)) if columns else None
    if head[:4] == b"PAR1":
        table, names = read_parquet(handle, limits, wanted, first_block)
    else:
        table, names, notes = read_csv_file(handle, head, size, limits, wanted, first_block)
    pa.default_memory_pool().release_unused()  # hand the parser's working memory back to the system
    if table.num_rows == 0:
        raise FeatureFileError("the file has a header but no rows")
    old = [n for n in table.column_names if is_earlier_result(n)]
    if old:
        notes.append(f"the file's earlier results ({', '.join(old)}) are not features; scoring replaces them")
    return FeatureTable(
        table=table,
        numeric_columns=numeric_columns(table),
        source_name=name or "features",
        file_columns=tuple(names) if wanted else (),
        notes=tuple(notes),
    )
