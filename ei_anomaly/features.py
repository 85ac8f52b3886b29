"""Reading feature files (CSV, Parquet) and mapping their columns onto a block's axes.

Nothing is dropped: every row and column the file had is kept. A row whose mapped features
are empty or not numbers is *unscorable*: it stays in the table with an empty score.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import FeatureFileError
from .model import AnomalyModel, Scores

_BOM = b"\xef\xbb\xbf"
_SNIFF_BYTES = 64 * 1024
RESULT_COLUMNS = ("anomaly_score", "nearest_cluster", "is_anomaly")
# Arrow turns ISO dates into timestamps by default; a format no cell can match keeps every
# text column as the user wrote it, so outputs repeat the input unchanged.
_KEEP_TEXT = ["\x01"]
_NUMERIC_SAMPLE = 2000


@dataclass(frozen=True)
class FeatureTable:
    """A feature file as read: all its columns, and which of them hold numbers."""

    frame: pd.DataFrame
    numeric_columns: list[str]
    source_name: str = "features"


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


def _header_names(first_line: str, delimiter: str) -> list[str]:
    raw = next(csv.reader([first_line], delimiter=delimiter))
    names: list[str] = []
    for i, name in enumerate(raw):
        name = name.strip() or f"column {i + 1}"
        base, n = name, 1
        while name in names:
            name, n = f"{base}.{n}", n + 1
        names.append(name)
    return names


def _read_csv(data: bytes) -> pd.DataFrame:
    body = data[len(_BOM) :] if data.startswith(_BOM) else data
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FeatureFileError(
            f"features: the file is not UTF-8 text (bad byte at position {exc.start}); save it as UTF-8 CSV"
        ) from None
    sample = body[:_SNIFF_BYTES].decode("utf-8", errors="ignore")
    delimiter, has_header, decimal = _sniff(sample)
    first_line = sample.splitlines()[0]
    if has_header:
        names = _header_names(first_line, delimiter)
    else:
        names = [f"column {i + 1}" for i in range(len(next(csv.reader([first_line], delimiter=delimiter))))]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1 if has_header else 0),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                decimal_point=decimal, strings_can_be_null=True, timestamp_parsers=_KEEP_TEXT
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        detail = str(exc).split("\n")[0][:200]
        raise FeatureFileError(f"features: cannot parse the CSV ({detail})") from None
    return table.to_pandas()


def _read_parquet(data: bytes) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise FeatureFileError(f"features: cannot read the Parquet file ({str(exc)[:200]})") from None
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Columns whose non-empty cells are mostly numbers (a few bad cells keep a column numeric)."""
    out = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col):
            continue
        if pd.api.types.is_numeric_dtype(col) or col.isna().all():
            out.append(name)
            continue
        if pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col):
            present = col.dropna().head(_NUMERIC_SAMPLE * 4)
            present = present[present.astype(str).str.strip() != ""].head(_NUMERIC_SAMPLE)
            parsed = pd.to_numeric(present, errors="coerce")
            if len(present) and parsed.notna().sum() * 2 > len(present):
                out.append(name)
    return out


def read_feature_file(source: bytes | str | Path, name: str | None = None) -> FeatureTable:
    """Read a CSV or Parquet feature file from bytes or a path."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            source = path.read_bytes()
        except OSError as exc:
            raise FeatureFileError(f"features: cannot read {path.name}: {exc.strerror}") from None
    data = bytes(source)
    if not data.strip():
        raise FeatureFileError("features: the file is empty")
    frame = _read_parquet(data) if data[:4] == b"PAR1" else _read_csv(data)
    if frame.empty:
        raise FeatureFileError("features: the file has a header but no rows")
    return FeatureTable(frame=frame, numeric_columns=_numeric_columns(frame), source_name=name or "features")


def map_columns(table: FeatureTable, model: AnomalyModel, override: dict[int, str] | None = None) -> ColumnMapping:
    """Decide which column feeds each axis; `override` maps axis position -> column name."""
    axes = model.axes
    if override:
        missing = [c for c in override.values() if c not in table.frame.columns]
        if missing:
            raise FeatureFileError(f"features: the file has no column named {missing[0]!r}")
        auto = _auto_mapping(table, model, strict=True)
        columns = [override.get(j, auto[j] if auto else None) for j in range(len(axes))]
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
    if all(label in table.frame.columns for label in labels):
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


def axis_matrix(table: FeatureTable, mapping: ColumnMapping) -> np.ndarray:
    """The mapped columns as float32, NaN where a cell is empty or not a number."""
    out = np.empty((len(table.frame), len(mapping.columns)), np.float32)
    for j, name in enumerate(mapping.columns):
        col = table.frame[name]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            col = pd.to_numeric(col.astype("string").str.strip(), errors="coerce")
        out[:, j] = col.to_numpy(dtype=np.float32, na_value=np.nan)
    return out


def score_table(table: FeatureTable, model: AnomalyModel, mapping: ColumnMapping) -> Scores:
    return model.score_axes(axis_matrix(table, mapping))


def _free_name(frame: pd.DataFrame, name: str) -> str:
    out, n = name, 1
    while out in frame.columns:
        out, n = f"{name}_{n}", n + 1
    return out


def scored_frame(table: FeatureTable, scores: Scores, threshold: float) -> pd.DataFrame:
    """Every input row and column plus score, nearest cluster and flag (empty if unscorable)."""
    frame = table.frame.copy(deep=False)
    ok = scores.scorable
    values = {
        "anomaly_score": pd.array(np.where(ok, scores.score, np.nan), dtype="Float32"),
        "nearest_cluster": pd.array(np.where(ok, scores.nearest_cluster, 0), dtype="Int32"),
        "is_anomaly": pd.array(scores.is_anomaly(threshold), dtype="boolean"),
    }
    values["nearest_cluster"][~ok] = pd.NA
    values["is_anomaly"][~ok] = pd.NA
    for name in RESULT_COLUMNS:
        frame[_free_name(frame, name)] = values[name]
    return frame
