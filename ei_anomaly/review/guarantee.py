"""A threshold you can defend: the false-alarm guarantee from normal windows, one section for the
Thresholds page, the report, the JSON and `ei-anomaly threshold`.

From the normal windows' scores, counted in a unit that is independent (every window, every k-th,
one per sample or device-hour), and a target false-alarm rate at a confidence: the threshold the
order-statistic bound allows (`ei_anomaly.bounds.guaranteed_threshold`), how many windows that
takes, and for the review's own threshold how many of them score above it and the Clopper-Pearson
upper bound of its false-alarm rate. Every sentence the page, the report and the command print is
made here, from the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..bounds import (
    DEFAULT_CONFIDENCE,
    DEFAULT_FPR,
    FalseAlarmBound,
    GuaranteedThreshold,
    Unit,
    clopper_pearson_upper,
    false_alarm_bound,
    guaranteed_threshold,
    ordinal,
)
from .jsonable import JsonValue, jsonable
from .normal import NormalWindows

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["GuaranteeSection", "guarantee_section", "percent", "threshold_text"]

CURVE_POINTS = 400  # thresholds on the bound's chart, at most


def percent(rate: float) -> str:
    """A rate as people read it, to 3 significant digits: 1%, 0.5%, 0.904%, 95%, 97.5%."""
    return f"{rate * 100:.3g}%"


def threshold_text(value: float) -> str:
    """A float32 threshold as the shortest decimal that is the same float32 (what the slider gets,
    the page, the report and the CLI print): 0.073185354, never a rounding that names another float32."""
    f = np.float32(value)
    if f != 0 and not 1e-4 <= abs(f) < 1e7:
        return np.format_float_scientific(f, unique=True, trim="-")
    return np.format_float_positional(f, unique=True, trim="-")


@dataclass(frozen=True, eq=False)
class GuaranteeSection:
    """The guarantee from one set of normal windows in one unit, and the review threshold's bound."""

    origin: str  # where the normal windows come from, in words (outside text inside)
    source: str  # NormalSource value
    unit: Unit
    windows: int  # scorable normal windows given
    scores: npt.NDArray[np.float32]  # the scores the guarantee counts (one per unit)
    found: GuaranteedThreshold
    current: FalseAlarmBound  # at the review's threshold

    @property
    def n(self) -> int:
        return self.found.n

    @property
    def fpr(self) -> float:
        return self.found.fpr

    @property
    def confidence(self) -> float:
        return self.found.confidence

    @property
    def unit_text(self) -> str:
        return self.unit.describe()

    @property
    def counted(self) -> str:
        """How many units, in words: "650 normal windows" or "36 normal device-hours"."""
        return f"{self.n:,} normal {self.unit.plural}"

    @property
    def threshold_value(self) -> str | None:
        """The guaranteed threshold as the slider and the command show it."""
        return threshold_text(self.found.threshold) if self.found.threshold is not None else None

    @property
    def too_few(self) -> str | None:
        """Why no threshold qualifies, with how many are needed (None when one does)."""
        if self.found.qualifies:
            return None
        return (
            f"needs at least {self.found.needed:,} normal {self.unit.plural} for a false-alarm rate of "
            f"{percent(self.fpr)} at {percent(self.confidence)} confidence; these have {self.n:,}"
        )

    @property
    def headline(self) -> str:
        """The sentence someone will be held to (or why there is none)."""
        f = self.found
        if f.threshold is None or f.rank is None or f.upper_bound is None:
            return f"No threshold qualifies: {self.too_few}."
        return (
            f"Threshold {self.threshold_value}: the {ordinal(f.rank)} largest of {self.counted} "
            f"({self.unit_text}). For windows like these, its false-alarm rate is at most {percent(self.fpr)} "
            f"with {percent(self.confidence)} confidence."
        )

    @property
    def detail(self) -> str:
        """m, the chance the rule fails, and the bound the threshold reaches."""
        f = self.found
        if f.m is None or f.exceed_probability is None or f.upper_bound is None or f.above is None:
            return f"No threshold qualifies: {self.too_few}."
        return (
            f"m = {f.m:,}: P(Binomial({self.n:,}, {self.fpr:g}) <= {f.m:,}) = {percent(f.exceed_probability)} "
            f"<= {percent(1 - self.confidence)}; {f.above:,} of {self.n:,} above it, so its false-alarm rate is "
            f"at most {percent(f.upper_bound)} with {percent(self.confidence)} confidence (Clopper-Pearson)."
        )

    @property
    def current_text(self) -> str:
        """At the review's threshold: "at 0.3: 0 of 330 normal windows above; false-alarm rate <= 0.90% ..."."""
        c = self.current
        return (
            f"At {c.threshold:g}: {c.above:,} of {self.counted} above; false-alarm rate <= {percent(c.upper)} "
            f"with {percent(c.confidence)} confidence."
        )

    def figure(self) -> go.Figure:
        """The false-alarm rate's upper bound (and the observed share) against the threshold."""
        from ..figures import fig_false_alarm_bound

        thresholds, observed, upper = self.bound_curve()
        return fig_false_alarm_bound(
            thresholds, observed, upper, self.fpr, self.confidence, self.found.threshold, self.current.threshold
        )

    def bound_curve(
        self,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Thresholds at the normal scores of the upper tail (where the observed share is up to a few
        times the target), ascending, and at each the observed share above it and its upper bound."""
        s = np.sort(self.scores)[::-1]
        n = len(s)
        if n == 0:
            empty = np.zeros(0)
            return empty, empty, empty
        # at the i-th largest distinct score, the scores strictly above it are the ones before it
        values, first = np.unique(-s, return_index=True)
        thresholds = -values.astype(np.float64)
        above = first.astype(np.int64)
        keep = above <= max(10, int(5 * self.fpr * n) + 10)
        thresholds, above = thresholds[keep], above[keep]
        if len(thresholds) > CURVE_POINTS:
            pick = np.unique(np.linspace(0, len(thresholds) - 1, CURVE_POINTS).round().astype(np.int64))
            thresholds, above = thresholds[pick], above[pick]
        upper = np.array([clopper_pearson_upper(int(k), n, self.confidence) for k in above])
        if self.current.threshold > thresholds[0]:  # above the highest score nothing changes: draw it on
            thresholds = np.r_[self.current.threshold, thresholds]
            above, upper = np.r_[0, above], np.r_[upper[0], upper]
        # ascending: the count at a score holds from it up to the next score (a step drawn "hv")
        return thresholds[::-1], above[::-1] / n, upper[::-1]

    def to_dict(self) -> dict[str, JsonValue]:
        f, c = self.found, self.current
        return {
            "source": self.source,
            "origin": self.origin,
            "unit": self.unit_text,
            "normal_windows": self.windows,
            "n": self.n,
            "fpr": jsonable(self.fpr),
            "confidence": jsonable(self.confidence),
            "needed": f.needed,
            "m": f.m,
            "threshold": jsonable(f.threshold),
            "threshold_text": self.threshold_value,
            "rank": f.rank,
            "above": f.above,
            "exceed_probability": jsonable(f.exceed_probability),
            "upper_bound": jsonable(f.upper_bound),
            "at_threshold": {
                "threshold": jsonable(c.threshold),
                "above": c.above,
                "n": c.n,
                "upper_bound": jsonable(c.upper),
                "confidence": jsonable(c.confidence),
            },
        }


def guarantee_section(
    normal: NormalWindows,
    threshold: float,
    *,
    unit: Unit | None = None,
    fpr: float = DEFAULT_FPR,
    confidence: float = DEFAULT_CONFIDENCE,
) -> GuaranteeSection:
    """The guarantee from `normal` counted in `unit` (default: every window), and the bound of
    `threshold` on the same scores."""
    chosen = unit or Unit()
    scores = normal.unit_scores(chosen)
    scores.setflags(write=False)
    return GuaranteeSection(
        origin=normal.origin,
        source=normal.source.value,
        unit=chosen,
        windows=normal.windows,
        scores=scores,
        found=guaranteed_threshold(scores, fpr, confidence),
        current=false_alarm_bound(scores, threshold, confidence),
    )
