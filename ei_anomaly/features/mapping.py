"""Which file column feeds each of the model's axes (`ColumnMapping`, `map_columns`), and the mapped
columns as the matrix the scoring kernel takes (`axis_matrix`, `score_table`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import FeatureFileError
from .table import FeatureTable, as_float

if TYPE_CHECKING:  # type names only: reading a file must not wait for the scoring kernel's imports
    from ..scores import Scorer, Scores

__all__ = ["ColumnMapping", "axis_matrix", "map_columns", "score_table"]


@dataclass(frozen=True)
class ColumnMapping:
    """The file column that feeds each of the block's axes, in axis order."""

    columns: list[str]
    how: str


def map_columns(table: FeatureTable, model: Scorer, override: dict[int, str] | None = None) -> ColumnMapping:
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


def _how(table: FeatureTable, model: Scorer) -> str:
    if _by_name(table, model):
        return "matched by axis name"
    if len(table.numeric_columns) == len(model.axes):
        return "numeric columns are the axes, in order"
    return "numeric columns are the full feature vector"


def _by_name(table: FeatureTable, model: Scorer) -> list[str] | None:
    labels = [model.feature_names.get(ix) for ix in model.axes]
    if all(label in table.columns for label in labels):
        return [str(label) for label in labels]
    return None


def _auto_mapping(table: FeatureTable, model: Scorer, strict: bool) -> list[str] | None:
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


def axis_matrix(table: FeatureTable, mapping: ColumnMapping) -> np.ndarray:
    """The mapped columns as float32, NaN where a cell is empty or not a number."""
    out = np.empty((table.n_rows, len(mapping.columns)), np.float32)
    for j, name in enumerate(mapping.columns):
        out[:, j] = as_float(table.table.column(name))
    return out


def score_table(table: FeatureTable, model: Scorer, mapping: ColumnMapping) -> Scores:
    """Score every row with the SDK-exact kernels; a row with an empty or non-number mapped cell is unscorable."""
    return model.score_axes(axis_matrix(table, mapping))
