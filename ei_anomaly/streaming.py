"""Score a feature file of any size in blocks: parse a block, score it, write it, in bounded memory.

The first block is read by `features.read_feature_file` itself, so the dialect, the column names,
which columns are numeric and the column mapping are decided exactly as for a whole file (a file
of one block gives exactly what `read_feature_file` gives). When there are more blocks, the column
types are fixed from the first block for all of them: number columns as float64, every other
column as text. A later cell that is not a number, in a column that was numeric in the first
block, cannot change the schema: its row stays (unscorable if the column feeds an axis), the cell
is empty in the output, and such cells are counted and reported (`StreamSummary.bad_cells`).

Three stages overlap: a thread parses blocks ahead (Arrow's CSV reader, on its own thread pool),
the caller scores them, and a writer thread encodes them; the heavy parts release the GIL. Parsing
starts when the stream is opened, so it goes on while the model and the kernel load.

A CSV file is cut into blocks at line ends, as Arrow's own reader does (`newlines_in_values` off):
a quoted value must not span lines.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import queue
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import FeatureFileError
from .features import (
    FeatureTable,
    ParquetBatches,
    as_float,
    csv_ready,
    numeric_columns,
    parquet_writer,
    read_feature_file,
    score_table,
    scored_table,
)
from .features.csv_reader import convert_options
from .features.dialect import SNIFF_BYTES, sniff, text_encoding

if TYPE_CHECKING:
    from .features import ColumnMapping
    from .scores import Scorer

BLOCK_BYTES = 4 << 20  # CSV bytes per block: ~16k rows of 33 features; a few dozen blocks are in flight
PARQUET_BATCH_ROWS = 16_384  # at most; fewer for wide files
ROW_GROUP_ROWS = 131_072  # rows per Parquet row group written
_ARROW_BLOCK = 1 << 20  # Arrow's own unit of parallel parsing inside a block
READ_AHEAD = 48  # parsed blocks waiting to be scored (they pile up while the model loads)
# Blocks come and go by the dozen: glibc's allocator hands the memory of a finished block to the
# next one, while Arrow's default (mimalloc) returns it to the system and every new block faults
# it back in, zeroing page after page (about 15% of the CPU time of a run, measured with perf).
_POOL = pa.system_memory_pool()
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
    """A feature file as a sequence of Arrow tables with one schema. `first` decides the mapping.

    The blocks after the first are parsed on a thread of their own, up to READ_AHEAD blocks ahead of the
    caller, from the moment the stream is opened: parsing goes on while the model loads."""

    first: FeatureTable
    bad_cells: int = 0  # cells of later blocks that were not numbers in a number column
    first_bad_cell: BadCell | None = None
    _ahead: _ReadAhead | None = None

    def rest(self) -> Iterator[pa.Table]:
        """The blocks after the first, with the first block's schema."""
        return iter(self._ahead) if self._ahead is not None else iter(())

    def _read_ahead(self, blocks: Iterator[pa.Table]) -> None:
        self._ahead = _ReadAhead(blocks, READ_AHEAD)

    def close(self) -> None:
        """Stop reading and release the input file."""
        if self._ahead is not None:
            self._ahead.close()


# What the read-ahead thread hands over: a block, the exception that stopped it, or the end.
_Entry: TypeAlias = (
    "tuple[Literal['item'], pa.Table] | tuple[Literal['error'], BaseException] | tuple[Literal['end'], None]"
)


class _ReadAhead:
    """Runs an iterator on a thread, at most `depth` items ahead of the consumer."""

    def __init__(self, items: Iterator[pa.Table], depth: int) -> None:
        self._queue: queue.Queue[_Entry] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name="feature-read-ahead", daemon=True)
        self._thread.start()

    def _run(self, items: Iterator[pa.Table]) -> None:
        try:
            for item in items:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(("error", exc))

    def _put(self, entry: _Entry) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[pa.Table]:
        while True:
            entry = self._queue.get()
            if entry[0] == "end":
                return
            if entry[0] == "error":
                raise entry[1]
            yield entry[1]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()  # the thread checks the flag at least every 0.1 s, or ends a block first


class _WholeFile(FeatureStream):
    """Inputs the block reader does not handle (not UTF-8): read whole, as `read_feature_file` does."""

    def __init__(self, path: Path) -> None:
        self.first = read_feature_file(path)


