"""What scores of normal windows say about a threshold, without assuming their distribution.

For windows exchangeable with `n` normal ones (the same kind of operation, one score per
independent unit), and a target false-alarm rate `a` at confidence `1 - d`:

- `guaranteed_threshold`: the order-statistic bound split-conformal methods use. With `m` the
  largest integer such that `P(Binomial(n, a) <= m) <= d`, the threshold is the `(m+1)`-th largest
  score. Its true false-alarm rate (the share of normal windows scoring strictly above it, in
  float32 as the device compares) exceeds `a` only when at most `m` of the `n` scores lie above
  the `(1 - a)` quantile, which happens with probability `P(Binomial(n, a) <= m) <= d`. No `m`
  exists when `(1 - a)^n > d`, that is when `n < ln(d) / ln(1 - a)` (`windows_needed`).
- `false_alarm_bound`: the other direction, for a given threshold: `k` of the `n` scores are above
  it; the one-sided Clopper-Pearson upper bound of its false-alarm rate at the confidence. The two
  agree: the guaranteed threshold is the lowest score whose bound is at most `a`.
- `p_values`: per window, `(1 + #{normal scores >= s}) / (n + 1)`.
- `Unit`, `unit_scores`: overlapping windows of one recording are not independent; the guarantee
  is about the unit whose scores are given: every window, every k-th window, or the highest score
  per group (a sample, a device-hour).
- `bootstrap_weights`, `ratio_interval`: a seeded bootstrap over units (devices) of a ratio of
  sums (alarms over device-days), with its percentile interval.

The rule for `m` is kept exact: the binomial CDF comes from scipy (`scipy.special.bdtr`), and where it lies within
1e-9 of `d` the comparison is redone in exact rational arithmetic, reading the rate and the
confidence as the decimals they are written as (0.01 is 1/100).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from .errors import UsageError
from .rules import count_anomalies

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_FPR",
    "DEFAULT_REPLICATES",
    "DEFAULT_SEED",
    "FalseAlarmBound",
    "GuaranteedThreshold",
    "RatioInterval",
    "Unit",
    "bootstrap_weights",
    "clopper_pearson_upper",
    "exceed_probability",
    "false_alarm_bound",
    "group_maxima",
    "guaranteed_threshold",
    "interval_ends",
    "order_statistic_rank",
    "order_statistic_ranks",
    "ordinal",
    "p_values",
    "ratio_interval",
    "replicate_ratios",
    "unit_scores",
    "windows_needed",
]

DEFAULT_FPR = 0.01
DEFAULT_CONFIDENCE = 0.95
DEFAULT_REPLICATES = 2_000  # bootstrap resamples (at least 1,000)
DEFAULT_SEED = 0
MIN_REPLICATES = 1_000
_NEAR = 1e-9  # relative distance of a float CDF from d within which the comparison is redone exactly
_EXACT_UP_TO = 200_000  # n above which the exact check could cost seconds: the float CDF decides alone


def _decimal(value: float) -> Fraction:
    """A float as the decimal it is written as (0.95 -> 19/20)."""
    return Fraction(repr(float(value)))


def _check_rates(fpr: float, confidence: float) -> None:
    if not (math.isfinite(fpr) and 0 < fpr < 1):
        raise UsageError(f"the target false-alarm rate must be above 0 and below 1, not {fpr:g}")
    if not (math.isfinite(confidence) and 0 < confidence < 1):
        raise UsageError(f"the confidence must be above 0 and below 1 (e.g. 0.95), not {confidence:g}")


def _miss(confidence: float) -> float:
    """d = 1 - confidence, computed on the decimals (1 - 0.95 is 0.05, not 0.050000000000000044)."""
    return float(1 - _decimal(confidence))


# --- the binomial rule -------------------------------------------------------------------------


def _exact_rank(n: int, fpr: Fraction, miss: Fraction) -> int:
    """m for one n, in exact integer arithmetic: the largest m with P(Binomial(n, fpr) <= m) <= miss
    (-1: none). Terms are C(n, k) p^k (q - p)^(n - k) over the common denominator q^n."""
    p, q = fpr.numerator, fpr.denominator
    rest = q - p
    scale = miss.numerator * q**n  # P(...) <= miss  <=>  sum * miss.denominator <= scale
    term = rest**n
    total = 0
    for k in range(n + 1):
        total += term
        if total * miss.denominator > scale:
            return k - 1
        term = term * (n - k) * p // ((k + 1) * rest)
    return n  # P(... <= n) = 1 <= miss cannot happen for miss < 1


def _cdf(k: npt.ArrayLike, n: npt.ArrayLike, fpr: float) -> npt.NDArray[np.float64]:
    """P(Binomial(n, fpr) <= k), 0 for k < 0 (scipy.special's bdtr, vectorised; scipy.stats is not
    needed, and costs half a second to import)."""
    from scipy.special import bdtr

    kk, nn = np.broadcast_arrays(np.asarray(k, np.int64), np.asarray(n, np.int64))
    out = np.asarray(bdtr(np.maximum(kk, 0), nn, fpr), np.float64)
    return np.where(kk < 0, 0.0, out)


def order_statistic_ranks(n: npt.ArrayLike, fpr: float, confidence: float) -> npt.NDArray[np.int64]:
    """For each n, m: the largest integer with P(Binomial(n, fpr) <= m) <= 1 - confidence; -1 where
    none is (too few windows). Vectorised: scipy's inverse of the CDF as a start, then the CDF decides."""
    from scipy.special import bdtrik

    _check_rates(fpr, confidence)
    sizes = np.atleast_1d(np.asarray(n, np.int64))
    if (sizes < 0).any():
        raise UsageError("a number of windows cannot be negative")
    miss = _miss(confidence)
    # the k where the CDF (continued between integers) is d: m is within a step or two of it
    with np.errstate(invalid="ignore"):
        guess = np.nan_to_num(np.asarray(bdtrik(miss, sizes.astype(np.float64), fpr), np.float64), nan=-1.0)
    m = np.clip(np.floor(guess).astype(np.int64), -1, sizes)
    while True:  # P(<= m) <= d, stepping down (a step or two at most)
        high = (m >= 0) & (_cdf(m, sizes, fpr) > miss)
        if not high.any():
            break
        m = np.where(high, m - 1, m)
    while True:  # and P(<= m + 1) > d, stepping up
        low = (m < sizes) & (_cdf(m + 1, sizes, fpr) <= miss)
        if not low.any():
            break
        m = np.where(low, m + 1, m)
    # where the float CDF is too close to d to be trusted, decide exactly
    at_m, above = _cdf(m, sizes, fpr), _cdf(m + 1, sizes, fpr)
    near = (np.abs(at_m - miss) <= _NEAR * miss) | (np.abs(above - miss) <= _NEAR * miss)
    near &= sizes <= _EXACT_UP_TO
    if near.any():
        exact_fpr, exact_miss = _decimal(fpr), 1 - _decimal(confidence)
        for i in np.flatnonzero(near):
            m[i] = _exact_rank(int(sizes[i]), exact_fpr, exact_miss)
    return m


