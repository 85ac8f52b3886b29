"""How the block did on its validation set, per model type: confusion matrix, metrics, predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import pandas as pd

from ..blocks import AnomalyBlock
from ..evaluation import confusion_labels, predictions_frame
from ..metadata import ValidationMetrics
from .jsonable import JsonValue, jsonable, records

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["ValidationSection", "validation_section", "validation_sections"]


@dataclass(frozen=True)
class ValidationSection:
    """One model type's validation: what Studio measured, and its windows' scores per label."""

    metrics: ValidationMetrics
    score_meaning: str  # what the block's score is (the scores-per-label chart's axis)
    labels: list[str] = field(default_factory=list)  # the confusion matrix's classes, in its order

    @property
    def type(self) -> str:
        return self.metrics.type

    @cached_property
    def predictions(self) -> pd.DataFrame:
        """One row per validation window, with its score and whether its label is anomalous."""
        return predictions_frame(self.metrics)

    @cached_property
    def report(self) -> pd.DataFrame:
        """The classification report: one row per class and average."""
        return pd.DataFrame({k: v for k, v in self.metrics.report.items() if isinstance(v, dict)}).T

    @property
    def has_scores(self) -> bool:
        return bool(self.predictions["anomaly score"].notna().any()) if len(self.predictions) else False

    def confusion_figure(self) -> go.Figure | None:
        from ..figures import fig_confusion_matrix

        if not self.metrics.confusion_matrix:
            return None
        return fig_confusion_matrix(self.metrics.confusion_matrix, self.labels, f"Confusion matrix ({self.type})")

    def scores_figure(self, threshold: float | None) -> go.Figure | None:
        """Each label's scores against the threshold; None when no window has a score."""
        from ..figures import fig_scores_by_label

        if not self.has_scores:
            return None
        return fig_scores_by_label(self.predictions.dropna(subset=["anomaly score"]), threshold)

    def to_dict(self) -> dict[str, JsonValue]:
        m = self.metrics
        return {
            "type": m.type,
            "accuracy": jsonable(m.accuracy),
            "loss": jsonable(m.loss),
            "labels": self.labels,
            "confusion_matrix": jsonable(m.confusion_matrix),
            "additional_metrics": [{"name": a.name, "value": a.value} for a in m.additional_metrics],
            "report": records(self.report.reset_index(names="class")) if len(self.report) else [],
            "windows": len(m.predictions),
        }


def validation_section(model: AnomalyBlock, model_type: str) -> ValidationSection:
    """The validation of `model_type` (one of the block's); KeyError when the block has none of it."""
    for metrics in model.metadata.model_validation_metrics:
        if metrics.type == model_type:
            labels = confusion_labels(metrics) if metrics.confusion_matrix else []
            return ValidationSection(metrics, model.score_definition.meaning, labels)
    raise KeyError(model_type)


def validation_sections(model: AnomalyBlock) -> list[ValidationSection]:
    """One section per model type, in the block's order."""
    return [validation_section(model, m.type) for m in model.metadata.model_validation_metrics]
