"""What the block costs on each MCU, for one model type: latency, RAM and flash per inference engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ..blocks import AnomalyBlock
from ..evaluation import fits_budget, on_device_frame
from .demo_match import match_demo
from .jsonable import JsonValue, records
from .metrics import device_model_type

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["OnDeviceSection", "on_device_section"]


@dataclass(frozen=True)
class OnDeviceSection:
    model_type: str
    types: list[str]  # every model type the block was profiled as
    frame: pd.DataFrame  # `evaluation.on_device_frame` rows of `model_type`
    illustrative: bool  # the bundled demo's figures: derived, not measured

    @property
    def errors(self) -> list[tuple[str, str]]:
        """(device, Studio's profiling error) per device that could not be profiled."""
        rows = self.frame.drop_duplicates("device")
        return [(str(d), str(e)) for d, e in zip(rows["device"], rows["profiling error"], strict=True) if e]

    def latency_figure(self) -> go.Figure:
        from ..figures import fig_latency

        return fig_latency(self.frame)

    def ram_figure(self) -> go.Figure:
        from ..figures import RAM, fig_on_device

        return fig_on_device(self.frame, RAM)

    def flash_figure(self) -> go.Figure:
        from ..figures import FLASH, fig_on_device

        return fig_on_device(self.frame, FLASH)

    def budget_table(self, ram_kb: float, flash_kb: float) -> pd.DataFrame:
        """Every MCU x engine with whether it fits `ram_kb` of RAM and `flash_kb` of flash."""
        return self.frame.assign(fits=fits_budget(self.frame, ram_kb, flash_kb)).drop(
            columns=["model type", "mcu", "default"]
        )

    def to_dict(self) -> dict[str, JsonValue]:
        shown = self.frame.drop(columns=["model type"]).rename(columns={"ROM (KB)": "flash (KB)"})
        return {"model_type": self.model_type, "illustrative": self.illustrative, "rows": records(shown)}


def on_device_section(model: AnomalyBlock, model_type: str | None = None) -> OnDeviceSection | None:
    """The cost of `model_type` (default: the recommended, else the first profiled); None when the
    block carries no on-device figures."""
    frame = on_device_frame(model.metadata)
    if frame.empty:
        return None
    types = list(dict.fromkeys(frame["model type"]))
    chosen = model_type if model_type in types else device_model_type(frame, model.metadata)
    assert chosen is not None  # a non-empty frame has a type
    view = frame[frame["model type"] == chosen].reset_index(drop=True)
    return OnDeviceSection(chosen, types, view, match_demo(model).illustrative)
