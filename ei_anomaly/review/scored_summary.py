"""What scoring a file found, and the one line every command says about it."""

from __future__ import annotations

from dataclasses import dataclass

from ..scored_file import ScoredFile
from .wording import counts_line

__all__ = ["ScoredSummary", "summarize_scored"]


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
