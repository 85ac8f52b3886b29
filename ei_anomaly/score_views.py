"""Small, faithful pictures of many scores, computed on the server so the browser gets few points.

A million scores cannot go to the browser on every slider step. What a person sees can be sent
instead, and each view here is computed once per scored file (none depends on the threshold):
- `score_histogram`: bin counts over the finite scores;
- `score_envelope`: per pixel column, the lowest and highest score (M4-style aggregation), so
  every spike and dip of the full series is still drawn;
- `flagged_points`: the windows above a threshold, with the total said; when there are many, one per
  marker-sized cell of the chart (the highest score there), so every place that has an anomaly still
  shows one, and at most `cap`, spread evenly over the file. This one takes the threshold and is
  cheap (a vector compare and a sort of the flagged rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .rules import SCORE_CAP

HISTOGRAM_BINS = 160  # a few KB to the browser, and fine bins around the threshold
ENVELOPE_COLUMNS = 1500  # about one per pixel column of a wide chart: 3,000 points at most
FLAGGED_CAP = 5000
# Marker-sized cells of the score-along-the-file chart (columns along the file x score bands): about
# 8 x 10 px in a chart about 800 x 260 px, for 5 px markers. More markers than cells draw nothing
# new, and every marker is an SVG element the browser styles again on each slider step.
FLAGGED_CELLS = (100, 26)


@dataclass(frozen=True)
class ScoreHistogram:
    """Bin edges (len n+1) and counts (len n) of the finite scores."""

    edges: npt.NDArray[np.float64]
    counts: npt.NDArray[np.intp]

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def to_dict(self) -> dict[str, list[float] | list[int]]:
        """As JSON holds it: the bin edges and the counts."""
        return {"edges": [float(e) for e in self.edges], "counts": [int(c) for c in self.counts]}


@dataclass(frozen=True)
class ScoreEnvelope:
    """Row positions and scores of each column's minimum and maximum, in file order; `reduced`
    is False when the series was short enough to keep every row."""

    rows: npt.NDArray[np.intp]
    scores: npt.NDArray[np.floating]
    reduced: bool = True


@dataclass(frozen=True)
class FlaggedPoints:
    """Some of the windows above the threshold (row positions, scores) and how many there are."""

    rows: npt.NDArray[np.intp]
    scores: npt.NDArray[np.floating]
    total: int
    per_cell: bool = False  # reduced to one per marker-sized cell (before any even spread)

    @property
    def capped(self) -> bool:
        return len(self.rows) < self.total


def score_bounds(scores: npt.ArrayLike) -> tuple[float, float] | None:
    """(lowest, 99.5th percentile) of the finite scores below the cap: the range people look at."""
    s = np.asarray(scores)
    finite = s[np.isfinite(s) & (s < SCORE_CAP)]
    if not len(finite):
        return None
    return float(finite.min()), float(np.percentile(finite, 99.5))


def score_histogram(scores: npt.ArrayLike, bins: int = HISTOGRAM_BINS) -> ScoreHistogram:
    """Counts of the finite scores in `bins` equal bins (fewer for a few scores). In float64: the
    span of float32 scores (up to 2 x 3.4e38) overflows float32."""
    s = np.asarray(scores, np.float64)
    s = s[np.isfinite(s)]
    if not len(s):
        return ScoreHistogram(np.zeros(0), np.zeros(0, np.int64))
    lo, hi = float(s.min()), float(s.max())
    n = min(bins, max(10, int(np.sqrt(len(s)))))
    counts, edges = np.histogram(s, bins=n, range=(lo, hi if hi > lo else lo + 1))
    return ScoreHistogram(edges, counts)


def score_envelope(scores: npt.ArrayLike, columns: int = ENVELOPE_COLUMNS) -> ScoreEnvelope:
    """Each column's lowest and highest score with its row, for `columns` equal runs of rows.

    Unscorable (NaN) rows are skipped; a column of only unscorable rows gives no point. With no
    more rows than 2 x columns, every scorable row is returned as it is.
    """
    s = np.asarray(scores, np.float32)
    n = len(s)
    if n <= 2 * columns:
        rows = np.flatnonzero(np.isfinite(s))
        return ScoreEnvelope(rows, s[rows], reduced=False)
    width = -(-n // columns)
    padded = np.full(width * -(-n // width), np.nan, np.float32)
    padded[:n] = s
    grid = padded.reshape(-1, width)
    missing = np.isnan(grid)
    lo = np.where(missing, np.inf, grid).argmin(axis=1)
    hi = np.where(missing, -np.inf, grid).argmax(axis=1)
    offsets = np.arange(len(grid)) * width
    has_any = ~missing.all(axis=1)
    pairs = np.stack([np.minimum(lo, hi), np.maximum(lo, hi)], axis=1)[has_any] + offsets[has_any, None]
    rows = np.unique(pairs.ravel())  # sorted; a column whose min and max are one row gives one point
    return ScoreEnvelope(rows, s[rows])


def flagged_points(
    scores: npt.ArrayLike,
    flags: npt.ArrayLike,
    cap: int = FLAGGED_CAP,
    cells: tuple[int, int] | None = None,
    score_range: tuple[float, float] | None = None,
) -> FlaggedPoints:
    """Rows where `flags` is set. With `cells` (columns along the file, bands of `score_range`)
    and more flagged rows than cells, one row per occupied cell: the highest-scoring one (the first
    on ties). Then, above `cap`, an even spread of them across the file."""
    s = np.asarray(scores)
    rows = np.flatnonzero(flags)
    total = len(rows)
    per_cell = False
    if cells is not None and score_range is not None and total > cells[0] * cells[1] // 4:
        rows = one_per_cell(rows, s[rows], len(s), cells, score_range)
        per_cell = len(rows) < total
    if len(rows) > cap:
        rows = rows[np.linspace(0, len(rows) - 1, cap).round().astype(np.int64)]
    return FlaggedPoints(rows, s[rows], total, per_cell)


def one_per_cell(
    rows: npt.NDArray[np.intp],
    values: npt.NDArray[np.floating],
    n_rows: int,
    cells: tuple[int, int],
    value_range: tuple[float, float],
) -> npt.NDArray[np.intp]:
    """Of points (row, value), the highest value in each occupied cell of a grid of `cells[0]`
    equal runs of rows x `cells[1]` equal bands of `value_range`, first row on ties; in row order."""
    lo, hi = value_range
    span = hi - lo if hi > lo else 1.0
    column = rows.astype(np.int64) * cells[0] // max(n_rows, 1)
    band = np.clip(((values.astype(np.float64) - lo) / span * cells[1]).astype(np.int64), 0, cells[1] - 1)
    cell = column * cells[1] + band
    order = np.lexsort((rows, -values.astype(np.float64), cell))  # by cell, highest first, then first row
    first = np.ones(len(order), bool)
    first[1:] = cell[order][1:] != cell[order][:-1]
    return np.sort(rows[order[first]])
