"""The model card: what a reviewer reads first, decided once for the pages, the report and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..blocks import AnomalyBlock, ScoreDefinition, Units
from ..evaluation import on_device_frame
from ..metadata import ValidationMetrics
from .demo_match import match_demo
from .jsonable import JsonValue, jsonable
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
    title: str  # "K-means anomaly block"
    kind: str  # "K-means", "GMM"
    fingerprint: str
    units: Units  # its clusters or components
    definition: ScoreDefinition  # how its score is formed and what it is exact to
    axis_labels: list[str]
    trained: datetime | None
    model_types: list[str]  # as the block lists them (else the validated ones)
    recommended_type: str | None  # as the block says; None when it says nothing
    validated: list[ModelTypeRow]
    shown: ValidationMetrics | None  # the model type a review shows: recommended, else the first
    default_mcu: McuCost | None  # the shown type's cost on the default MCU (None: not profiled there)
    threshold: ThresholdMeaning
    threshold_words: str  # what a window above the threshold is, in words
    illustrative: bool  # the on-device figures are the bundled demo's, derived, not measured
    target: str  # the target the scores are exact to ("cortex-m")
    target_label: str  # in words ("Cortex-M (single-precision FPU)")
    rows_note: str | None  # what happens to rows before scoring (an export's normalization), or a warning
    export: list[tuple[str, str]]  # what a deployment export held, (what, where); empty for other sources

    @property
    def accuracy(self) -> float | None:
        return self.shown.accuracy if self.shown is not None else None

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "title": self.title,
            "kind": self.kind,
            "fingerprint": self.fingerprint,
            self.units.noun + "s": self.units.count,
            "axes": self.axis_labels,
            "trained": jsonable(self.trained),
            "model_types": self.model_types,
            "recommended_type": self.recommended_type,
            "shown_type": self.shown.type if self.shown is not None else None,
            "accuracy": jsonable(self.accuracy),
            "validated": [jsonable(vars(row)) for row in self.validated],
            "default_mcu": jsonable(vars(self.default_mcu)) if self.default_mcu is not None else None,
            "score": {"formula": list(self.definition.formula), "meaning": self.definition.meaning},
            "exact_to": self.definition.exact_to,
            "target": self.target,
            "rows": self.rows_note,
            "export": {what: where for what, where in self.export} or None,
            "illustrative_on_device_figures": self.illustrative,
        }


def model_card(model: AnomalyBlock, threshold: float | None = None) -> ModelCard:
    """The card of `model` at `threshold` (default: the block's own anomaly threshold)."""
    meta = model.metadata
    recommended = meta.recommended_model_type
    shown = shown_metrics(meta)
    meaning = threshold_meaning(model, threshold)
    return ModelCard(
        title=model.title,
        kind=model.kind.label,
        fingerprint=model.fingerprint,
        units=model.units,
        definition=model.score_definition,
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
        threshold=meaning,
        threshold_words=model.threshold_words(meaning.value),
        illustrative=match_demo(model).illustrative,
        target=model.setup.target.value,
        target_label=model.setup.target.label,
        rows_note=model.rows_note,
        export=export_lines(model),
    )


def export_lines(model: AnomalyBlock) -> list[tuple[str, str]]:
    """What a deployment export held, line by line (nothing for a block from Studio or a file)."""
    origin = model.setup.origin
    if origin is None:
        return []
    lines = [
        ("export", origin.name),
        ("block", origin.layout + (f", block #{origin.block_id}" if origin.block_id is not None else "")),
    ]
    if origin.project:
        lines.append(("project", origin.project))
    lines.append(("threshold", origin.threshold_note))
    norm = model.setup.normalization
    if norm is not None:
        blocks = ", ".join(f"#{b}" for b in norm.dsp_blocks)
        lines.append(
            ("data normalization", f"DSP block {blocks}: (x - mean) x 1/std per feature, before every learn block")
        )
    elif origin.dsp_blocks:
        lines.append(("data normalization", "none (the export's DSP blocks are not normalized)"))
    return lines
