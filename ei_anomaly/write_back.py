"""Writing a tuned threshold back to Edge Impulse: checks shared by the CLI and the dashboard."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .errors import AnomalyLensError
from .model import AnomalyModel

if TYPE_CHECKING:
    from .client import EdgeImpulseClient, ThresholdsSaved
    from .metadata import Threshold

__all__ = ["parse_threshold_value", "pick_threshold", "save_threshold"]


def parse_threshold_value(text: str) -> float:
    """A finite number from user text; AnomalyLensError otherwise."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise AnomalyLensError(f"the threshold value must be a number, got {str(text)[:40]!r}") from None
    if not math.isfinite(value):
        raise AnomalyLensError(f"the threshold value must be a finite number, got {str(text)[:40]!r}")
    return value


def pick_threshold(model: AnomalyModel, key: str | None, learn_id: int | None = None) -> Threshold:
    """The block's threshold named `key`, or its anomaly threshold when `key` is None."""
    block = f"block {learn_id}" if learn_id is not None else "the block"
    keys = [t.key for t in model.metadata.thresholds]
    if not keys:
        raise AnomalyLensError(f"{block} has no configurable thresholds; retrain it in Studio to get them")
    if key is None:
        found = model.anomaly_threshold
        if found is None:
            raise AnomalyLensError(f"{block} has no numeric anomaly threshold; pass --key (one of: {', '.join(keys)})")
        return found
    for t in model.metadata.thresholds:
        if t.key == key:
            return t
    raise AnomalyLensError(f"{block} has no threshold {key[:60]!r}; its thresholds: {', '.join(keys)}")


def save_threshold(
    client: EdgeImpulseClient, project_id: int, learn_id: int, key: str, value: float, allow_regenerate: bool
) -> ThresholdsSaved:
    """Find the impulse that holds the block and write one threshold there."""
    impulse_id = client.find_impulse_for_block(project_id, learn_id)
    return client.set_thresholds(project_id, impulse_id, [(learn_id, key, value)], allow_regenerate)
