"""A block's anomaly threshold and what a value of it means."""

from __future__ import annotations

from dataclasses import dataclass

from ..blocks import AnomalyBlock
from ..metadata import Threshold
from ..rules import ANOMALY_THRESHOLD_KEY
from .jsonable import JsonValue, jsonable

__all__ = ["ThresholdMeaning", "threshold_meaning"]


@dataclass(frozen=True)
class ThresholdMeaning:
    """One threshold of a block: its key, the block's value, Studio's suggestion, and the value
    a review is at (`value`: a slider's, a command's `--threshold`, else the block's)."""

    key: str
    value: float
    block_value: float  # the block's own numeric value, or Studio's default when it has none
    block_text: str  # the block's value as the metadata says it ("0.3", or a non-numeric text)
    block_is_number: bool  # the block's value is a number (else `block_value` is Studio's default)
    configured: bool  # the block carries this threshold (else the key and value are defaults)
    suggested: float | None
    suggested_text: str | None
    description: str
    help_text: str

    @property
    def changed(self) -> bool:
        """The value differs from the block's own (a block value that is no number always does)."""
        return not self.block_is_number or self.value != self.block_value

    @property
    def reset_value(self) -> float:
        """Where a reset goes: the suggested value, else the block's."""
        return self.suggested if self.suggested is not None else self.block_value

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "key": self.key,
            "value": jsonable(self.value),
            "block_value": self.block_text if not self.block_is_number else jsonable(self.block_value),
            "configured": self.configured,
            "suggested": jsonable(self.suggested),
            "changed": self.changed,
        }


def threshold_meaning(
    model: AnomalyBlock, value: float | None = None, threshold: Threshold | None = None
) -> ThresholdMeaning:
    """`threshold` (default: the block's anomaly threshold) at `value` (default: its own value)."""
    if threshold is None:
        threshold = model.anomaly_threshold
    if threshold is None:
        block_value = model.default_threshold
        return ThresholdMeaning(
            key=ANOMALY_THRESHOLD_KEY,
            value=block_value if value is None else float(value),
            block_value=block_value,
            block_text=f"{block_value:g}",
            block_is_number=True,
            configured=False,
            suggested=None,
            suggested_text=None,
            description="",
            help_text="",
        )
    numeric = threshold.numeric_value
    block_value = numeric if numeric is not None else model.default_threshold
    suggested = threshold.suggested_value if isinstance(threshold.suggested_value, float) else None
    return ThresholdMeaning(
        key=threshold.key,
        value=block_value if value is None else float(value),
        block_value=block_value,
        block_text=str(threshold.value),
        block_is_number=numeric is not None,
        configured=True,
        suggested=suggested,
        suggested_text=threshold.suggested_value_text or (f"{suggested:g}" if suggested is not None else None),
        description=threshold.description or "",
        help_text=threshold.help_text or "",
    )