def _line_chunks(fh: io.BufferedIOBase, first_size: int, size: int, newline: bytes) -> Iterator[memoryview]:
    """The file in pieces of about `size` bytes, each ending at a line end (the last one maybe not).

    Every piece is a view of one reused buffer, valid until the next piece is asked for: a new
    buffer per piece would cost a page fault per 4 KiB, about as much as parsing it."""
    buffer = bytearray(max(first_size, size) * 5 // 4)
    filled, want = 0, first_size
    while True:
        if filled + want > len(buffer):  # a line longer than a block: grow
            bigger = bytearray(filled + want)
            bigger[:filled] = buffer[:filled]
            buffer = bigger
        with memoryview(buffer) as view:
            got = fh.readinto(view[filled : filled + want])
        if not got:
            if filled:
                yield memoryview(buffer)[:filled]
            return
        filled += got
        cut = buffer.rfind(newline, 0, filled)
        if cut < 0:
            want = size
            continue
        yield memoryview(buffer)[: cut + 1]
        tail = filled - cut - 1
        buffer[:tail] = buffer[cut + 1 : filled]
        filled, want = tail, size


class _CsvStream(FeatureStream):
    def __init__(self, fh: io.BufferedIOBase, head: bytes, name: str, block_bytes: int) -> None:
        self._fh = fh
        newline = b"\n" if b"\n" in head or b"\r" not in head else b"\r"
        chunks = _line_chunks(fh, max(block_bytes, SNIFF_BYTES), block_bytes, newline)
        first_chunk = bytes(next(chunks, b""))
        self.first = read_feature_file(first_chunk, name)
        second = next(chunks, None)
        if second is None:
            return  # one block: exactly what read_feature_file gives, types included
        sample = head.decode("utf-8", errors="ignore").removeprefix("\ufeff")
        delimiter, has_header, decimal = sniff(sample)
        self._decimal = decimal
        names = self.first.columns
        self._read = pacsv.ReadOptions(column_names=names, block_size=_ARROW_BLOCK)
        self._parse = pacsv.ParseOptions(delimiter=delimiter)
        self._types = _fixed_types(self.first)
        if self.first.table.schema != pa.schema(list(self._types.items())):
            # later blocks cannot grow a type inferred from the first (an int, an empty column):
            # read the first block again with the types every block will have
            skip = pacsv.ReadOptions(column_names=names, block_size=_ARROW_BLOCK, skip_rows=int(has_header))
            table = self._parse_block(first_chunk, skip, first_row=1)
            self.first = FeatureTable(table, self.first.numeric_columns, self.first.source_name)
        self._read_ahead(self._blocks(second, chunks))

    def _blocks(self, second: memoryview, more: Iterator[memoryview]) -> Iterator[pa.Table]:
        row = self.first.n_rows
        for chunk in itertools.chain([second], more):
            table = self._parse_block(chunk, self._read, first_row=row + 1)
            del chunk  # the buffer behind it is refilled by the next step
            if table.num_rows:
                row += table.num_rows
                yield table

    def _parse_block(self, chunk: bytes | memoryview, read: pacsv.ReadOptions, first_row: int) -> pa.Table:
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
                raise FeatureFileError("the file is not UTF-8 text; save it as UTF-8 CSV") from None
            raise FeatureFileError(f"cannot parse the CSV ({detail})") from None
        for name in floats:
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, self._to_float(table.column(i), name, first_row))
        return table

    def _read_block(self, source: pa.Buffer, read: pacsv.ReadOptions, types: dict[str, pa.DataType]) -> pa.Table:
        convert = convert_options(self._decimal, types)
        return pacsv.read_csv(
            source, read_options=read, parse_options=self._parse, convert_options=convert, memory_pool=_POOL
        )

    def _to_float(self, text: pa.ChunkedArray, name: str, first_row: int) -> pa.Array:
        """Text cells as float64 the way `features.as_float` reads them; null where not a number."""
        import pyarrow.compute as pc

        plain = pc.replace_substring(text, ",", ".") if self._decimal == "," else text
        values = as_float(plain)
        missing = np.isnan(values)
        given = ~np.asarray(text.is_null().to_numpy(zero_copy_only=False), bool)
        bad = np.flatnonzero(missing & given)
        if len(bad):
            if self.first_bad_cell is None:
                self.first_bad_cell = BadCell(first_row + int(bad[0]), name, str(text[int(bad[0])].as_py()))
            self.bad_cells += len(bad)
        return pa.array(np.where(missing, 0.0, values), pa.float64(), mask=missing)

    def close(self) -> None:
        super().close()
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
    """Batches of `features.ParquetBatches`: at most `batch_rows` rows, and about BLOCK_BYTES of
    values however wide the file, as for CSV."""

    def __init__(self, path: Path, name: str, batch_rows: int) -> None:
        self._file = ParquetBatches(path)
        tables = self._file.tables(self._file.rows_per_batch(batch_rows, BLOCK_BYTES, min_rows=1024))
        try:
            first = next(tables, None)
            if first is None:
                raise FeatureFileError("the file has a header but no rows")
        except BaseException:
            self._file.close()
            raise
        self.first = FeatureTable(table=first, numeric_columns=numeric_columns(first), source_name=name)
        self._read_ahead(tables)

    def close(self) -> None:
        super().close()
        self._file.close()


