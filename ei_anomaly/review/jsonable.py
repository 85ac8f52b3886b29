"""Values a review section holds, as JSON: what `Review.to_dict()` and `report --format json` write.

Numbers stay numbers (numpy scalars as Python ones; NaN and infinities as null, which JSON cannot
hold otherwise), tables become lists of records, dates ISO 8601 text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["JsonValue", "jsonable", "records"]

JsonValue = Any  # None | bool | int | float | str | list[JsonValue] | dict[str, JsonValue]


def jsonable(value: object) -> JsonValue:
    """`value` with every part JSON can hold as it is."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, pd.DataFrame):
        return records(value)
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [jsonable(v) for v in value]
    if pd.isna(value):  # type: ignore[call-overload]  # pandas' NA and NaT
        return None
    return str(value)


def records(frame: pd.DataFrame) -> list[dict[str, JsonValue]]:
    """A table as one object per row, its column names as keys."""
    columns = [str(c) for c in frame.columns]
    return [
        {c: jsonable(v) for c, v in zip(columns, row, strict=True)} for row in frame.itertuples(index=False, name=None)
    ]
