"""Score a feature file of any size in blocks: parse a block, score it, write it, in bounded memory.

The first block is read by `features.read_feature_file` itself, so the dialect, the column names,
which columns are numeric and the column mapping are decided exactly as for a whole file. Every
later block is parsed with the same options and with its column types fixed from the first block:
numbers as float64, everything else as text. A later cell that is not a number, in a column that
was numeric in the first block, cannot change the schema: its row stays, unscorable, the cell is
empty in the output, and the cells are counted and reported (`StreamSummary.bad_cells`).

Parsing (Arrow's CSV reader on its thread pool) and encoding (one writer thread) both release
the GIL, so on two cores the next block is parsed while the previous one is written.

A CSV file is cut into blocks at line ends, as Arrow's own reader does (`newlines_in_values` off):
a quoted value must not span lines.
"""

from __future__ import annotations

import codecs
import contextlib
import io
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import FeatureFileError
from .features import (
    _KEEP_TEXT,
    _SNIFF_BYTES,
    FeatureTable,
    _as_float,
    _looks_numeric,
    _sniff,
    _unique,
    read_feature_file,
    score_table,
    scored_table,
)

if TYPE_CHECKING:
    from .features import ColumnMapping
    from .model import AnomalyModel

BLOCK_BYTES = 16 << 20  # CSV bytes per block: ~65k rows of 33 features; a few blocks are in flight
PARQUET_BATCH_ROWS = 65_536
_ARROW_BLOCK = 1 << 20  # Arrow's own unit of parallel parsing inside a block
_IN_FLIGHT = 2  # scored blocks waiting for the writer: bounds memory, keeps both cores busy


@dataclass(frozen=True)
class BadCell:
    row: int  # 1-based data row (the header is not counted)
    column: str
    text: str


@dataclass
class StreamSummary:
    rows: int = 0
    anomalies: int = 0
    unscorable: int = 0
    bad_cells: int = 0
    first_bad_cell: BadCell | None = None


class FeatureStream:
    """A feature file as a sequence of Arrow tables with one schema. `first` decides the mapping."""

    first: FeatureTable

    bad_cells: int = 0  # cells of later blocks that were not numbers in a number column
    first_bad_cell: BadCell | None = None

    def rest(self) -> Iterator[pa.Table]:
        """The blocks after the first, with the first block's schema."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the input file."""


class _WholeFile(FeatureStream):
    """Inputs the block reader does not handle (not UTF-8): read whole, as `read_feature_file` does."""

    def __init__(self, path: Path) -> None:
        self.first = read_feature_file(path)

    def rest(self) -> Iterator[pa.Table]:
        return iter(())


def _line_chunks(fh: BinaryIO, first_size: int, size: int, newline: bytes) -> Iterator[bytes]:
    """The file in pieces of about `size` bytes, each ending at a line end (the last one maybe not)."""
    carry = b""
    want = first_size
    while True:
        data = fh.read(want)
        if not data:
            if carry:
                yield carry
            return
        data = carry + data if carry else data
        cut = data.rfind(newline)
        if cut < 0:  # one line longer than a block: read on until it ends
            carry, want = data, size
            continue
        carry = data[cut + 1 :]
        want = size
        yield data[: cut + 1]


