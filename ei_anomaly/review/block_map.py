"""The block's map: its clusters or components on two axes, with a scored file's rows on it.

What the map draws is the block's (`AnomalyBlock.map_figure`); this decides which axes it opens on
and which rows of a scored file it shows (every anomaly first, then a seeded sample of the rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..blocks import AnomalyBlock, MapOverlay
from ..evaluation import downsample_keep_flagged
from ..figures.style import ANOMALY, NORMAL
from ..scored_file import ScoredFile
from .jsonable import JsonValue, records

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["REPORT_MAP_POINTS", "MapSection", "ScoredPoints", "default_map_axes", "map_section", "scored_points"]

REPORT_MAP_POINTS = 4_000  # rows of a scored file on the report's map


def default_map_axes(model: AnomalyBlock) -> tuple[int, int]:
    """The two axes the map opens on: the first two (the same one twice for a one-axis block)."""
    return 0, min(1, len(model.axes) - 1)


@dataclass(frozen=True)
class ScoredPoints:
    """A scored file's rows in the map's units (columns in axis order), at most `max_points` in all:
    every anomaly first, then a seeded sample of the rest."""

    normal: npt.NDArray[np.floating]
    anomalies: npt.NDArray[np.floating]
    sampled: bool  # fewer rows than the file has scorable ones

    def overlays(self, ax1: int, ax2: int, names: tuple[str, str]) -> list[MapOverlay]:
        """The two groups of points on axes `ax1`, `ax2`, named (normal, anomalies)."""
        return [
            (names[0], self.normal[:, ax1], self.normal[:, ax2], NORMAL),
            (names[1], self.anomalies[:, ax1], self.anomalies[:, ax2], ANOMALY),
        ]


def scored_points(model: AnomalyBlock, scored: ScoredFile, threshold: float, max_points: int) -> ScoredPoints:
    flags = scored.scores.is_anomaly(threshold)
    keep = downsample_keep_flagged(flags, max_points)
    keep = keep[scored.scores.scorable[keep]]
    on_map = model.to_map(scored.axis_values[keep])
    sampled = len(keep) < int(np.count_nonzero(scored.scores.scorable))
    return ScoredPoints(on_map[~flags[keep]], on_map[flags[keep]], sampled)


@dataclass(frozen=True)
class MapSection:
    """The map on two axis positions, with the points drawn over it (in the map's units)."""

    block: AnomalyBlock
    axes: tuple[int, int]
    overlays: tuple[MapOverlay, ...]
    original_units: bool = False
    points_sampled: bool = False  # the file's rows on it are every anomaly and a sample of the rest

    def figure(self) -> go.Figure:
        return self.block.map_figure(*self.axes, self.overlays, self.original_units)

    def to_dict(self) -> dict[str, JsonValue]:
        labels = self.block.axis_labels
        return {
            "axes": [labels[self.axes[0]], labels[self.axes[1]]],
            self.block.units.noun + "s": records(self.block.unit_table()),
        }


def map_section(
    model: AnomalyBlock,
    scored: ScoredFile | None = None,
    threshold: float | None = None,
    *,
    axes: tuple[int, int] | None = None,
    extra: tuple[MapOverlay, ...] = (),
    max_points: int = REPORT_MAP_POINTS,
    original_units: bool = False,
    names: tuple[str, str] = ("file: normal", "file: anomaly"),
) -> MapSection:
    """The map on `axes` (default: the first two) with `extra` points (e.g. the trained windows)
    and, given a scored file, its rows at `threshold` (default: the block's own)."""
    ax1, ax2 = axes if axes is not None else default_map_axes(model)
    overlays = list(extra)
    sampled = False
    if scored is not None:
        chosen = model.default_threshold if threshold is None else threshold
        points = scored_points(model, scored, chosen, max_points)
        overlays += points.overlays(ax1, ax2, names)
        sampled = points.sampled
    return MapSection(model, (ax1, ax2), tuple(overlays), original_units, sampled)
