"""`ScoredFile`: one feature file scored by one model, and everything drawn from it that does not
depend on the threshold, each computed once (on first use) and then reused by every page.

A slider move then costs one vector compare (`flags`) plus a few thousand points for the charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from .features import ColumnMapping, FeatureTable, axis_matrix, rows_frame, time_column
from .rules import is_anomaly
from .score_views import (
    FLAGGED_CAP,
    FLAGGED_CELLS,
    FlaggedPoints,
    ScoreEnvelope,
    ScoreHistogram,
    flagged_points,
    score_bounds,
    score_envelope,
    score_histogram,
)
from .scores import Scorer, Scores

TOP_ROWS = 20


@dataclass(frozen=True, eq=False)
class ScoredFile:
    """A feature table, the mapping used, the model's fingerprint and the scores."""

    name: str
    identity: str  # what the file is (upload id and size, or a path): equal identity, equal bytes
    table: FeatureTable
    mapping: ColumnMapping
    model_fingerprint: str
    axis_values: npt.NDArray[np.float32]  # (rows, axes), the mapped columns; the Clusters page plots them
    scores: Scores

    @classmethod
    def score(cls, table: FeatureTable, model: Scorer, mapping: ColumnMapping, name: str, identity: str) -> ScoredFile:
        values = axis_matrix(table, mapping)
        return cls(name, identity, table, mapping, model.fingerprint, values, model.score_axes(values))

    def matches(self, identity: str, model: Scorer, mapping: ColumnMapping | None = None) -> bool:
        same = self.identity == identity and self.model_fingerprint == model.fingerprint
        return same and (mapping is None or list(mapping.columns) == list(self.mapping.columns))

    @property
    def n_rows(self) -> int:
        return self.table.n_rows

    @cached_property
    def histogram(self) -> ScoreHistogram:
        return score_histogram(self.scores.score)

    @cached_property
    def envelope(self) -> ScoreEnvelope:
        return score_envelope(self.scores.score)

    @cached_property
    def bounds(self) -> tuple[float, float] | None:
        return score_bounds(self.scores.score)

    @cached_property
    def finite_scores(self) -> npt.NDArray[np.float32]:
        return self.scores.score[self.scores.scorable]

    @cached_property
    def time_column(self) -> str | None:
        return time_column(self.table)

    @cached_property
    def _times(self) -> pa.Array | None:
        """The time column as one array: `take` from hundreds of parsed blocks is slow."""
        return self.table.table.column(self.time_column).combine_chunks() if self.time_column else None

    def x_values(self, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.intp] | npt.NDArray[np.object_]:
        """What to put on a chart's x axis for these rows: the time column's cells, else the row."""
        if self._times is None:
            return rows
        return np.asarray(self._times.take(pa.array(np.asarray(rows, np.int64))).to_pylist(), dtype=object)

    def flagged(self, threshold: float, cap: int = FLAGGED_CAP) -> FlaggedPoints:
        """The anomalies at this threshold: their count, and the ones to draw: one per marker-sized
        cell of the score-along-the-file chart, at most `cap`."""
        return flagged_points(
            self.scores.score, self.scores.is_anomaly(threshold), cap, FLAGGED_CELLS, self._score_range
        )

    @cached_property
    def _score_range(self) -> tuple[float, float] | None:
        """Lowest and highest scorable score: the envelope keeps both, and the chart's y axis spans them."""
        drawn = self.envelope.scores
        return (float(drawn.min()), float(drawn.max())) if len(drawn) else None

    @cached_property
    def top_rows(self) -> pd.DataFrame:
        """The highest-scoring rows with every column: row, score, nearest cluster first."""
        top = self.scores.top_indices(TOP_ROWS)
        frame = rows_frame(self.table, top)
        frame.insert(0, "row", top)
        frame.insert(1, "anomaly score", self.scores.score[top])
        frame.insert(2, "nearest cluster", self.scores.nearest_cluster[top])
        return frame

    def top_anomalies(self, threshold: float) -> pd.DataFrame:
        """The top rows that are anomalies at this threshold (a filter, no new sort)."""
        top = self.top_rows
        return top[is_anomaly(top["anomaly score"].to_numpy(), threshold)]
