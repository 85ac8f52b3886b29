"""Reading feature files (CSV, Parquet) and mapping their columns onto a block's axes.

Nothing is dropped: every row and column the file had is kept. A row whose mapped features
are empty or not numbers is *unscorable*: it stays in the table with an empty score.
Files are read into Apache Arrow tables (multi-threaded CSV parsing, no copies on the way to
the scoring kernel); pages convert only the rows they show to pandas.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import FeatureFileError

if TYPE_CHECKING:  # type names only: reading a file must not wait for the scoring kernel's imports
    import pandas as pd

    from .model import AnomalyModel, Scores

_SNIFF_BYTES = 64 * 1024
RESULT_COLUMNS = ("anomaly_score", "nearest_cluster", "is_anomaly")
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


def _sniff(sample: str) -> tuple[str, bool, str]:
    """Guess (delimiter, has_header, decimal point) from the start of a CSV file."""
    lines = sample.splitlines()[:20]
    if not lines:
        raise FeatureFileError("features: the file is empty")
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    decimal = "."
    if delimiter == ";":
        cells = [c for r in rows for c in r]
        if any("," in c and _is_number(c.replace(",", ".")) for c in cells):
            decimal = ","

    def numeric(row: list[str]) -> int:
        return sum(_is_number(c.replace(decimal, ".")) for c in row if c.strip())

    first = rows[0]
    has_header = numeric(first) == 0 or (len(rows) > 1 and numeric(first) < max(numeric(r) for r in rows[1:]))
    return delimiter, has_header, decimal


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
    source: pa.NativeFile, sample: str, columns: list[str] | None = None, first_block: bool = False
) -> tuple[pa.Table, list[str]]:
    """The table (only `columns`, if given; only the first block, if asked) and every column name."""
    sample = sample.removeprefix("\ufeff")
    delimiter, has_header, decimal = _sniff(sample)
    first = next(csv.reader([sample.splitlines()[0]], delimiter=delimiter))
    names = _unique(first) if has_header else [f"column {i + 1}" for i in range(len(first))]
    # Arrow sizes each block's buffers by the block, so reading a few columns of many is leaner in
    # small blocks (1M x 5 of 35 columns: 95 MB instead of 220 MB); a whole table is faster in big ones.
    block = _BLOCK_BYTES // 8 if columns else _BLOCK_BYTES
    read_options = pacsv.ReadOptions(column_names=names, skip_rows=1 if has_header else 0, block_size=block)
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
    except pa.ArrowInvalid as exc:
        detail = str(exc).split("\n")[0][:200]
        if "utf8" in detail.lower() or "utf-8" in detail.lower():
            raise FeatureFileError("features: the file is not UTF-8 text; save it as UTF-8 CSV") from None
        raise FeatureFileError(f"features: cannot parse the CSV ({detail})") from None
    # Arrow reads cells that are not UTF-8 as binary; numbers were parsed, so that is the text.
    bad = [f.name for f in table.schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if bad:
        raise FeatureFileError(f"features: column {bad[0]!r} is not UTF-8 text; save the file as UTF-8 CSV")
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
    complete = sample.encode()[: sample.encode().rfind(b"\n") + 1]
    try:
        head = pacsv.read_csv(
            pa.BufferReader(complete), read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid:
        return []
    return [f.name for f in head.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]


def _read_parquet(
    source: pa.NativeFile, columns: list[str] | None = None, first_block: bool = False
) -> tuple[pa.Table, list[str]]:
    """One row group at a time: the working memory is a row group, not a second copy of the table.
    Returns the table (only `columns`, if given; the first rows only, if asked) and every column name."""
    try:
        parquet = pq.ParquetFile(source)
        names = _unique(parquet.schema_arrow.names)
        original = dict(zip(names, parquet.schema_arrow.names, strict=True))
        wanted = [original[c] for c in columns] if columns else None
        if first_block:
            first = next(parquet.iter_batches(batch_size=_PARQUET_FIRST_ROWS), None)
            table = pa.Table.from_batches([first]) if first is not None else parquet.schema_arrow.empty_table()
        else:
            groups = [parquet.read_row_group(i, columns=wanted) for i in range(parquet.num_row_groups)]
            table = pa.concat_tables(groups) if groups else parquet.schema_arrow.empty_table()
            if wanted:
                table = table.select(wanted)  # in the order asked for
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise FeatureFileError(f"features: cannot read the Parquet file ({str(exc)[:200]})") from None
    return table.rename_columns(columns or names), names


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


def read_feature_file(
    source: bytes | str | Path | BinaryIO,
    name: str | None = None,
    *,
    columns: Collection[str] | None = None,
    first_block: bool = False,
) -> FeatureTable:
    """Read a CSV or Parquet feature file from bytes, a path or a seekable binary file object.

    A file object (e.g. an upload held in memory) is read in blocks, so no second copy of it is made.
    `columns` reads only those columns (the others are still listed in `all_columns`), and
    `first_block` only the first few MB or rows: enough to preview the file and map its columns.
    """
    if hasattr(source, "read"):
        source.seek(0)
        handle: pa.NativeFile = pa.PythonFile(source, mode="r")
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            handle = pa.memory_map(str(path))
        except OSError as exc:
            raise FeatureFileError(f"features: cannot read {path.name}: {exc.strerror or exc}") from None
    else:
        handle = pa.BufferReader(pa.py_buffer(bytes(source)))
    head = handle.read(_SNIFF_BYTES)
    handle.seek(0)
    if not head.strip():
        raise FeatureFileError("features: the file is empty")
    wanted = list(dict.fromkeys(columns)) if columns else None
    if head[:4] == b"PAR1":
        table, names = _read_parquet(handle, wanted, first_block)
    else:
        table, names = _read_csv(handle, head.decode("utf-8", errors="ignore"), wanted, first_block)
    pa.default_memory_pool().release_unused()  # hand the parser's working memory back to the system
    if table.num_rows == 0:
        raise FeatureFileError("features: the file has a header but no rows")
    numeric = [n for n, c in zip(table.column_names, table.columns, strict=True) if _looks_numeric(c)]
    every = tuple(names) if wanted else ()
    return FeatureTable(table=table, numeric_columns=numeric, source_name=name or "features", file_columns=every)


def map_columns(table: FeatureTable, model: AnomalyModel, override: dict[int, str] | None = None) -> ColumnMapping:
    """Decide which column feeds each axis; `override` maps axis position -> column name."""
    if override:
        missing = [c for c in override.values() if c not in table.columns]
        if missing:
            raise FeatureFileError(f"features: the file has no column named {missing[0]!r}")
        auto = _auto_mapping(table, model, strict=False)
        columns = [override.get(j, auto[j] if auto else None) for j in range(len(model.axes))]
        if any(c is None for c in columns):
            j = columns.index(None)
            raise FeatureFileError(f"features: choose a column for {model.axis_labels[j]}")
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
        f"features: the model needs feature {highest} ({model.feature_label(highest)}) but the file "
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
    out = table.table
    for name, value in zip(RESULT_COLUMNS, values, strict=True):
        out = out.append_column(_free_name(out.column_names, name), value)
    return out


def write_table(table: pa.Table, fmt: str, out: io.RawIOBase | io.BufferedIOBase | str) -> None:
    """CSV or Parquet. Parquet dictionary-encodes text columns only (numbers gain nothing)."""
    if fmt == "parquet":
        text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        pq.write_table(table, out, use_dictionary=text or False)
    else:
        pacsv.write_csv(table, out)


def time_column(table: FeatureTable) -> str | None:
    """A text column that names a time (timestamp, time, date), for plotting scores along the file."""
    for name in table.columns:
        if name not in table.numeric_columns and any(w in name.lower() for w in ("time", "date")):
            return name
    return None


def column_values(table: FeatureTable, name: str, indices: np.ndarray) -> np.ndarray:
    """Some cells of one column as a numpy object array (e.g. timestamps for an x axis)."""
    return np.asarray(table.table.column(name).take(pa.array(np.asarray(indices, np.int64))).to_pylist(), dtype=object)


def preview(table: FeatureTable, rows: int = 5) -> pd.DataFrame:
    return table.table.slice(0, rows).to_pandas()


def rows_frame(table: FeatureTable, indices: np.ndarray) -> pd.DataFrame:
    """Some rows as pandas, without converting the whole table."""
    return table.table.take(pa.array(np.asarray(indices, np.int64))).to_pandas()


def scored_csv(table: FeatureTable, scores: Scores, threshold: float) -> bytes:
    buffer = io.BytesIO()
    write_table(scored_table(table, scores, threshold), "csv", buffer)
    return buffer.getvalue()
