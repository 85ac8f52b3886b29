"""Send what a chart shows: of many markers in one marker-sized cell, the browser draws one.

Deterministic (no sampling): the first point of each occupied cell, in the given order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Marker-sized cells of a full-width map (about 1300 x 460 px of plot: 6.5 x 5.75 px cells, 5 px markers).
MAP_CELLS = (200, 80)


def one_per_cell(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    cells: tuple[int, int],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
) -> npt.NDArray[np.intp]:
    """Positions of the first point in each occupied cell of a `cells[0]` x `cells[1]` grid over
    the ranges, in their original order; points that are not finite are dropped."""
    xs, ys = np.asarray(x, np.float64), np.asarray(y, np.float64)
    finite = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))

    def index(v: npt.NDArray[np.float64], lo: float, hi: float, n: int) -> npt.NDArray[np.int64]:
        span = hi - lo if hi > lo else 1.0
        return np.clip(((v - lo) / span * n).astype(np.int64), 0, n - 1)

    cell = index(xs[finite], *x_range, cells[0]) * cells[1] + index(ys[finite], *y_range, cells[1])
    _, first = np.unique(cell, return_index=True)
    kept: npt.NDArray[np.intp] = finite[np.sort(first)]
    return kept


def extent(*arrays: npt.ArrayLike) -> tuple[float, float]:
    """Lowest and highest finite value of all the arrays ((0, 1) when there is none)."""
    values = np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays]) if arrays else np.zeros(0)
    values = values[np.isfinite(values)]
    return (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