@lru_cache(maxsize=4096)
def order_statistic_rank(n: int, fpr: float, confidence: float) -> int | None:
    """m for `n` scores (the threshold is the (m+1)-th largest), or None when no threshold qualifies."""
    m = int(order_statistic_ranks([n], fpr, confidence)[0])
    return m if m >= 0 else None


@lru_cache(maxsize=256)
def windows_needed(fpr: float, confidence: float) -> int:
    """The fewest scores for which a threshold qualifies: the smallest n with (1 - fpr)^n <= 1 -
    confidence, i.e. ceil(ln(d) / ln(1 - a)) (299 for 1 % at 95 %)."""
    _check_rates(fpr, confidence)
    estimate = max(1, math.ceil(math.log(_miss(confidence)) / math.log1p(-fpr)))
    n = max(1, estimate - 2)
    while order_statistic_rank(n, fpr, confidence) is None:  # at most a few steps from the estimate
        n += 1
    while n > 1 and order_statistic_rank(n - 1, fpr, confidence) is not None:
        n -= 1
    return n


def exceed_probability(n: int, m: int, fpr: float) -> float:
    """P(Binomial(n, fpr) <= m): the chance that the (m+1)-th largest of n scores has a true
    false-alarm rate above `fpr` (for continuous scores; at most this with ties)."""
    return float(_cdf(m, n, fpr))


def clopper_pearson_upper(k: int, n: int, confidence: float) -> float:
    """The one-sided Clopper-Pearson upper bound of a rate from `k` events in `n` trials: the `p`
    with P(Binomial(n, p) <= k) = 1 - confidence (1 when k = n; 1 when n = 0: nothing is known)."""
    if not (math.isfinite(confidence) and 0 < confidence < 1):
        raise UsageError(f"the confidence must be above 0 and below 1 (e.g. 0.95), not {confidence:g}")
    if k < 0 or k > n:
        raise ValueError(f"{k} events in {n} trials")
    if n == 0 or k == n:
        return 1.0
    from scipy.special import betaincinv

    return float(betaincinv(k + 1, n - k, 1 - _miss(confidence)))


