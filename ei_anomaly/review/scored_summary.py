"""What scoring a file found: the one line every command says about it, and the Scoring view
(its counts, where its anomalies are along the file, its top rows) for the page and the report."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..blocks import AnomalyBlock
from ..blocks.parts import DeviceMargin
from ..score_views import FlaggedPoints
from ..scored_file import ScoredFile
from .jsonable import JsonValue, jsonable, records
from .normal import NormalWindows
from .wording import counts_line

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["EITHER_WAY", "P_VALUE", "ScoredSummary", "ScoringSection", "scoring_section", "summarize_scored"]

P_VALUE = "p-value"  # the top rows' column: how unusual each is among normal windows
EITHER_WAY = "could go either way on the device"


@dataclass(frozen=True)
class ScoredSummary:
    """A scored file at one threshold."""

    name: str
    rows: int
    anomalies: int
    unscorable: int
    threshold: float
    mapping: str  # how the columns were mapped, in words (`ColumnMapping.how`)

    @property
    def rate(self) -> float:
        """Anomalies per scorable row."""
        return self.anomalies / max(1, self.rows - self.unscorable)

    @property
    def line(self) -> str:
        return counts_line(self.rows, self.anomalies, self.unscorable, self.threshold, self.mapping)


def summarize_scored(scored: ScoredFile, threshold: float, anomalies: int | None = None) -> ScoredSummary:
    """`anomalies`: the count at `threshold`, when the caller has it already (a slider step)."""
    return ScoredSummary(
        name=scored.name,
        rows=scored.n_rows,
        anomalies=scored.scores.count_anomalies(threshold) if anomalies is None else anomalies,
        unscorable=scored.scores.unscorable_count,
        threshold=float(threshold),
        mapping=scored.mapping.how,
    )


@dataclass(frozen=True)
class ScoringSection:
    """A scored file at one threshold: its summary, the anomalies to mark along the file, its top rows."""

    scored: ScoredFile
    summary: ScoredSummary
    flagged: FlaggedPoints
    nearest_column: str  # what the block calls `nearest_cluster` ("nearest cluster", "most likely component")
    reference: NormalWindows | None = None  # normal windows the rows' p-values are relative to
    margin: DeviceMargin | None = None  # devices the target does not model exactly, and how far they score
    either_way: int = 0  # windows within that margin of the threshold: they could go either way there

    @property
    def either_way_text(self) -> str:
        """The windows that could go either way on a device the target does not model exactly, in words."""
        if self.margin is None:
            return ""
        return (
            f"{self.either_way:,} window{'s' if self.either_way != 1 else ''} score within "
            f"{self.margin.relative:.2g} (relative) of the threshold: they could go either way on "
            f"{self.margin.devices}"
        )

    @property
    def threshold(self) -> float:
        return self.summary.threshold

    @cached_property
    def top(self) -> pd.DataFrame:
        """The highest-scoring rows that are anomalies at this threshold, every column the page read
        (with a reference, each row's p-value; with a device margin, whether each could go either way
        on such a device)."""
        top = self.scored.top_anomalies(self.threshold).rename(columns={"nearest cluster": self.nearest_column})
        if self.reference is not None:
            top.insert(2, P_VALUE, self.reference.p_values(top["anomaly score"].to_numpy(np.float32)))
        if self.margin is not None:
            at = list(top.columns).index(self.nearest_column) + 1
            top.insert(at, EITHER_WAY, self.margin.close_to(top["anomaly score"].to_numpy(), self.threshold))
        return top

    @property
    def _file_columns_shown(self) -> list[str]:
        """The time column (if any) and the columns the block reads."""
        time_name = self.scored.time_column
        return list(dict.fromkeys([*([time_name] if time_name else []), *self.scored.mapping.columns]))

    @property
    def top_shown(self) -> pd.DataFrame:
        """The top rows with the columns a reader needs: row, score, nearest, the time column, the axes."""
        p_value = [P_VALUE] if self.reference is not None else []
        either = [EITHER_WAY] if self.margin is not None else []
        return self.top[["row", "anomaly score", *p_value, self.nearest_column, *either, *self._file_columns_shown]]

    @property
    def hidden_columns(self) -> int:
        """Columns of the file `top_shown` leaves out."""
        return len(self.scored.table.all_columns) - len(self._file_columns_shown)

    def histogram_figure(self, title: str = "Score distribution") -> go.Figure:
        from ..figures import fig_score_histogram

        return fig_score_histogram(self.scored.histogram, self.threshold, title=title)

    def timeline_figure(self) -> go.Figure:
        """The score along the file: its min/max envelope and its flagged windows, against the time
        column when it has one, else the row."""
        from ..figures import fig_score_timeline

        scored, flagged, envelope = self.scored, self.flagged, self.scored.envelope
        return fig_score_timeline(
            (scored.x_values(envelope.rows), envelope.scores),
            (scored.x_values(flagged.rows), flagged.scores),
            flagged.total,
            self.threshold,
            scored.time_column or "row",
        )

    @property
    def timeline_note(self) -> str:
        """What the score along the file leaves out, in words ("" when it draws every row and anomaly)."""
        notes = []
        if self.scored.envelope.reduced:
            notes.append(
                f"all {self.scored.n_rows:,} rows are drawn as the lowest and highest score of each pixel column"
            )
        flagged = self.flagged
        if flagged.per_cell:
            notes.append(
                f"{len(flagged.rows):,} of the {flagged.total:,} anomalies are marked: the highest in each "
                "marker-sized patch of the chart, so every patch that holds an anomaly shows one"
            )
        elif flagged.capped:
            notes.append(f"{len(flagged.rows):,} of the {flagged.total:,} anomalies are marked, spread evenly")
        return "; ".join(notes)

    def to_dict(self) -> dict[str, JsonValue]:
        s = self.summary
        return {
            "file": s.name,
            "rows": s.rows,
            "anomalies": s.anomalies,
            "unscorable": s.unscorable,
            "anomaly_rate": jsonable(s.rate),
            "threshold": jsonable(s.threshold),
            "mapping": s.mapping,
            "histogram": {
                "edges": jsonable(self.scored.histogram.edges),
                "counts": jsonable(self.scored.histogram.counts),
            },
            "top_anomalies": records(self.top_shown),
            "p_values_from": self.reference.origin if self.reference is not None else None,
            "could_go_either_way": (
                {"windows": self.either_way, **self.margin.to_dict()} if self.margin is not None else None
            ),
        }


def scoring_section(
    model: AnomalyBlock, scored: ScoredFile, threshold: float, *, reference: NormalWindows | None = None
) -> ScoringSection:
    """`scored` (scored by `model`) at `threshold`: everything but the flags was computed with the
    scores. With `reference` (normal windows), the top rows carry their p-values."""
    flagged = scored.flagged(threshold)
    margin = model.device_margin
    either_way = int(np.count_nonzero(margin.close_to(scored.scores.score, threshold))) if margin is not None else 0
    summary = summarize_scored(scored, threshold, flagged.total)
    return ScoringSection(
        scored, summary, flagged, model.nearest_column, reference=reference, margin=margin, either_way=either_way
    )
