"""Is the firmware the block we reviewed? Two blocks held number against number.

Typically A is a deployment export (what is flashed) and B the block in Studio (its block
directory, or the API). They are the same block when they are of the same kind, on the same axes,
with float32-identical defining numbers (K-means: scaler, centres, maxError), the same scores on a
set of probe rows (around both blocks' clusters or components, scored by each block itself, on one
target: what is compared is the block, not the arithmetic), and the same threshold when both carry
one. Every difference is listed with its size: the relative difference of the two numbers and how
many float32 steps (ULPs) lie between them. What cannot be compared is said (an export that carries
no threshold; data normalization constants Studio's API does not give).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..blocks import AnomalyBlock
from ..blocks.parts import FeatureSpace, Target
from .jsonable import JsonValue, jsonable

__all__ = [
    "MAX_LISTED",
    "PROBE_ROWS",
    "Difference",
    "ParitySection",
    "block_parity",
    "float32_ulps",
    "relative_difference",
]

PROBE_ROWS = 2000  # rows each block's scores are compared on (half around each block)
MAX_LISTED = 200  # differences listed one by one; every difference is counted


def float32_ulps(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """How many float32 values lie between a and b (0: the same bits; -0 and +0 are 0 apart)."""

    def ordered(x: npt.ArrayLike) -> npt.NDArray[np.int64]:
        bits = np.ascontiguousarray(x, np.float32).view(np.int32).astype(np.int64)
        return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)

    steps: npt.NDArray[np.int64] = np.abs(ordered(a) - ordered(b))
    return steps


def relative_difference(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """|a - b| / max(|a|, |b|) (0 where both are 0)."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.maximum(np.abs(x), np.abs(y))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel: npt.NDArray[np.float64] = np.where(scale > 0, np.abs(x - y) / scale, 0.0)
    return rel


@dataclass(frozen=True)
class Difference:
    """One number (or property) that differs: where, both values, and by how much."""

    what: str
    a: float | str
    b: float | str
    relative: float | None = None
    ulps: int | None = None

    def line(self, name_a: str, name_b: str) -> str:
        size = ""
        if self.relative is not None and self.ulps is not None:
            size = f" (relative difference {self.relative:.3g}, {self.ulps:,} float32 ULPs)"
        return f"{self.what}: {name_a} {_shown(self.a)}, {name_b} {_shown(self.b)}{size}"

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "what": self.what,
            "a": jsonable(self.a),
            "b": jsonable(self.b),
            "relative_difference": jsonable(self.relative),
            "ulps": self.ulps,
        }


def _shown(v: float | str) -> str:
    return f"{v:.9g}" if isinstance(v, float) else v


@dataclass(frozen=True)
class PartResult:
    """One compared part: what, how many numbers, how many differ, the largest sizes."""

    part: str
    count: int
    differing: int
    max_relative: float = 0.0
    max_ulps: int = 0
    numeric: bool = True  # numbers, whose differences have a size (not the kind or the axes)

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "part": self.part,
            "values": self.count,
            "differing": self.differing,
            "max_relative_difference": jsonable(self.max_relative) if self.numeric else None,
            "max_ulps": self.max_ulps if self.numeric else None,
        }


@dataclass(frozen=True)
class ParitySection:
    """Whether block A is block B, and every difference (the first `MAX_LISTED` one by one)."""

    name_a: str
    name_b: str
    parts: list[PartResult]
    differences: list[Difference]
    differing: int  # every differing number or property, listed or not
    notes: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return self.differing == 0

    @property
    def verdict(self) -> str:
        if self.same:
            return f"same: {self.name_a} is {self.name_b}, number for number"
        what = "number or property differs" if self.differing == 1 else "numbers or properties differ"
        return f"differs: {self.differing:,} {what} between {self.name_a} and {self.name_b}"

    def lines(self) -> list[str]:
        """The parity in words, as `parity` prints it."""
        out = [self.verdict]
        for p in self.parts:
            size = f"; largest {p.max_relative:.3g} relative, {p.max_ulps:,} ULPs" if p.differing and p.numeric else ""
            out.append(f"  {p.part}: {p.differing:,} of {p.count:,} differ{size}")
        out += [f"  - {d.line(self.name_a, self.name_b)}" for d in self.differences]
        if self.differing > len(self.differences):
            out.append(f"  ... and {self.differing - len(self.differences):,} more differences")
        out += [f"  note: {n}" for n in self.notes]
        return out

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "a": self.name_a,
            "b": self.name_b,
            "same": self.same,
            "differing": self.differing,
            "parts": [p.to_dict() for p in self.parts],
            "differences": [d.to_dict() for d in self.differences],
            "notes": list(self.notes),
        }