# --- thresholds ----------------------------------------------------------------------------------


def _finite32(scores: npt.ArrayLike) -> npt.NDArray[np.float32]:
    s = np.asarray(scores, np.float32).ravel()
    return s[np.isfinite(s)]


@dataclass(frozen=True)
class GuaranteedThreshold:
    """The threshold a target false-alarm rate allows at a confidence, from `n` normal scores.

    `threshold` is one of the scores (a float32 value), flagged strictly above; None when `n` is
    fewer than `needed`."""

    fpr: float
    confidence: float
    n: int
    m: int | None  # how many of the n scores may lie above the threshold (None: no threshold qualifies)
    needed: int  # the fewest scores for which a threshold qualifies
    threshold: float | None
    above: int | None  # of the n scores, how many are strictly above the threshold (m, fewer on ties)
    exceed_probability: float | None  # P(Binomial(n, fpr) <= m): at most 1 - confidence
    upper_bound: float | None  # Clopper-Pearson bound at the threshold, at the confidence (at most fpr)

    @property
    def qualifies(self) -> bool:
        return self.threshold is not None

    @property
    def rank(self) -> int | None:
        """Which largest score the threshold is (1: the largest)."""
        return None if self.m is None else self.m + 1


def guaranteed_threshold(scores: npt.ArrayLike, fpr: float, confidence: float) -> GuaranteedThreshold:
    """The (m+1)-th largest of the finite scores (float32), with m from `order_statistic_rank`."""
    _check_rates(fpr, confidence)
    s = np.sort(_finite32(scores))[::-1]
    n = len(s)
    needed = windows_needed(fpr, confidence)
    m = order_statistic_rank(n, fpr, confidence) if n else None
    if m is None:
        return GuaranteedThreshold(fpr, confidence, n, None, needed, None, None, None, None)
    threshold = float(s[m])
    above = count_anomalies(s, threshold)
    return GuaranteedThreshold(
        fpr,
        confidence,
        n,
        m,
        needed,
        threshold,
        above,
        exceed_probability(n, m, fpr),
        clopper_pearson_upper(above, n, confidence),
    )


@dataclass(frozen=True)
class FalseAlarmBound:
    """At a threshold: `above` of `n` normal scores strictly above it (float32, as the device
    compares), and the one-sided upper bound of its false-alarm rate at `confidence`."""

    threshold: float
    n: int
    above: int
    confidence: float
    upper: float

    @property
    def observed(self) -> float:
        return self.above / self.n if self.n else math.nan


def false_alarm_bound(scores: npt.ArrayLike, threshold: float, confidence: float) -> FalseAlarmBound:
    s = _finite32(scores)
    above = count_anomalies(s, threshold)
    return FalseAlarmBound(
        float(threshold), len(s), above, confidence, clopper_pearson_upper(above, len(s), confidence)
    )


