"""The model card: what a reviewer reads first, decided once for the pages, the report and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..evaluation import on_device_frame
from ..metadata import ValidationMetrics
from ..model import AnomalyModel
from .demo_match import match_demo
from .metrics import McuCost, default_mcu_cost, shown_metrics
from .threshold import ThresholdMeaning, threshold_meaning

__all__ = ["ModelCard", "ModelTypeRow", "model_card"]


@dataclass(frozen=True)
class ModelTypeRow:
    """One model type of the block (float32, int8, ...) as validated."""

    type: str
    recommended: bool
    accuracy: float | None
    loss: float | None
    windows: int


@dataclass(frozen=True)
class ModelCard:
    clusters: int
    axis_labels: list[str]
    trained: datetime | None
    model_types: list[str]  # as the block lists them (else the validated ones)
    recommended_type: str | None  # as the block says; None when it says nothing
    validated: list[ModelTypeRow]
    shown: ValidationMetrics | None  # the model type a review shows: recommended, else the first
    default_mcu: McuCost | None  # the shown type's cost on the default MCU (None: not profiled there)
    threshold: ThresholdMeaning
    illustrative: bool  # the on-device figures are the bundled demo's, derived, not measured

    @property
    def accuracy(self) -> float | None:
        return self.shown.accuracy if self.shown is not None else None


def model_card(model: AnomalyModel, threshold: float | None = None) -> ModelCard:
    """The card of `model` at `threshold` (default: the block's own anomaly threshold)."""
    meta = model.metadata
    recommended = meta.recommended_model_type
    shown = shown_metrics(meta)
    return ModelCard(
        clusters=model.n_clusters,
        axis_labels=model.axis_labels,
        trained=meta.created,
        model_types=list(meta.available_model_types or [m.type for m in meta.model_validation_metrics]),
        recommended_type=recommended,
        validated=[
            ModelTypeRow(m.type, m.type == recommended, m.accuracy, m.loss, len(m.predictions))
            for m in meta.model_validation_metrics
        ],
        shown=shown,
        default_mcu=default_mcu_cost(meta, on_device_frame(meta), shown.type) if shown is not None else None,
        threshold=threshold_meaning(model, threshold),
        illustrative=match_demo(model).illustrative,
    )