def open_feature_stream(path: Path, block_bytes: int | None = None, batch_rows: int | None = None) -> FeatureStream:
    """Open a CSV or Parquet feature file for scoring block by block; the first block is read now.

    `block_bytes` (CSV) and `batch_rows` (Parquet) default to BLOCK_BYTES and PARQUET_BATCH_ROWS."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 (kept open by the stream) read, not memory-mapped: mapped pages would count as resident
    except OSError as exc:
        raise FeatureFileError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    try:
        head = fh.read(SNIFF_BYTES)
        if head[:4] == b"PAR1":
            fh.close()
            return _ParquetStream(path, path.name, batch_rows or PARQUET_BATCH_ROWS)
        if text_encoding(head)[0] != "utf8":  # other encodings are read whole
            fh.close()
            return _WholeFile(path)
        fh.seek(0)
        return _CsvStream(fh, head, path.name, block_bytes or BLOCK_BYTES)
    except BaseException:
        fh.close()
        raise


class _BlockWriter:
    """Appends scored blocks to one CSV or Parquet output, as `features.write_table` writes them
    (Parquet through `features.parquet_writer`).

    Parquet row groups gather blocks up to ROW_GROUP_ROWS rows: small blocks keep parsing in
    cache and memory low, larger row groups suit the readers of the file."""

    def __init__(self, fmt: str, out: BinaryIO | io.RawIOBase | io.BufferedIOBase, schema: pa.Schema) -> None:
        self._group: list[pa.Table] = []
        self._group_rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._csv: pacsv.CSVWriter | None = None
        if fmt == "parquet":
            self._parquet = parquet_writer(out, schema, memory_pool=_POOL)
        else:
            self._csv = pacsv.CSVWriter(out, schema, memory_pool=_POOL)

    def write(self, table: pa.Table) -> None:
        if self._csv is not None:
            self._csv.write_table(table)
            return
        self._group.append(table)
        self._group_rows += table.num_rows
        if self._group_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._parquet is not None and self._group:
            group = pa.concat_tables(self._group, memory_pool=_POOL)
            self._parquet.write_table(group, row_group_size=max(group.num_rows, 1))
        self._group, self._group_rows = [], 0

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
        elif self._parquet is not None:
            self._flush()
            self._parquet.close()


def score_stream(
    stream: FeatureStream,
    model: Scorer,
    mapping: ColumnMapping,
    threshold: float,
    fmt: str,
    out: BinaryIO | io.RawIOBase | io.BufferedIOBase,
    spreadsheet: bool = False,
    reference: np.ndarray | None = None,
    notes: dict[str, str] | None = None,
) -> StreamSummary:
    """Score every block of `stream` and write it to `out` (`fmt` csv or parquet) as it is scored.
    CSV cells are written as `features.write_table` writes them (`spreadsheet`: formula-safe text).
    `reference`: scores of normal windows, for each row's `p_value`. `notes` go into a Parquet
    file's metadata (what the rows were, what the scores are exact to)."""
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
                result = scored_table(block, scores, threshold, reference)
                if fmt == "csv":
                    result = csv_ready(result, spreadsheet)
                if writer is None:
                    schema = result.schema.with_metadata(notes) if notes and fmt == "parquet" else result.schema
                    writer = _BlockWriter(fmt, out, schema)
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
