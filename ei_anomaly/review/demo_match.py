"""Is this the bundled demo block? Decided from the metadata itself, the same in every path."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..blocks import AnomalyBlock
from ..demo import load_demo_gmm_model, load_demo_model

__all__ = ["DemoMatch", "match_demo", "with_demo_names"]


@dataclass(frozen=True)
class DemoMatch:
    """What a model shares with the bundled demo.

    - `same_block`: it scores as the demo block does (same axes, scaler and clusters), so the
      demo's axis names apply to it. Its other fields (thresholds, descriptions) stay its own.
    - `identical`: its metadata is the demo's, field for field.
    - `illustrative`: its on-device figures are the demo's, which are derived, not measured.
    """

    same_block: bool
    identical: bool
    illustrative: bool


@lru_cache(maxsize=1)
def _demo_blocks() -> tuple[AnomalyBlock, ...]:
    return load_demo_model(), load_demo_gmm_model()


def _same_demo_block(model: AnomalyBlock) -> AnomalyBlock | None:
    """The demo block that scores as `model` does, if any."""
    return next((demo for demo in _demo_blocks() if demo.fingerprint == model.fingerprint), None)


def match_demo(model: AnomalyBlock) -> DemoMatch:
    demo = _same_demo_block(model)
    if demo is None:
        return DemoMatch(False, False, False)
    if model.metadata is demo.metadata:
        return DemoMatch(True, True, True)
    on_device = [m.on_device_performance for m in model.metadata.model_validation_metrics]
    demo_on_device = [m.on_device_performance for m in demo.metadata.model_validation_metrics]
    illustrative = any(on_device) and on_device == demo_on_device
    return DemoMatch(True, model.metadata == demo.metadata, illustrative)


def with_demo_names(model: AnomalyBlock) -> AnomalyBlock:
    """The block with the demo's axis names when it is a demo block and has no names of its own."""
    demo = None if model.feature_names else _same_demo_block(model)
    return model if demo is None else model.with_feature_names(demo.feature_names)
