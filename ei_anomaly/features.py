"""Reading feature files (CSV, Parquet) and mapping their columns onto a block's axes.

Nothing is dropped: every row and column the file had is kept. A row whose mapped features
are empty or not numbers is *unscorable*: it stays in the table with an empty score.
Files are read into Apache Arrow tables (multi-threaded CSV parsing, no copies on the way to
the scoring kernel); pages convert only the rows they show to pandas.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import FeatureFileError
from .limits import Limits, human_bytes, too_big

if TYPE_CHECKING:  # type names only: reading a file must not wait for the scoring kernel's imports
    import pandas as pd

    from .model import AnomalyModel, Scores

_SNIFF_BYTES = 64 * 1024
_SNIFF_MAX_BYTES = 64 * 1024 * 1024  # a sample grows to whole lines, up to this (very wide files)
_SNIFF_LINES = 3
RESULT_COLUMNS = ("anomaly_score", "nearest_cluster", "is_anomaly")
# Result columns of an earlier run (`anomaly_score`, or `anomaly_score_1` from older versions):
# never features, and replaced on re-scoring so nobody reads stale scores.
_OLD_RESULT = re.compile(r"^(anomaly_score|nearest_cluster|is_anomaly)(_\d+)?$")
# Cells a spreadsheet would run as a formula (OWASP CSV injection): = + - @ tab, carriage return.
_FORMULA_START = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
# Arrow turns ISO dates into timestamps by default; a format no cell can match keeps every
# text column as the user wrote it, so outputs repeat the input unchanged.
_KEEP_TEXT = ["\x01"]
_NUMERIC_SAMPLE = 2000
_BLOCK_BYTES = 4 << 20  # CSV parsing works through the file in blocks of this size
_PARQUET_FIRST_ROWS = 20_000  # rows of a Parquet file read to preview it and map its columns
_BAD_COLUMN = re.compile(r"CSV column #(\d+)")


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
        return self.table.num_rows


@dataclass(frozen=True)
class ColumnMapping:
    """The file column that feeds each of the block's axes, in axis order."""

    columns: list[str]
    how: str


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_rows(lines: list[str], delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(lines, delimiter=delimiter))
    except csv.Error as exc:  # e.g. a cell over 128 KiB: not a feature file
        raise FeatureFileError(f"cannot parse the CSV ({exc}); is this a file of features?") from None


def _sniff(sample: str) -> tuple[str, bool, str]:
    """Guess (delimiter, has_header, decimal point) from the start of a CSV file."""
    lines = sample.splitlines()[:20]
    if not lines:
        raise FeatureFileError("the file is empty")
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = _csv_rows(lines, delimiter)
    decimal = "."
    if delimiter == ";":
        cells = [c for r in rows for c in r]
        if any("," in c and _is_number(c.replace(",", ".")) for c in cells):
            decimal = ","

    def numeric(row: list[str]) -> int:
        return sum(_is_number(c.replace(decimal, ".")) for c in row if c.strip())

    first = rows[0]
    has_header = numeric(first) == 0 or (len(rows) > 1 and numeric(first) < max(numeric(r) for r in rows[1:]))
    return delimiter, has_header or _numbered_header(rows), decimal


def _numbered_header(rows: list[list[str]]) -> bool:
    """A header of column numbers, as pandas writes for an unnamed frame: `0,1,...,n-1` (or 1..n),
    over data rows that are not themselves such a run (so a headerless file keeps its first row)."""

    def run(row: list[str]) -> bool:
        cells = [c.strip() for c in row]
        if len(cells) < 2 or not all(c.isdigit() for c in cells):
            return False
        start = int(cells[0])
        return start in (0, 1) and [int(c) for c in cells] == list(range(start, start + len(cells)))

    return len(rows) > 1 and run(rows[0]) and not any(run(r) for r in rows[1:])


def _unique(names: list[str]) -> list[str]:
    out: list[str] = []
    for i, name in enumerate(names):
        name = str(name).strip() or f"column {i + 1}"
        base, n = name, 1
        while name in out:
            name, n = f"{base}.{n}", n + 1
        out.append(name)
    return out


