"""Is this the bundled demo block? Decided from the metadata itself, the same in every path."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

from ..demo import load_demo_gmm_model, load_demo_model
from ..model import AnomalyModel, BlockKind

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
def _demo() -> AnomalyModel:
    return load_demo_model()


@lru_cache(maxsize=1)
def _demo_gmm() -> AnomalyModel:
    return load_demo_gmm_model()


def match_demo(model: AnomalyModel) -> DemoMatch:
    demo = _demo() if model.kind is BlockKind.KMEANS else _demo_gmm()
    if model.metadata is demo.metadata:
        return DemoMatch(True, True, True)
    same_block = model.fingerprint == demo.fingerprint
    on_device = [m.on_device_performance for m in model.metadata.model_validation_metrics]
    demo_on_device = [m.on_device_performance for m in demo.metadata.model_validation_metrics]
    illustrative = same_block and any(on_device) and on_device == demo_on_device
    return DemoMatch(same_block, same_block and model.metadata == demo.metadata, illustrative)


def with_demo_names(model: AnomalyModel) -> AnomalyModel:
    """The model with the demo's axis names when it is the demo block and has no names of its own."""
    if model.feature_names or not match_demo(model).same_block:
        return model
    if model.kind is BlockKind.GMM:
        return dataclasses.replace(model, feature_names=dict(_demo_gmm().feature_names))
    return AnomalyModel(model.metadata, _demo().feature_names)
