"""Reading Parquet feature files: `ParquetBatches` is the one reader, used by the app's whole-file
read (`read_parquet`), the streamed `score` and the Dask `batch` tasks; each caller bounds its
memory with its own batch size.

Whatever the caller: no pre-buffering (it would keep every row group read so far in memory until
the file is closed), column names made unique as for CSV, a repeated column name read by its
position, and one error message for a file Arrow cannot read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import FeatureFileError
from ..limits import Limits
from .dialect import unique_names
from .table import check_table_shape

__all__ = [
    "FIRST_ROWS",
    "PREVIEW_BYTES",
    "WHOLE_READ_BATCH_ROWS",
    "ParquetBatches",
    "decoded_estimate",
    "read_parquet",
]

FIRST_ROWS = 20_000  # rows of a Parquet file read to preview it and map its columns, at most
PREVIEW_BYTES = 4 << 20  # values a preview holds, about, however wide the file
WHOLE_READ_BATCH_ROWS = 256 * 1024  # rows per batch when the app reads a whole file


class ParquetBatches:
    """A Parquet file read in batches of a bounded size, as Arrow tables with unique column names.

    `source` is a path or an open Arrow file; `file` names the file in error messages. The footer
    (`metadata`, `schema`) is read on opening; a file Arrow cannot open or read raises
    FeatureFileError("cannot read the Parquet file (...)").
    """

    def __init__(self, source: str | Path | pa.NativeFile, *, file: str | None = None) -> None:
        self.file = file
        try:
            self._parquet = pq.ParquetFile(source, pre_buffer=False)
            self.metadata: pq.FileMetaData = self._parquet.metadata
            self.schema: pa.Schema = self._parquet.schema_arrow
        except Exception as exc:  # pyarrow raises many types for corrupt files
            raise self._error(exc) from None
        self.names = unique_names(self.schema.names)  # as the tables name the columns

    @property
    def num_rows(self) -> int:
        """Rows, as the footer says."""
        return int(self.metadata.num_rows)

    @property
    def num_columns(self) -> int:
        return len(self.schema)

    def rows_per_batch(self, max_rows: int, max_bytes: int | None = None, min_rows: int = 1) -> int:
        """At most `max_rows`; with `max_bytes`, also about that many bytes of values (8 a cell)
        however wide the file, but never under `min_rows`."""
        if max_bytes is None:
            return max_rows
        return min(max_rows, max(min_rows, max_bytes // (8 * max(1, self.num_columns))))

    def tables(
        self,
        rows: int,
        *,
        columns: Sequence[str] | None = None,
        row_groups: Sequence[int] | None = None,
        use_threads: bool = True,
    ) -> Iterator[pa.Table]:
        """The rows (of `row_groups`, or all) in tables of at most `rows` rows (see `rows_per_batch`).

        `columns` (names from `names`) reads only those, in that order; none for an empty file."""
        wanted, positions = self._projection(columns)
        batches = self._parquet.iter_batches(
            batch_size=rows, row_groups=row_groups, columns=wanted, use_threads=use_threads
        )
        while True:
            try:
                batch = next(batches, None)
            except Exception as exc:  # pyarrow raises many types for corrupt files
                raise self._error(exc) from None
            if batch is None:
                return
            yield self._named(pa.Table.from_batches([batch]), wanted, positions, columns)

    def empty_table(self, columns: Sequence[str] | None = None) -> pa.Table:
        """No rows, with the columns (and types) `tables` would give."""
        wanted, positions = self._projection(columns)
        return self._named(self.schema.empty_table(), wanted, positions, columns)

    def close(self) -> None:
        self._parquet.close()

    def _projection(self, columns: Sequence[str] | None) -> tuple[list[str] | None, list[int] | None]:
        """(names to ask Arrow for, positions to pick afterwards): a repeated column name cannot be
        asked for by name, so then every column is read and the wanted ones are picked by position."""
        if not columns:
            return None, None
        missing = [c for c in columns if c not in self.names]
        if missing:
            raise FeatureFileError(f"the file has no column named {missing[0]!r}", file=self.file)
        positions = [self.names.index(c) for c in columns]
        wanted = [self.schema.names[i] for i in positions]
        if any(self.schema.names.count(c) > 1 for c in wanted):
            return None, positions
        return wanted, positions

    def _named(
        self, table: pa.Table, wanted: list[str] | None, positions: list[int] | None, columns: Sequence[str] | None
    ) -> pa.Table:
        if positions is not None:  # in the order asked for
            table = table.select(wanted) if wanted else table.select(positions)
        return table.rename_columns(list(columns) if columns else self.names)

    def _error(self, exc: BaseException) -> FeatureFileError:
        return FeatureFileError(f"cannot read the Parquet file ({str(exc)[:200]})", file=self.file)


def decoded_estimate(meta: pq.FileMetaData, schema: pa.Schema) -> int:
    """Bytes the table takes in memory once read, from the footer alone: fixed-width columns
    are rows x width (the encoded size says nothing: 200M zeros encode to a few MB); others
    at least their uncompressed pages and one offset per row."""
    pages: dict[str, int] = {}
    tops = [meta.schema.column(c).path.split(".")[0] for c in range(meta.num_columns)]
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c, top in enumerate(tops):
            pages[top] = pages.get(top, 0) + group.column(c).total_uncompressed_size
    total = 0
    for field in schema:
        try:
            total += max(1, field.type.bit_width // 8) * meta.num_rows
        except ValueError:  # variable width: strings, lists, structs
            total += pages.get(field.name, 0) + 4 * meta.num_rows
    return total


def read_parquet(
    source: pa.NativeFile,
    limits: Limits | None = None,
    columns: list[str] | None = None,
    first_block: bool = False,
) -> tuple[pa.Table, list[str]]:
    """The app's read of a Parquet file: the table (only `columns`, if given; only the first rows,
    a few MB however wide the file, if `first_block`) and every column name.

    Checked against the limits from the footer first (`decoded_estimate`), and again
    while reading, batch by batch (a footer can lie): the working memory is a batch, not a second
    copy of the table."""
    limits = limits or Limits.from_env()
    parquet = ParquetBatches(source)
    check_table_shape(parquet.num_rows, parquet.num_columns, decoded_estimate(parquet.metadata, parquet.schema), limits)
    # a preview of a few MB however wide the file (20,000 rows of 20,000 columns would be 3 GB)
    preview_rows = parquet.rows_per_batch(FIRST_ROWS, PREVIEW_BYTES, min_rows=100)
    rows = preview_rows if first_block else WHOLE_READ_BATCH_ROWS
    tables, count, size = [], 0, 0
    for table in parquet.tables(rows, columns=columns):
        count, size = count + table.num_rows, size + table.nbytes
        check_table_shape(count, table.num_columns, size, limits, about="over ")
        tables.append(table)
        if first_block:
            break
    table = pa.concat_tables(tables) if tables else parquet.empty_table(columns)
    return table, parquet.names
