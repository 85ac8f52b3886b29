"""Tables made ready for CSV: nested values as JSON text, bytes as text or hex, and (for exports
opened in spreadsheets) text cells that a spreadsheet would run as a formula defused."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["csv_ready", "csv_ready_column", "spreadsheet_safe", "spreadsheet_safe_name"]

# Cells a spreadsheet would run as a formula (OWASP CSV injection): = + - @ tab, carriage return.
_FORMULA_START = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"


def _json_default(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)  # dates, times, decimals


def csv_ready_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
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


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind))


def _defused(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Plain text cells (string or large_string) with formula-like ones prefixed by `'`."""
    risky = pc.and_(
        pc.match_substring_regex(values, _FORMULA_START), pc.invert(pc.match_substring_regex(values, _PLAIN_NUMBER))
    )
    quote = pa.scalar("'", values.type)
    return pc.if_else(risky, pc.binary_join_element_wise(quote, values, pa.scalar("", values.type)), values)


def _safe_chunk(chunk: pa.Array) -> pa.Array:
    kind = chunk.type
    if pa.types.is_dictionary(kind) and _is_text(kind.value_type):
        # the dictionary's values are the text; the indices stay as they are
        return pa.DictionaryArray.from_arrays(chunk.indices, _safe_chunk(chunk.dictionary))
    if pa.types.is_string_view(kind):  # Arrow's compute functions read it as string
        return _defused(chunk.cast(pa.large_string()))
    if _is_text(kind):
        return _defused(chunk)
    return chunk


def spreadsheet_safe(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """OWASP CSV-injection defence for exports opened in spreadsheets: a text cell starting with
    = + - @ (or tab, CR) gets a leading `'`. Every text encoding Arrow uses counts (string,
    large_string, string_view, and dictionary-encoded text, as Parquet files hold them). Numbers,
    and text that is a plain number, stay."""
    kind = column.type
    if not (_is_text(kind) or (pa.types.is_dictionary(kind) and _is_text(kind.value_type))):
        return column
    chunks = [_safe_chunk(c) for c in column.chunks]
    if not chunks:
        return column
    return pa.chunked_array(chunks, chunks[0].type)


def spreadsheet_safe_name(name: str) -> str:
    """A column name as a spreadsheet-safe header cell: the same rule as a text cell."""
    return str(_defused(pa.array([name], pa.string()))[0].as_py())


def csv_ready(table: pa.Table, spreadsheet: bool = False) -> pa.Table:
    """The table as CSV writes it: nested values as JSON text; `spreadsheet=True` also defuses
    formula-like text cells and header cells."""
    columns = [csv_ready_column(c) for c in table.columns]
    names = table.column_names
    if spreadsheet:
        columns = [spreadsheet_safe(c) for c in columns]
        names = [spreadsheet_safe_name(n) for n in names]
    if any(c.type != f.type for c, f in zip(columns, table.schema, strict=True)) or spreadsheet:
        table = pa.Table.from_arrays(columns, names=names)
    return table
