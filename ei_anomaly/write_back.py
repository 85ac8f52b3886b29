"""Writing a tuned threshold back to Edge Impulse: checks shared by the CLI and the dashboard."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .blocks import AnomalyBlock
from .errors import AnomalyLensError
from .rules import FLOAT32_MAX, fits_float32

if TYPE_CHECKING:
    from .client import EdgeImpulseClient, ThresholdsSaved
    from .metadata import Threshold

__all__ = ["check_writable_value", "parse_threshold_value", "pick_threshold", "save_threshold"]


def parse_threshold_value(text: str) -> float:
    """A finite number from user text; AnomalyLensError otherwise."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise AnomalyLensError(f"the threshold value must be a number, got {str(text)[:40]!r}") from None
    if not math.isfinite(value):
        raise AnomalyLensError(f"the threshold value must be a finite number, got {str(text)[:40]!r}")
    return check_writable_value(value)


def check_writable_value(value: float) -> float:
    """`value`, if the block can hold it: Studio stores it and the device and this tool read it as
    float32, so a value float32 cannot hold would make the block unreadable until fixed in Studio."""
    if not math.isfinite(value) or not fits_float32(value):
        raise AnomalyLensError(
            f"the threshold value {value:g} is outside the float32 range thresholds are read in "
            f"(±{FLOAT32_MAX:.4g}); nothing was written"
        )
    return value


def pick_threshold(model: AnomalyBlock, key: str | None, learn_id: int | None = None) -> Threshold:
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
    """Find the impulse that holds the block and write one threshold there (a value float32 can hold)."""
    check_writable_value(value)
    impulse_id = client.find_impulse_for_block(project_id, learn_id)
    return client.set_thresholds(project_id, impulse_id, [(learn_id, key, value)], allow_regenerate)
