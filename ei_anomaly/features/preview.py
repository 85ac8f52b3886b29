"""A few rows of a feature table as pandas, for pages to show, and the column to plot scores along."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .table import FeatureTable

if TYPE_CHECKING:  # pandas is imported by pyarrow's to_pandas, when a page asks for rows
    import pandas as pd

__all__ = ["preview", "rows_frame", "time_column"]


def time_column(table: FeatureTable) -> str | None:
    """A text column that names a time (timestamp, time, date), for plotting scores along the file."""
    for name in table.columns:
        if name not in table.numeric_columns and any(w in name.lower() for w in ("time", "date")):
            return name
    return None


def preview(table: FeatureTable, rows: int = 5) -> pd.DataFrame:
    """The first `rows` rows as pandas."""
    frame: pd.DataFrame = table.table.slice(0, rows).to_pandas()
    return frame


def rows_frame(table: FeatureTable, indices: np.ndarray) -> pd.DataFrame:
    """Some rows as pandas, without converting the whole table."""
    frame: pd.DataFrame = table.table.take(pa.array(np.asarray(indices, np.int64))).to_pandas()
    return frame