class _Collector:
    def __init__(self) -> None:
        self.parts: list[PartResult] = []
        self.listed: list[Difference] = []
        self.count = 0

    def add(self, difference: Difference) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED:
            self.listed.append(difference)

    def property(self, part: str, a: str, b: str) -> bool:
        same = a == b
        self.parts.append(PartResult(part, 1, 0 if same else 1, numeric=False))
        if not same:
            self.add(Difference(part, a, b))
        return same

    def numbers(self, part: str, a: npt.ArrayLike, b: npt.ArrayLike, label: str) -> None:
        x, y = np.asarray(a, np.float32), np.asarray(b, np.float32)
        if x.shape != y.shape:
            self.parts.append(PartResult(part, max(x.size, y.size), 1))
            self.add(Difference(f"{part} shape", str(list(x.shape)), str(list(y.shape))))
            return
        same = (x.view(np.int32) == y.view(np.int32)) | (np.isnan(x) & np.isnan(y))
        rel, ulps = relative_difference(x, y), float32_ulps(x, y)
        bad = np.argwhere(~same)
        self.parts.append(
            PartResult(
                part,
                int(x.size),
                len(bad),
                float(np.nanmax(rel[~same])) if len(bad) else 0.0,
                int(ulps[~same].max()) if len(bad) else 0,
            )
        )
        for index in bad:
            i = tuple(int(v) for v in index)
            where = "" if x.shape == (1,) and label == part else "".join(f"[{v}]" for v in i)
            self.add(Difference(f"{label}{where}", float(x[i]), float(y[i]), float(rel[i]), int(ulps[i])))


def _threshold(block: AnomalyBlock) -> float | None:
    t = block.anomaly_threshold
    return t.numeric_value if t is not None else None


def block_parity(a: AnomalyBlock, b: AnomalyBlock, name_a: str, name_b: str, probes: int = PROBE_ROWS) -> ParitySection:
    """The parity of two blocks: every difference with its size (see the module's docstring)."""
    found = _Collector()
    notes: list[str] = []
    same_kind = found.property("kind", a.kind.label, b.kind.label)
    same_axes = found.property("axes", str(list(a.axes)), str(list(b.axes)))
    if same_kind and same_axes:
        arrays_a, arrays_b = a.parity_arrays(), b.parity_arrays()
        for name in sorted(set(arrays_a) | set(arrays_b)):
            if name in arrays_a and name in arrays_b:
                found.numbers(name, arrays_a[name], arrays_b[name], name)
        # Each block scores the probe rows itself (in its own units), both on one target.
        rows = np.concatenate([a.probe_rows(probes // 2), b.probe_rows(probes - probes // 2)])
        score_a = _own(a).score_axes(rows).score
        score_b = _own(b).score_axes(rows).score
        found.numbers(f"scores on {len(rows):,} probe rows", score_a, score_b, "score on probe row ")
    ta, tb = _threshold(a), _threshold(b)
    if ta is not None and tb is not None:
        found.numbers("threshold", [ta], [tb], "threshold")
    else:
        for block, name, value, other in ((a, name_a, ta, tb), (b, name_b, tb, ta)):
            if value is None and other is not None:
                origin = block.setup.origin
                why = origin.threshold_note if origin is not None else "it has none"
                notes.append(
                    f"threshold not compared: {name} carries none ({why}); {_other(name_a, name_b, name)} has {other:g}"
                )
    notes += _normalization_notes(a, b, name_a, name_b, found)
    return ParitySection(name_a, name_b, found.parts, found.listed, found.count, notes)


def _other(name_a: str, name_b: str, name: str) -> str:
    return name_b if name == name_a else name_a


def _own(block: AnomalyBlock) -> AnomalyBlock:
    """The block scoring rows in its own units (no normalization first), on the Linux target."""
    if block.setup.normalization is None:
        return block.with_setup(target=Target.LINUX)
    return block.with_setup(target=Target.LINUX, features_are=FeatureSpace.NORMALIZED)


def _normalization_notes(a: AnomalyBlock, b: AnomalyBlock, name_a: str, name_b: str, found: _Collector) -> list[str]:
    """Data normalization on each side: both exports' constants are compared; one side's constants
    alone cannot be (Studio's API does not give them); Studio normalizing while the export does not
    is a difference."""
    na, nb = a.setup.normalization, b.setup.normalization
    if na is not None and nb is not None:
        found.numbers("data normalization mean", na.mean, nb.mean, "normalization mean")
        found.numbers("data normalization 1/std", na.inverse_scale, nb.inverse_scale, "normalization 1/std")
        return []
    notes = []
    for block, name, other, other_name in ((a, name_a, b, name_b), (b, name_b, a, name_a)):
        norm = block.setup.normalization
        if norm is not None:
            blocks = ", ".join(f"#{i}" for i in norm.dsp_blocks)
            notes.append(
                f"{name} normalizes the output of DSP block {blocks} with constants {other_name} does not carry "
                "(Studio's API does not give them): they are not compared"
            )
        elif block.setup.studio_normalizes and other.setup.origin is not None and other.setup.normalization is None:
            blocks = ", ".join(f"#{i}" for i in block.setup.studio_normalizes)
            studio, export = f"Studio normalizes DSP block {blocks}", "none in the export"
            found.add(Difference("data normalization", *((studio, export) if block is a else (export, studio))))
    return notes
