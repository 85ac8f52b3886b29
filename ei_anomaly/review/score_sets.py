"""The scores a threshold is tuned on: validation predictions, Studio's model testing, or a
scored file. Each is one `ScoreSet`, with what does not depend on the threshold computed once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..evaluation import pr_curve, predictions_frame
from ..metadata import AnomalyMetadata
from ..model_testing import TestWindows
from ..score_views import ScoreHistogram, score_bounds, score_histogram
from ..scored_file import ScoredFile
from .kinds import ScoreSource
from .metrics import shown_metrics

__all__ = ["ScoreSet", "model_testing_scores", "tuning_scores", "upload_scores", "validation_scores"]


@dataclass(frozen=True, eq=False)
class ScoreSet:
    """Scores to tune on; `truth` (labelled anomaly per score) is None for unlabelled scores.
    `origin` says in words where they come from (outside text inside it: escape when rendering)."""

    source: ScoreSource
    scores: npt.NDArray[np.floating]
    truth: npt.NDArray[np.bool_] | None
    origin: str
    histogram: ScoreHistogram
    bounds: tuple[float, float] | None
    windows: pd.DataFrame | None = None  # per test window, for the per-sample table

    @property
    def labelled(self) -> bool:
        """Both labelled anomalies and labelled normal windows: precision and recall exist."""
        return self.truth is not None and bool(self.truth.any()) and bool((~self.truth).any())

    @cached_property
    def curve(self) -> pd.DataFrame | None:
        """Precision and recall at every distinct threshold (None without both labels): the same at
        every threshold, so computed once per set."""
        return pr_curve(self.scores, self.truth) if self.labelled and self.truth is not None else None


def _score_set(
    source: ScoreSource,
    scores: npt.NDArray[np.floating],
    truth: npt.NDArray[np.bool_] | None,
    origin: str,
    windows: pd.DataFrame | None = None,
) -> ScoreSet:
    return ScoreSet(source, scores, truth, origin, score_histogram(scores), score_bounds(scores), windows)


def validation_scores(meta: AnomalyMetadata) -> ScoreSet | None:
    """The shown model type's validation windows that have a score, or None when none has predictions."""
    metrics = shown_metrics(meta, with_predictions=True)
    if metrics is None:
        return None
    frame = predictions_frame(metrics).dropna(subset=["anomaly score"])
    if frame.empty:
        return None
    origin = f"{len(frame):,} validation windows ({metrics.type})"
    return _score_set(
        ScoreSource.VALIDATION, frame["anomaly score"].to_numpy(), frame["labelled anomaly"].to_numpy(bool), origin
    )


def model_testing_scores(found: TestWindows) -> ScoreSet:
    origin = f"{len(found.frame):,} windows of {found.n_samples} test samples (Studio model testing)"
    return _score_set(ScoreSource.MODEL_TESTING, found.scores, found.truth, origin, found.frame)


def upload_scores(scored: ScoredFile, *, name: str | None = None) -> ScoreSet:
    """A scored file's scorable rows (no labels). Its histogram and bounds were computed with it."""
    scores = scored.finite_scores
    origin = f"{len(scores):,} scored rows of {name or scored.name} (no labels)"
    return ScoreSet(ScoreSource.UPLOAD, scores, None, origin, scored.histogram, scored.bounds)


def tuning_scores(meta: AnomalyMetadata, scored: ScoredFile | None) -> ScoreSet | None:
    """What a report tunes on: the validation windows, else the scored file (with scorable rows)."""
    found = validation_scores(meta)
    if found is not None:
        return found
    if scored is not None and scored.scores.scorable.any():
        return upload_scores(scored)
    return None