class _CsvStream(FeatureStream):
    def __init__(self, fh: BinaryIO, head: bytes, name: str, block_bytes: int) -> None:
        self._fh = fh
        newline = b"\n" if b"\n" in head or b"\r" not in head else b"\r"
        self._chunks = _line_chunks(fh, max(block_bytes, _SNIFF_BYTES), block_bytes, newline)
        first_chunk = next(self._chunks, b"")
        self.first = read_feature_file(first_chunk, name)
        self._row = self.first.n_rows
        self._next = next(self._chunks, None)
        sample = head.decode("utf-8", errors="ignore").removeprefix("\ufeff")
        delimiter, has_header, decimal = _sniff(sample)
        self._decimal = decimal
        names = self.first.columns
        self._read = pacsv.ReadOptions(column_names=names, block_size=_ARROW_BLOCK)
        self._parse = pacsv.ParseOptions(delimiter=delimiter)
        if self._next is None:
            return  # one block: exactly what read_feature_file gives, types included
        self._types = _fixed_types(self.first)
        if self.first.table.schema != pa.schema(list(self._types.items())):
            # later blocks cannot grow a type inferred from the first (an int, an empty column):
            # read the first block again with the types every block will have
            skip = pacsv.ReadOptions(column_names=names, block_size=_ARROW_BLOCK, skip_rows=int(has_header))
            table = self._parse_block(first_chunk, skip, first_row=1)
            self.first = FeatureTable(table, self.first.numeric_columns, self.first.source_name)

    def _parse_block(self, chunk: bytes, read: pacsv.ReadOptions, first_row: int) -> pa.Table:
        source = pa.py_buffer(chunk)
        try:
            try:
                return self._read_block(source, read, self._types)
            except pa.ArrowInvalid as exc:
                if "conversion error to double" not in str(exc):
                    raise
            # a cell that is not a number: read the number columns as text, then convert cell by cell
            floats = [n for n, t in self._types.items() if pa.types.is_float64(t)]
            as_text = {n: pa.string() if n in floats else t for n, t in self._types.items()}
            table = self._read_block(source, read, as_text)
        except pa.ArrowInvalid as exc:
            detail = str(exc).split("\n")[0][:200]
            if "utf8" in detail.lower():
                raise FeatureFileError("features: the file is not UTF-8 text; save it as UTF-8 CSV") from None
            raise FeatureFileError(f"features: cannot parse the CSV ({detail})") from None
        for name in floats:
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, self._to_float(table.column(i), name, first_row))
        return table

    def _read_block(self, source: pa.Buffer, read: pacsv.ReadOptions, types: dict[str, pa.DataType]) -> pa.Table:
        convert = pacsv.ConvertOptions(
            decimal_point=self._decimal, strings_can_be_null=True, timestamp_parsers=_KEEP_TEXT, column_types=types
        )
        return pacsv.read_csv(source, read_options=read, parse_options=self._parse, convert_options=convert)

    def _to_float(self, text: pa.ChunkedArray, name: str, first_row: int) -> pa.Array:
        """Text cells as float64 the way `features._as_float` reads them; null where not a number."""
        import pyarrow.compute as pc

        plain = pc.replace_substring(text, ",", ".") if self._decimal == "," else text
        values = _as_float(plain)
        missing = np.isnan(values)
        given = ~np.asarray(text.is_null().to_numpy(zero_copy_only=False), bool)
        bad = np.flatnonzero(missing & given)
        if len(bad):
            if self.first_bad_cell is None:
                self.first_bad_cell = BadCell(first_row + int(bad[0]), name, str(text[int(bad[0])].as_py()))
            self.bad_cells += len(bad)
        return pa.array(np.where(missing, 0.0, values), pa.float64(), mask=missing)

    def rest(self) -> Iterator[pa.Table]:
        while self._next is not None:
            chunk, self._next = self._next, next(self._chunks, None)
            if not chunk.strip():
                continue
            table = self._parse_block(chunk, self._read, first_row=self._row + 1)
            self._row += table.num_rows
            yield table

    def close(self) -> None:
        self._fh.close()


def _fixed_types(first: FeatureTable) -> dict[str, pa.DataType]:
    """float64 for the number columns of the first block, text for every other column."""
    types: dict[str, pa.DataType] = {}
    for field in first.table.schema:
        kind = field.type
        number = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        types[field.name] = pa.float64() if number and field.name in first.numeric_columns else pa.string()
    return types


