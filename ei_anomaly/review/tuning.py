"""The threshold decision on a set of scores: what a value flags, and, on labelled windows, its
precision, recall and errors. One function for the Thresholds page and the report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..blocks import AnomalyBlock
from ..evaluation import BinaryCounts, binary_counts, count_flagged, errors_per_sample, threshold_exports
from .jsonable import JsonValue, jsonable, records
from .kinds import ScoreSource
from .score_sets import ScoreSet
from .threshold import ThresholdMeaning, threshold_meaning

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["ThresholdSection", "threshold_section"]


@dataclass(frozen=True)
class ThresholdSection:
    """A threshold on a score set: `flagged` of its scores above it; `counts` on labelled ones."""

    meaning: ThresholdMeaning  # the threshold, at the value the review is at
    scores: ScoreSet | None  # None: nothing to tune on
    flagged: int
    counts: BinaryCounts | None  # when the scores are labelled both ways

    @property
    def value(self) -> float:
        return self.meaning.value

    @property
    def from_upload(self) -> bool:
        """The scores are a scored file's (unlabelled): the report then draws its histogram here only."""
        return self.scores is not None and self.scores.source is ScoreSource.UPLOAD

    def histogram_figure(self, title: str = "Score distribution") -> go.Figure | None:
        from ..figures import fig_score_histogram

        if self.scores is None:
            return None
        return fig_score_histogram(self.scores.histogram, self.value, title=title, suggested=self.meaning.suggested)

    def confusion_figure(self) -> go.Figure | None:
        from ..figures import fig_confusion_matrix

        if self.counts is None:
            return None
        return fig_confusion_matrix(self.counts.matrix, ["normal", "anomaly"], f"Normal vs anomaly at {self.value:g}")

    def pr_figure(self) -> go.Figure | None:
        from ..figures import fig_pr_curve

        if self.counts is None or self.scores is None or self.scores.curve is None:
            return None
        return fig_pr_curve(self.scores.curve, (self.counts.precision, self.counts.recall))

    def figures(self) -> list[go.Figure]:
        """What the report draws: the histogram, then on labelled scores the matrix and the curve."""
        drawn = [self.histogram_figure(), self.confusion_figure(), self.pr_figure()]
        return [f for f in drawn if f is not None]

    def worst_samples(self) -> pd.DataFrame | None:
        """Studio's test samples with the most errors at this value (model-testing scores only)."""
        if self.scores is None or self.scores.windows is None:
            return None
        return errors_per_sample(self.scores.windows, self.value)

    def exports(self, learn_id: int | None) -> dict[str, str]:
        """The value as the set-thresholds body and as a Linux runner override."""
        return threshold_exports(learn_id, self.meaning.key, self.value)

    def to_dict(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {"threshold": self.meaning.to_dict()}
        if self.scores is None:
            return out | {"scores": None}
        out["scores"] = {
            "source": self.scores.source.value,
            "origin": self.scores.origin,
            "count": len(self.scores.scores),
            "flagged": self.flagged,
            "histogram": self.scores.histogram.to_dict(),
        }
        if self.counts is not None:
            c = self.counts
            out["labelled"] = {
                "true_positives": c.tp,
                "false_positives": c.fp,
                "false_negatives": c.fn,
                "true_negatives": c.tn,
                "precision": jsonable(c.precision),
                "recall": jsonable(c.recall),
            }
            if self.scores.curve is not None:
                out["precision_recall_curve"] = records(self.scores.curve)
        return out


def threshold_section(model: AnomalyBlock, scores: ScoreSet | None, value: float | None = None) -> ThresholdSection:
    """The block's anomaly threshold at `value` (default: its own) on `scores`."""
    meaning = threshold_meaning(model, value)
    if scores is None or not len(scores.scores):
        return ThresholdSection(meaning, scores if scores is not None and len(scores.scores) else None, 0, None)
    truth = scores.truth
    counts = binary_counts(scores.scores, truth, meaning.value) if scores.labelled and truth is not None else None
    flagged = counts.tp + counts.fp if counts is not None else count_flagged(np.asarray(scores.scores), meaning.value)
    return ThresholdSection(meaning, scores, flagged, counts)
