"""Which model type a review shows, and what it costs on the project's default MCU."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..evaluation import ENGINES, on_device_frame
from ..metadata import AnomalyMetadata, ValidationMetrics
from ..rules import choose_model_type

__all__ = ["McuCost", "default_mcu_cost", "device_model_type", "shown_metrics"]

DEFAULT_MCU_ENGINE = ENGINES["eon"]  # the engine a model card quotes: what Studio deploys by default


def shown_metrics(meta: AnomalyMetadata, *, with_predictions: bool = False) -> ValidationMetrics | None:
    """The validation metrics of the model type a review shows (recommended, else the first);
    with `with_predictions`, among the types that carry per-window predictions."""
    metrics = [m for m in meta.model_validation_metrics if m.predictions or not with_predictions]
    chosen = choose_model_type((m.type for m in metrics), meta.recommended_model_type)
    return next((m for m in metrics if m.type == chosen), None)


def device_model_type(devices: pd.DataFrame, meta: AnomalyMetadata) -> str | None:
    """The model type the On-device view opens on: recommended, else the first profiled one."""
    return choose_model_type(dict.fromkeys(devices["model type"]), meta.recommended_model_type)


@dataclass(frozen=True)
class McuCost:
    """A model type on the project's default MCU, with the default engine."""

    device: str
    model_type: str
    engine: str
    latency_ms: float | None  # None: not profiled
    ram_kb: float | None
    flash_kb: float | None
    error: str  # Studio's profiling error, "" when it profiled


def _number(value: float | None) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def default_mcu_cost(
    meta: AnomalyMetadata, devices: pd.DataFrame | None = None, model_type: str | None = None
) -> McuCost | None:
    """What `model_type` (default: the shown one, `shown_metrics`) costs on the default MCU with
    the default engine; None when that type was not profiled there (never another type's cost)."""
    if model_type is None:
        shown = shown_metrics(meta)
        if shown is None:
            return None
        model_type = shown.type
    devices = on_device_frame(meta) if devices is None else devices
    if devices.empty:
        return None
    rows = devices[
        devices["default"] & (devices["model type"] == model_type) & (devices["engine"] == DEFAULT_MCU_ENGINE)
    ]
    if rows.empty:
        return None
    row = rows.iloc[0]
    return McuCost(
        device=str(row["device"]),
        model_type=str(row["model type"]),
        engine=DEFAULT_MCU_ENGINE,
        latency_ms=_number(row["latency (ms)"]),
        ram_kb=_number(row["RAM (KB)"]),
        flash_kb=_number(row["ROM (KB)"]),
        error=str(row["profiling error"]),
    )
