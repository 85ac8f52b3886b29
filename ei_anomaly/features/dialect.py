"""What kind of text a CSV file is: its encoding (byte-order marks, UTF-8 or not), its delimiter,
decimal point and header, and column names made unique."""

from __future__ import annotations

import codecs
import csv
from typing import NamedTuple

import pyarrow as pa

from ..errors import FeatureFileError

__all__ = [
    "BOMS",
    "SNIFF_BYTES",
    "CsvDialect",
    "csv_rows",
    "file_head",
    "is_number",
    "sniff",
    "text_encoding",
    "unique_names",
]

SNIFF_BYTES = 64 * 1024  # the start of a file read to tell its kind and dialect
_SNIFF_MAX_BYTES = 64 * 1024 * 1024  # a sample grows to whole lines, up to this (very wide files)
_SNIFF_LINES = 3
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class CsvDialect(NamedTuple):
    """How a CSV file is written (unpacks as `delimiter, has_header, decimal`)."""

    delimiter: str
    has_header: bool
    decimal: str  # "." or ","


def is_number(text: str) -> bool:
    """True if Python's `float` reads the text (so "nan" and "1e5" are numbers)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_rows(lines: list[str], delimiter: str) -> list[list[str]]:
    """The cells of a few lines of CSV text."""
    try:
        return list(csv.reader(lines, delimiter=delimiter))
    except csv.Error as exc:  # e.g. a cell over 128 KiB: not a feature file
        raise FeatureFileError(f"cannot parse the CSV ({exc}); is this a file of features?") from None


def sniff(sample: str) -> CsvDialect:
    """Guess the delimiter, whether there is a header, and the decimal point from the start of a CSV file."""
    lines = sample.splitlines()[:20]
    if not lines:
        raise FeatureFileError("the file is empty")
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = csv_rows(lines, delimiter)
    decimal = "."
    if delimiter == ";":
        cells = [c for r in rows for c in r]
        if any("," in c and is_number(c.replace(",", ".")) for c in cells):
            decimal = ","

    def numeric(row: list[str]) -> int:
        return sum(is_number(c.replace(decimal, ".")) for c in row if c.strip())

    first = rows[0]
    has_header = numeric(first) == 0 or (len(rows) > 1 and numeric(first) < max(numeric(r) for r in rows[1:]))
    return CsvDialect(delimiter, has_header or _numbered_header(rows), decimal)


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


def unique_names(names: list[str]) -> list[str]:
    """Column names as the tables carry them: blanks become `column N`, repeats `name.1`, `name.2`."""
    out: list[str] = []
    for i, name in enumerate(names):
        name = str(name).strip() or f"column {i + 1}"
        base, n = name, 1
        while name in out:
            name, n = f"{base}.{n}", n + 1
        out.append(name)
    return out


def file_head(handle: pa.NativeFile) -> bytes:
    """The file's start: 64 KiB, grown until it holds a few whole lines (a 9,216-feature row is
    over 64 KiB), up to 64 MiB. The handle is left at the start."""
    head: bytes = handle.read(SNIFF_BYTES)
    step = SNIFF_BYTES
    while head.count(b"\n") < _SNIFF_LINES and len(head) < _SNIFF_MAX_BYTES:
        more = handle.read(step)
        if not more:
            break
        head, step = head + more, step * 2
    handle.seek(0)
    return head


def text_encoding(head: bytes) -> tuple[str, str | None]:
    """(codec, note): UTF-8 unless a byte-order mark says UTF-16/32; a file that is not UTF-8
    is read as Windows-1252 (Excel's "CSV" on Windows), and the note says so."""
    for bom, codec in BOMS:
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