def p_values(scores: npt.ArrayLike, reference: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Per score, `(1 + #{reference scores >= s}) / (n + 1)` (float32 comparisons); NaN where the
    score is NaN (unscorable). `reference`: the normal scores (any order; non-finite ones left out)."""
    ref = np.sort(_finite32(reference))
    s = np.asarray(scores, np.float32)
    at_least = len(ref) - np.searchsorted(ref, s, side="left")
    out = (1.0 + at_least) / (len(ref) + 1.0)
    return np.where(np.isnan(s), np.nan, out)


# --- the unit of independence ---------------------------------------------------------------------


def ordinal(k: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


@dataclass(frozen=True)
class Unit:
    """What one independent score is: every window (stride 1), every `stride`-th window in order,
    or per group named `per` (a sample, a device-hour) the group's highest score."""

    stride: int = 1
    per: str | None = None

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise UsageError(f"the stride must be a whole number of windows, at least 1, not {self.stride}")
        if self.per is not None and self.stride != 1:
            raise UsageError("choose a stride or a group, not both")

    def describe(self) -> str:
        if self.per is not None:
            return f"one score per {self.per} (its highest window)"
        return "every window" if self.stride == 1 else f"every {ordinal(self.stride)} window"

    @property
    def plural(self) -> str:
        """What the unit counts, in the plural ("windows", "samples", "device-hours")."""
        return "windows" if self.per is None else f"{self.per}s"

    def to_dict(self) -> dict[str, object]:
        return {"stride": self.stride, "per": self.per, "describe": self.describe()}


def group_maxima(scores: npt.ArrayLike, groups: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The highest finite score of each group (codes >= 0; -1: no group), in group-code order;
    groups without a finite score are left out."""
    s = np.asarray(scores, np.float32).ravel()
    g = np.asarray(groups, np.int64).ravel()
    if s.shape != g.shape:
        raise ValueError(f"{len(s)} scores but {len(g)} group codes")
    keep = np.isfinite(s) & (g >= 0)
    s, g = s[keep], g[keep]
    if not len(s):
        return np.zeros(0, np.float32)
    order = np.argsort(g, kind="stable")
    g, s = g[order], s[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    return np.asarray(np.maximum.reduceat(s, starts), np.float32)


def unit_scores(scores: npt.ArrayLike, unit: Unit, groups: npt.ArrayLike | None = None) -> npt.NDArray[np.float32]:
    """The scores the guarantee is about: every `stride`-th window (in the order given), or each
    group's highest; unscorable windows (NaN) left out."""
    s = np.asarray(scores, np.float32).ravel()
    if unit.per is not None:
        if groups is None:
            raise UsageError(f"one score per {unit.per} needs to know each window's {unit.per}")
        return group_maxima(s, groups)
    picked = s[:: unit.stride]
    return picked[np.isfinite(picked)]


# --- the bootstrap over units ----------------------------------------------------------------------


def bootstrap_weights(
    n_units: int, replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED
) -> npt.NDArray[np.int32]:
    """(replicates x n_units): how often each unit is drawn when `n_units` are drawn with
    replacement, once per replicate; the same for the same seed."""
    if replicates < MIN_REPLICATES:
        raise UsageError(f"a bootstrap needs at least {MIN_REPLICATES:,} resamples, not {replicates:,}")
    out = np.zeros((replicates, n_units), np.int32)
    if n_units == 0:
        return out
    rng = np.random.default_rng(seed)
    chunk = max(1, 4_000_000 // max(n_units, 1))
    for start in range(0, replicates, chunk):
        rows = min(chunk, replicates - start)
        drawn = rng.integers(0, n_units, size=(rows, n_units))
        flat = (drawn + (np.arange(rows) * n_units)[:, None]).ravel()
        out[start : start + rows] = np.bincount(flat, minlength=rows * n_units).reshape(rows, n_units)
    return out


def replicate_ratios(
    weights: npt.NDArray[np.int32], numerators: npt.ArrayLike, denominators: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Per replicate, the sum of the drawn numerators over the sum of the drawn denominators (+inf
    when the denominators add up to 0 and the numerators do not; 0 when both do)."""
    num = weights.astype(np.float64) @ np.asarray(numerators, np.float64)
    den = weights.astype(np.float64) @ np.asarray(denominators, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    return np.where(den > 0, ratio, np.where(num > 0, np.inf, 0.0))


def interval_ends(
    ratios: npt.NDArray[np.float64], confidence: float, axis: int = 0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The percentile interval's ends at `confidence` (two-sided: (1 - c) / 2 in each tail), along `axis`."""
    tail = (1 - confidence) / 2
    ends = np.asarray(np.quantile(ratios, [tail, 1 - tail], axis=axis), np.float64)
    return ends[0], ends[1]


@dataclass(frozen=True)
class RatioInterval:
    """A ratio of sums over units (alarms over device-days) and its bootstrap percentile interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    replicates: int
    seed: int
    units: int
    groups: int | None = None  # units resampled in this many random groups (a cluster bootstrap), if grouped

    def to_dict(self) -> dict[str, object]:
        return {
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
            "replicates": self.replicates,
            "seed": self.seed,
            "resampled": self.units,
            "groups": self.groups,
        }


def ratio_interval(
    numerators: npt.ArrayLike,
    denominators: npt.ArrayLike,
    confidence: float = DEFAULT_CONFIDENCE,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = DEFAULT_SEED,
    weights: npt.NDArray[np.int32] | None = None,
) -> RatioInterval:
    """sum(numerators) / sum(denominators), with the percentile interval of the same ratio over
    `replicates` resamples of the units (with replacement; seeded). `weights`: resamples already drawn."""
    if not (math.isfinite(confidence) and 0 < confidence < 1):
        raise UsageError(f"the confidence must be above 0 and below 1 (e.g. 0.95), not {confidence:g}")
    num = np.asarray(numerators, np.float64)
    den = np.asarray(denominators, np.float64)
    w = bootstrap_weights(len(num), replicates, seed) if weights is None else weights
    ratios = replicate_ratios(w, num, den)
    low, high = interval_ends(ratios, confidence)
    total = float(den.sum())
    estimate = float(num.sum()) / total if total > 0 else math.nan
    return RatioInterval(estimate, float(low), float(high), confidence, int(w.shape[0]), seed, len(num))
