"""Reading a CSV feature file into an Arrow table: whole, only its first block (a preview), or only
some columns; its rows and columns checked against the limits before it is parsed."""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import FeatureFileError
from ..limits import Limits
from .dialect import csv_rows, sniff, text_encoding, unique_names
from .table import check_table_shape

__all__ = ["BLOCK_BYTES", "KEEP_TEXT", "check_csv_shape", "convert_options", "read_csv", "read_csv_file"]

# Arrow turns ISO dates into timestamps by default; a format no cell can match keeps every
# text column as the user wrote it, so outputs repeat the input unchanged.
KEEP_TEXT = ["\x01"]
BLOCK_BYTES = 4 << 20  # CSV parsing works through the file in blocks of this size
_BAD_COLUMN = re.compile(r"CSV column #(\d+)")


def convert_options(
    decimal: str, column_types: dict[str, pa.DataType], include_columns: list[str] | None = None
) -> pacsv.ConvertOptions:
    """How every CSV reader of the package converts cells: `decimal` point, empty cells null,
    text never turned into timestamps, the given column types, only `include_columns` (all if None)."""
    return pacsv.ConvertOptions(
        decimal_point=decimal,
        strings_can_be_null=True,
        timestamp_parsers=KEEP_TEXT,
        column_types=column_types,
        include_columns=include_columns or [],
    )


def read_csv_file(
    handle: pa.NativeFile,
    head: bytes,
    size: int,
    limits: Limits,
    columns: list[str] | None = None,
    first_block: bool = False,
) -> tuple[pa.Table, list[str], list[str]]:
    """Read a CSV file whose start is `head` (see `dialect.file_head`): its encoding is told from
    `head`, and its shape checked against `limits` unless only the first block is read.
    Returns the table, every column name of the file, and notes for the user (the encoding)."""
    encoding, note = text_encoding(head)
    decoder = codecs.getincrementaldecoder("utf-8" if encoding == "utf8" else encoding)(errors="replace")
    sample = decoder.decode(head, final=False)
    if not sample.strip("\ufeff\x00 \r\n\t"):
        raise FeatureFileError("the file is empty")
    if not first_block:  # the first block is a preview: the whole read checks the whole file
        check_csv_shape(handle, size, sample, encoding, limits)
    table, names = read_csv(handle, sample, encoding, columns, first_block)
    check_decoded_size(table, limits)
    return table, names, [note] if note else []


def read_csv(
    source: pa.NativeFile,
    sample: str,
    encoding: str = "utf8",
    columns: list[str] | None = None,
    first_block: bool = False,
) -> tuple[pa.Table, list[str]]:
    """`sample`: the file's start, decoded, in whole lines; `encoding`: the file's (Arrow transcodes).
    Returns the table (only `columns`, if given; only the first block, if asked) and every column name."""
    sample = sample.removeprefix("\ufeff")
    delimiter, has_header, decimal = sniff(sample)
    first = csv_rows(sample.splitlines()[:1], delimiter)[0]
    names = unique_names(first) if has_header else [f"column {i + 1}" for i in range(len(first))]
    # Arrow sizes each block's buffers by the block, so reading a few columns of many is leaner in
    # small blocks (1M x 5 of 35 columns: 95 MB instead of 220 MB); a whole table is faster in big ones.
    # The first block alone (a preview) needs only enough rows to tell numbers from text.
    block = BLOCK_BYTES // 8 if columns else BLOCK_BYTES // 4 if first_block else BLOCK_BYTES
    block = max(block, 16 * len(sample.splitlines()[0].encode()))  # a block holds whole rows, wide ones too
    read_options = pacsv.ReadOptions(
        column_names=names, skip_rows=1 if has_header else 0, encoding=encoding, block_size=block
    )
    parse_options = pacsv.ParseOptions(delimiter=delimiter)

    def convert(column_types: dict[str, pa.DataType]) -> pacsv.ConvertOptions:
        return convert_options(decimal, column_types, columns)

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


def _count_lines(handle: pa.NativeFile, newline: bytes) -> int:
    lines, tail = 0, b""
    while chunk := handle.read(16 * 1024 * 1024):
        lines += chunk.count(newline)
        tail = chunk[-len(newline) :]
    handle.seek(0)
    return lines + (1 if tail and tail != newline else 0)


def check_csv_shape(handle: pa.NativeFile, size: int, sample: str, encoding: str, limits: Limits) -> None:
    """Columns from the first line; rows from a line count (bytes.count: about 1 GB/s), when the
    file is big enough to go over; decoded size: 8 bytes (a float64) per cell, or the file's text
    as UTF-8 when that is more (text cells are held as their text: a file of long text cells
    decodes to about its own size, UTF-16 to up to 1.5 times it). `check_decoded_size` measures
    the table once read."""
    first = sample.splitlines()[0] if sample else ""
    columns = 1 + max(first.count(d) for d in ",;\t")
    rows = 0
    if size > min(limits.rows, limits.decoded_bytes // (8 * columns)):
        newline = "\n".encode(encoding if encoding != "utf8" else "utf-8")
        newline = newline.removeprefix(codecs.BOM_UTF16_LE).removeprefix(codecs.BOM_UTF16_BE)
        newline = newline.removeprefix(codecs.BOM_UTF32_LE).removeprefix(codecs.BOM_UTF32_BE)
        rows = _count_lines(handle, newline)
    as_text = size * 3 // 2 if encoding.startswith("utf-16") else size
    check_table_shape(rows, columns, max(rows * columns * 8, as_text), limits, about="about ")


def check_decoded_size(table: pa.Table, limits: Limits) -> None:
    """The table as read, measured (its buffers: text cells count at their decoded length)."""
    check_table_shape(0, 0, table.get_total_buffer_size(), limits)