class _ParquetStream(FeatureStream):
    def __init__(self, path: Path, name: str, batch_rows: int) -> None:
        try:
            self._file = pq.ParquetFile(path)
            self._batches = self._file.iter_batches(batch_size=batch_rows)
            first = next(self._batches, None)
        except Exception as exc:  # pyarrow raises many types for corrupt files
            raise FeatureFileError(f"features: cannot read the Parquet file ({str(exc)[:200]})") from None
        if first is None:
            raise FeatureFileError("features: the file has a header but no rows")
        self._names = _unique(first.schema.names)
        table = pa.Table.from_batches([first]).rename_columns(self._names)
        numeric = [n for n, c in zip(table.column_names, table.columns, strict=True) if _looks_numeric(c)]
        self.first = FeatureTable(table=table, numeric_columns=numeric, source_name=name)

    def rest(self) -> Iterator[pa.Table]:
        try:
            for batch in self._batches:
                yield pa.Table.from_batches([batch]).rename_columns(self._names)
        except (OSError, pa.ArrowException) as exc:
            raise FeatureFileError(f"features: cannot read the Parquet file ({str(exc)[:200]})") from None

    def close(self) -> None:
        self._file.close()


def open_feature_stream(path: Path, block_bytes: int | None = None, batch_rows: int | None = None) -> FeatureStream:
    """Open a CSV or Parquet feature file for scoring block by block; the first block is read now.

    `block_bytes` (CSV) and `batch_rows` (Parquet) default to BLOCK_BYTES and PARQUET_BATCH_ROWS."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 (kept open by the stream) read, not memory-mapped: mapped pages would count as resident
    except OSError as exc:
        raise FeatureFileError(f"features: cannot read {path.name}: {exc.strerror or exc}") from None
    try:
        head = fh.read(_SNIFF_BYTES)
        if head[:4] == b"PAR1":
            fh.close()
            return _ParquetStream(path, path.name, batch_rows or PARQUET_BATCH_ROWS)
        if not _utf8(head):
            fh.close()
            return _WholeFile(path)
        fh.seek(0)
        return _CsvStream(fh, head, path.name, block_bytes or BLOCK_BYTES)
    except BaseException:
        fh.close()
        raise


def _utf8(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


class _BlockWriter:
    """Appends scored blocks to one CSV or Parquet output, with `features.write_table`'s options."""

    def __init__(self, fmt: str, out: BinaryIO | io.RawIOBase | io.BufferedIOBase, schema: pa.Schema) -> None:
        if fmt == "parquet":
            text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
            self._writer: pq.ParquetWriter | pacsv.CSVWriter = pq.ParquetWriter(
                out, schema, use_dictionary=text or False
            )
        else:
            self._writer = pacsv.CSVWriter(out, schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


def score_stream(
    stream: FeatureStream,
    model: AnomalyModel,
    mapping: ColumnMapping,
    threshold: float,
    fmt: str,
    out: BinaryIO | io.RawIOBase | io.BufferedIOBase,
) -> StreamSummary:
    """Score every block of `stream` and write it to `out` (`fmt` csv or parquet) as it is scored."""
    summary = StreamSummary()
    writer: _BlockWriter | None = None
    pending: deque[Future[None]] = deque()
    first = stream.first

    def blocks() -> Iterator[FeatureTable]:
        yield first
        for table in stream.rest():
            yield FeatureTable(table, first.numeric_columns, first.source_name)

    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="score-writer") as pool:
            for block in blocks():
                scores = score_table(block, model, mapping)
                summary.rows += block.n_rows
                summary.anomalies += scores.count_anomalies(threshold)
                summary.unscorable += scores.unscorable_count
                result = scored_table(block, scores, threshold)
                if writer is None:
                    writer = _BlockWriter(fmt, out, result.schema)
                pending.append(pool.submit(writer.write, result))
                while len(pending) > _IN_FLIGHT:
                    pending.popleft().result()  # a writer failure stops the reading here
            while pending:
                pending.popleft().result()
    except BaseException:
        if writer is not None:
            with contextlib.suppress(Exception):  # the output is discarded; the first error is the one to tell
                writer.close()
        raise
    else:
        if writer is not None:
            writer.close()
    finally:
        stream.close()
    summary.bad_cells = stream.bad_cells
    summary.first_bad_cell = stream.first_bad_cell
    return summary