def _read_csv(
    source: pa.NativeFile,
    sample: str,
    encoding: str = "utf8",
    columns: list[str] | None = None,
    first_block: bool = False,
) -> tuple[pa.Table, list[str]]:
    """`sample`: the file's start, decoded, in whole lines; `encoding`: the file's (Arrow transcodes).
    Returns the table (only `columns`, if given; only the first block, if asked) and every column name."""
    sample = sample.removeprefix("\ufeff")
    delimiter, has_header, decimal = _sniff(sample)
    first = _csv_rows(sample.splitlines()[:1], delimiter)[0]
    names = _unique(first) if has_header else [f"column {i + 1}" for i in range(len(first))]
    # Arrow sizes each block's buffers by the block, so reading a few columns of many is leaner in
    # small blocks (1M x 5 of 35 columns: 95 MB instead of 220 MB); a whole table is faster in big ones.
    # The first block alone (a preview) needs only enough rows to tell numbers from text.
    block = _BLOCK_BYTES // 8 if columns else _BLOCK_BYTES // 4 if first_block else _BLOCK_BYTES
    block = max(block, 16 * len(sample.splitlines()[0].encode()))  # a block holds whole rows, wide ones too
    read_options = pacsv.ReadOptions(
        column_names=names, skip_rows=1 if has_header else 0, encoding=encoding, block_size=block
    )
    parse_options = pacsv.ParseOptions(delimiter=delimiter)

    def convert(column_types: dict[str, pa.DataType]) -> pacsv.ConvertOptions:
        return pacsv.ConvertOptions(
            decimal_point=decimal,
            strings_can_be_null=True,
            timestamp_parsers=_KEEP_TEXT,
            column_types=column_types,
            include_columns=columns or [],
        )

    try:
        # Columns that are numbers at the start are read as float64 (faster than inferring).
        numeric = _numeric_in_sample(sample, read_options, parse_options, convert({}))
        types = {n: pa.float64() for n in numeric}
        table = _parse_csv(source, read_options, parse_options, convert, types, first_block)
        if decimal == ",":  # a number column read as text (a bad cell further down) keeps its numbers
            for name in numeric:
                column = table.column(name) if name in table.column_names else None
                if column is not None and pa.types.is_string(column.type):
                    index = table.column_names.index(name)
                    table = table.set_column(index, name, pc.replace_substring(column, ",", "."))
    except pa.ArrowInvalid as exc:
        detail = str(exc).split("\n")[0][:200]
        if "utf8" in detail.lower() or "utf-8" in detail.lower():
            raise FeatureFileError("the file is not UTF-8 text; save it as UTF-8 CSV") from None
        raise FeatureFileError(f"cannot parse the CSV ({detail})") from None
    # Arrow reads cells that are not UTF-8 as binary; numbers were parsed, so that is the text.
    bad = [f.name for f in table.schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if bad:
        raise FeatureFileError(f"column {bad[0]!r} is not UTF-8 text; save the file as UTF-8 CSV")
    return table, names


def _parse_csv(
    source: pa.NativeFile,
    read_options: pacsv.ReadOptions,
    parse_options: pacsv.ParseOptions,
    convert: Callable[[dict[str, pa.DataType]], pacsv.ConvertOptions],
    column_types: dict[str, pa.DataType],
    first_block: bool = False,
) -> pa.Table:
    """Parse block by block: a few MB of working memory beside the table, not a second copy of
    the file. A column whose later cell does not fit the type its first block gave (text in a
    number column) is read again as text, so no cell is lost; the caller decides what is numeric."""
    types = dict(column_types)
    names = list(read_options.column_names)
    while True:
        source.seek(0)
        try:
            reader = pacsv.open_csv(
                source, read_options=read_options, parse_options=parse_options, convert_options=convert(types)
            )
            batches = list(itertools.islice(reader, 1 if first_block else None))
            return pa.Table.from_batches(batches, schema=reader.schema)
        except pa.ArrowInvalid as exc:
            found = _BAD_COLUMN.search(str(exc))
            column = names[int(found[1])] if found and int(found[1]) < len(names) else None
            if column is None or types.get(column) == pa.string():
                raise
            # integers that turn into decimals become float64; anything else becomes text
            types[column] = pa.float64() if column not in types else pa.string()


def _numeric_in_sample(
    sample: str, read: pacsv.ReadOptions, parse: pacsv.ParseOptions, convert: pacsv.ConvertOptions
) -> list[str]:
    read = pacsv.ReadOptions(column_names=read.column_names, skip_rows=read.skip_rows)  # the sample is UTF-8
    complete = sample.encode()[: sample.encode().rfind(b"\n") + 1]
    try:
        head = pacsv.read_csv(
            pa.BufferReader(complete), read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid:
        return []
    return [f.name for f in head.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]


def _decoded_estimate(meta: pq.FileMetaData, schema: pa.Schema) -> int:
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


def _check_table_shape(rows: int, columns: int, decoded: int, limits: Limits, about: str = "") -> None:
    if columns > limits.columns:
        raise FeatureFileError(too_big("the file", f"{columns:,} columns wide", f"{limits.columns:,}", "columns"))
    if rows > limits.rows:
        raise FeatureFileError(too_big("the file", f"{about}{rows:,} rows", f"{limits.rows:,}", "rows"))
    if decoded > limits.decoded_bytes:
        raise FeatureFileError(
            too_big("read, it", about + human_bytes(decoded), human_bytes(limits.decoded_bytes), "decoded_bytes")
        )


def _read_parquet(
    source: pa.NativeFile, limits: Limits | None = None, columns: list[str] | None = None, first_block: bool = False
) -> tuple[pa.Table, list[str]]:
    """Checked against the limits from the footer first, and again while reading (a footer can lie).
    Read in batches: the working memory is a row group, not a second copy of the table. Returns the
    table (only `columns`, if given; only the first rows, if asked) and every column name."""
    limits = limits or Limits.from_env()
    try:
        parquet = pq.ParquetFile(source)
        meta, schema = parquet.metadata, parquet.schema_arrow
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise FeatureFileError(f"cannot read the Parquet file ({str(exc)[:200]})") from None
    _check_table_shape(meta.num_rows, len(schema), _decoded_estimate(meta, schema), limits)
    names = _unique(schema.names)
    positions = [names.index(c) for c in columns] if columns else None
    wanted = [schema.names[i] for i in positions] if positions else None
    if wanted and any(schema.names.count(c) > 1 for c in wanted):
        wanted = None  # a repeated column name cannot be asked for by name: read all, pick by position
    read_schema = pa.schema([schema.field(c) for c in wanted]) if wanted else schema
    # a preview of a few MB however wide the file (20,000 rows of 20,000 columns would be 3 GB)
    preview_rows = max(100, min(_PARQUET_FIRST_ROWS, _BLOCK_BYTES // (8 * max(1, len(schema)))))
    batch_rows = preview_rows if first_block else 256 * 1024
    batches, rows, size = [], 0, 0
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=wanted):
            rows, size = rows + batch.num_rows, size + batch.nbytes
            _check_table_shape(rows, batch.num_columns, size, limits, about="over ")
            batches.append(batch)
            if first_block:
                break
        table = pa.Table.from_batches(batches, schema=read_schema)
        if positions:  # in the order asked for
            table = table.select(wanted) if wanted else table.select(positions)
    except FeatureFileError:
        raise
    except Exception as exc:
        raise FeatureFileError(f"cannot read the Parquet file ({str(exc)[:200]})") from None
    return table.rename_columns(columns or names), names


def numeric_columns(table: pa.Table) -> list[str]:
    """The columns that can be features: numbers (or mostly numbers), never an earlier run's results."""
    return [
        n
        for n, c in zip(table.column_names, table.columns, strict=True)
        if _looks_numeric(c) and not _OLD_RESULT.match(n)
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
    return len(present) > 0 and sum(_is_number(v) for v in present) * 2 > len(present)


def _sample(handle: pa.NativeFile) -> bytes:
    """The file's start: 64 KiB, grown until it holds a few whole lines (a 9,216-feature row is
    over 64 KiB), up to _SNIFF_MAX_BYTES."""
    head = handle.read(_SNIFF_BYTES)
    step = _SNIFF_BYTES
    while head.count(b"\n") < _SNIFF_LINES and len(head) < _SNIFF_MAX_BYTES:
        more = handle.read(step)
        if not more:
            break
        head, step = head + more, step * 2
    handle.seek(0)
    return head


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _encoding(head: bytes) -> tuple[str, str | None]:
    """(codec, note): UTF-8 unless a byte-order mark says UTF-16/32; a file that is not UTF-8
    is read as Windows-1252 (Excel's "CSV" on Windows), and the note says so."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec, f"read as {codec.upper()} text (the file starts with its byte-order mark)"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf8", None
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        codec = "cp1252"
    except UnicodeDecodeError:
        codec = "latin-1"
    name = "Windows-1252" if codec == "cp1252" else "Latin-1"
    return codec, f"the file is not UTF-8: read as {name} text; check that accented names look right"


def _count_lines(handle: pa.NativeFile, newline: bytes) -> int:
    lines, tail = 0, b""
    while chunk := handle.read(16 * 1024 * 1024):
        lines += chunk.count(newline)
        tail = chunk[-len(newline) :]
    handle.seek(0)
    return lines + (1 if tail and tail != newline else 0)


def _check_csv_shape(handle: pa.NativeFile, size: int, sample: str, encoding: str, limits: Limits) -> None:
    """Columns from the first line; rows from a line count (bytes.count: about 1 GB/s), when the
    file is big enough to go over; decoded size assumes 8 bytes (a float64) per cell."""
    first = sample.splitlines()[0] if sample else ""
    columns = 1 + max(first.count(d) for d in ",;\t")
    rows = 0
    if size > min(limits.rows, limits.decoded_bytes // (8 * columns)):
        newline = "\n".encode(encoding if encoding != "utf8" else "utf-8")
        newline = newline.removeprefix(codecs.BOM_UTF16_LE).removeprefix(codecs.BOM_UTF16_BE)
        newline = newline.removeprefix(codecs.BOM_UTF32_LE).removeprefix(codecs.BOM_UTF32_BE)
        rows = _count_lines(handle, newline)
    _check_table_shape(rows, columns, rows * columns * 8, limits, about="about ")


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
    if hasattr(source, "read"):
        source.seek(0)
        handle: pa.NativeFile = pa.PythonFile(source, mode="r")
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            handle = pa.memory_map(str(path))
        except OSError as exc:
            raise FeatureFileError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    else:
        handle = pa.BufferReader(pa.py_buffer(bytes(source)) if not isinstance(source, pa.Buffer) else source)
    size = handle.size()
    if size > limits.feature_file_bytes:
        raise FeatureFileError(
            too_big("the file", human_bytes(size), human_bytes(limits.feature_file_bytes), "feature_file_bytes")
        )
    head = _sample(handle)
    if not head.strip():
        raise FeatureFileError("the file is empty")
    notes: list[str] = []
    wanted = list(dict.fromkeys(columns)) if columns else None
    if head[:4] == b"PAR1":
        table, names = _read_parquet(handle, limits, wanted, first_block)
    else:
        encoding, note = _encoding(head)
        notes += [note] if note else []
        decoder = codecs.getincrementaldecoder("utf-8" if encoding == "utf8" else encoding)(errors="replace")
        sample = decoder.decode(head, final=False)
        if not sample.strip("\ufeff\x00 \r\n\t"):
            raise FeatureFileError("the file is empty")
        if not first_block:  # the first block is a preview: the whole read checks the whole file
            _check_csv_shape(handle, size, sample, encoding, limits)
        table, names = _read_csv(handle, sample, encoding, wanted, first_block)
    pa.default_memory_pool().release_unused()  # hand the parser's working memory back to the system
    if table.num_rows == 0:
        raise FeatureFileError("the file has a header but no rows")
    old = [n for n in table.column_names if _OLD_RESULT.match(n)]
    numeric = numeric_columns(table)
    if old:
        notes.append(f"the file's earlier results ({', '.join(old)}) are not features; scoring replaces them")
    return FeatureTable(
        table=table,
        numeric_columns=numeric,
        source_name=name or "features",
        file_columns=tuple(names) if wanted else (),
        notes=tuple(notes),
    )


def map_columns(table: FeatureTable, model: AnomalyModel, override: dict[int, str] | None = None) -> ColumnMapping:
    """Decide which column feeds each axis; `override` maps axis position -> column name."""
    if override:
        missing = [c for c in override.values() if c not in table.columns]
        if missing:
            raise FeatureFileError(f"the file has no column named {missing[0]!r}")
        auto = _auto_mapping(table, model, strict=False)
        columns = [override.get(j, auto[j] if auto else None) for j in range(len(model.axes))]
        if any(c is None for c in columns):
            j = columns.index(None)
            raise FeatureFileError(f"choose a column for {model.axis_labels[j]}")
        return ColumnMapping(columns=[str(c) for c in columns], how="chosen by hand")
    return ColumnMapping(columns=_auto_mapping(table, model, strict=True) or [], how=_how(table, model))


def _how(table: FeatureTable, model: AnomalyModel) -> str:
    if _by_name(table, model):
        return "matched by axis name"
    if len(table.numeric_columns) == len(model.axes):
        return "numeric columns are the axes, in order"
    return "numeric columns are the full feature vector"


def _by_name(table: FeatureTable, model: AnomalyModel) -> list[str] | None:
    labels = [model.feature_names.get(ix) for ix in model.axes]
    if all(label in table.columns for label in labels):
        return [str(label) for label in labels]
    return None


def _auto_mapping(table: FeatureTable, model: AnomalyModel, strict: bool) -> list[str] | None:
    named = _by_name(table, model)
    if named:
        return named
    numeric = table.numeric_columns
    if len(numeric) == len(model.axes):
        return list(numeric)
    if len(numeric) >= model.n_features_required:
        return [numeric[ix] for ix in model.axes]
    if not strict:
        return None
    highest = max(model.axes)
    raise FeatureFileError(
        f"the model needs feature {highest} ({model.feature_label(highest)}) but the file "
        f"has {len(numeric)} numeric columns; provide all {model.n_features_required} features in "
        f"order, exactly the {len(model.axes)} axis columns, or columns named after the axes"
    )


def _as_float(column: pa.ChunkedArray) -> np.ndarray:
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        # Read the buffers directly: pyarrow's to_numpy and fill_null import pandas (~0.4 s).
        arr = column.cast(pa.float64()).combine_chunks()
        values = np.frombuffer(arr.buffers()[1], np.float64, count=len(arr), offset=arr.offset * 8)
        if arr.null_count:
            bits = np.unpackbits(np.frombuffer(arr.buffers()[0], np.uint8), bitorder="little")
            values = np.where(bits[arr.offset : arr.offset + len(arr)].astype(bool), values, np.nan)
        return values
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        import pandas as pd

        text = column.to_pandas().str.strip()
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.full(len(column), np.nan)  # booleans, dates, nulls: not a feature value


def axis_matrix(table: FeatureTable, mapping: ColumnMapping) -> np.ndarray:
    """The mapped columns as float32, NaN where a cell is empty or not a number."""
    out = np.empty((table.n_rows, len(mapping.columns)), np.float32)
    for j, name in enumerate(mapping.columns):
        out[:, j] = _as_float(table.table.column(name))
    return out


def score_table(table: FeatureTable, model: AnomalyModel, mapping: ColumnMapping) -> Scores:
    return model.score_axes(axis_matrix(table, mapping))


def _free_name(taken: list[str], name: str) -> str:
    out, n = name, 1
    while out in taken:
        out, n = f"{name}_{n}", n + 1
    return out


def _arrow(data: np.ndarray, missing: np.ndarray, kind: pa.DataType) -> pa.Array:
    """An Arrow array over numpy buffers (pa.array(..., mask=) would import pandas)."""
    nulls = int(missing.sum())
    validity = pa.py_buffer(np.packbits(~missing, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(kind, len(missing), [validity, pa.py_buffer(data)], null_count=nulls)


def scored_table(table: FeatureTable, scores: Scores, threshold: float) -> pa.Table:
    """Every input row and column plus score, nearest cluster and flag (empty if unscorable)."""
    missing = ~scores.scorable
    values = (
        _arrow(np.ascontiguousarray(scores.score, np.float32), missing, pa.float32()),
        _arrow(np.ascontiguousarray(scores.nearest_cluster, np.int32), missing, pa.int32()),
        _arrow(np.packbits(scores.is_anomaly(threshold), bitorder="little"), missing, pa.bool_()),
    )
    out = table.table.drop_columns(replaced_result_columns(table))
    for name, value in zip(RESULT_COLUMNS, values, strict=True):
        out = out.append_column(_free_name(out.column_names, name), value)
    return out


def replaced_result_columns(table: FeatureTable) -> list[str]:
    """Columns of an earlier scoring run, which `scored_table` drops so no stale score remains."""
    return [n for n in table.columns if _OLD_RESULT.match(n)]


def _json_default(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)  # dates, times, decimals


def _csv_ready(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Nested values (lists, structs, maps: Parquet has them, CSV has not) become JSON text;
    bytes that are not UTF-8 become hex. Other columns are returned as they are."""
    kind = column.type
    if pa.types.is_nested(kind):
        text = [None if v is None else json.dumps(v, default=_json_default) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(text, pa.string())])
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        try:
            return column.cast(pa.string())
        except pa.ArrowInvalid:
            hexed = [None if v is None else v.hex() for v in column.to_pylist()]
            return pa.chunked_array([pa.array(hexed, pa.string())])
    return column


def spreadsheet_safe(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """OWASP CSV-injection defence for exports opened in spreadsheets: a text cell starting with
    = + - @ (or tab, CR) gets a leading `'`. Numbers, and text that is a plain number, stay."""
    kind = column.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return column
    risky = pc.and_(
        pc.match_substring_regex(column, _FORMULA_START), pc.invert(pc.match_substring_regex(column, _PLAIN_NUMBER))
    )
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def write_table(
    table: pa.Table, fmt: str, out: io.RawIOBase | io.BufferedIOBase | str, spreadsheet: bool = False
) -> None:
    """CSV or Parquet. Parquet dictionary-encodes text columns only (numbers gain nothing).

    CSV writes nested values as JSON text; `spreadsheet=True` also defuses formula-like text cells.
    """
    if fmt == "parquet":
        text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        pq.write_table(table, out, use_dictionary=text or False)
    else:
        pacsv.write_csv(csv_ready(table, spreadsheet), out)


def csv_ready(table: pa.Table, spreadsheet: bool = False) -> pa.Table:
    """The table as CSV writes it: nested values as JSON text; `spreadsheet=True` also defuses
    formula-like text cells."""
    columns = [_csv_ready(c) for c in table.columns]
    if spreadsheet:
        columns = [spreadsheet_safe(c) for c in columns]
    if any(c.type != f.type for c, f in zip(columns, table.schema, strict=True)) or spreadsheet:
        table = pa.Table.from_arrays(columns, names=table.column_names)
    return table


def time_column(table: FeatureTable) -> str | None:
    """A text column that names a time (timestamp, time, date), for plotting scores along the file."""
    for name in table.columns:
        if name not in table.numeric_columns and any(w in name.lower() for w in ("time", "date")):
            return name
    return None


def preview(table: FeatureTable, rows: int = 5) -> pd.DataFrame:
    return table.table.slice(0, rows).to_pandas()


def rows_frame(table: FeatureTable, indices: np.ndarray) -> pd.DataFrame:
    """Some rows as pandas, without converting the whole table."""
    return table.table.take(pa.array(np.asarray(indices, np.int64))).to_pandas()


def scored_csv(table: FeatureTable, scores: Scores, threshold: float, spreadsheet: bool = False) -> bytes:
    buffer = io.BytesIO()
    write_table(scored_table(table, scores, threshold), "csv", buffer, spreadsheet)
    return buffer.getvalue()
