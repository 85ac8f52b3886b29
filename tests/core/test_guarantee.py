"""The false-alarm guarantee (`ei_anomaly/bounds.py`): the binomial rule for m against exact rational
arithmetic, the Clopper-Pearson bound against references, the guarantee itself by simulation (with
wrong rules failing the same checks), thresholds that are input float32 scores flagged as the device
flags, p-values and units. The bootstrap over devices is in test_fleet_bootstrap.py."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from ei_anomaly.bounds import (
    Unit,
    clopper_pearson_upper,
    exceed_probability,
    false_alarm_bound,
    group_maxima,
    guaranteed_threshold,
    order_statistic_rank,
    order_statistic_ranks,
    p_values,
    unit_scores,
    windows_needed,
)
from ei_anomaly.errors import UsageError
from ei_anomaly.review.guarantee import threshold_text
from ei_anomaly.rules import is_anomaly

# --- an exact reference, written here on its own ------------------------------------------------


def exact_cdf_minus(k: int, n: int, a: Fraction, d: Fraction) -> int:
    """The sign of P(Binomial(n, a) <= k) - d, in integers: sum_i C(n, i) p^i (q-p)^(n-i) against d q^n."""
    if k < 0:
        return -1
    if k >= n:
        return 1 if d < 1 else 0
    p, q = a.numerator, a.denominator
    if n <= 400:  # term by term, as the textbook writes it
        total = sum(math.comb(n, i) * p**i * (q - p) ** (n - i) for i in range(k + 1))
    else:  # the same terms, each from the one before: C(n, i+1) = C(n, i) (n - i) / (i + 1)
        term, total = (q - p) ** n, 0
        for i in range(k + 1):
            total += term
            term = term * (n - i) * p // ((i + 1) * (q - p))
    lhs, rhs = total * d.denominator, d.numerator * q**n
    return (lhs > rhs) - (lhs < rhs)


def exact_m_holds(m: int | None, n: int, fpr: str, confidence: str) -> bool:
    """m is the largest integer with P(Binomial(n, a) <= m) <= d (None: not even m = 0)."""
    a, d = Fraction(fpr), 1 - Fraction(confidence)
    if m is None:
        return exact_cdf_minus(0, n, a, d) > 0
    return exact_cdf_minus(m, n, a, d) <= 0 and exact_cdf_minus(m + 1, n, a, d) > 0


GRID_N = [*range(1, 31), 50, 100, 200, 298, 299, 300, 500, 650, 1000, 2000, 5000, 10_000, 30_000, 100_000]
RATES = [("0.01", "0.95"), ("0.05", "0.95"), ("0.01", "0.99"), ("0.1", "0.9"), ("0.001", "0.95")]


def test_the_worked_values():
    """a = 1 %, d = 5 %: 299 windows -> the largest score; 1,000 -> the 5th largest; 10,000 -> the 84th."""
    assert order_statistic_rank(299, 0.01, 0.95) == 0
    assert order_statistic_rank(1_000, 0.01, 0.95) == 4
    assert order_statistic_rank(10_000, 0.01, 0.95) == 83
    assert order_statistic_rank(298, 0.01, 0.95) is None
    assert windows_needed(0.01, 0.95) == 299 == math.ceil(math.log(0.05) / math.log(0.99))
    rng = np.random.default_rng(0)
    for n, rank in ((299, 1), (1_000, 5), (10_000, 84)):
        scores = rng.normal(size=n).astype(np.float32)
        found = guaranteed_threshold(scores, 0.01, 0.95)
        assert found.rank == rank and found.threshold == float(np.sort(scores)[::-1][rank - 1])


@pytest.mark.parametrize(("fpr", "confidence"), RATES)
def test_m_is_the_exact_binomial_rule_on_a_grid_of_n(fpr, confidence):
    # the exact sums at 100,000 windows and 5-10 % take a second or two each: those are in the slow grid
    grid = [n for n in GRID_N if n < 100_000 or float(fpr) <= 0.01]
    ranks = order_statistic_ranks(grid, float(fpr), float(confidence))
    for n, m in zip(grid, ranks, strict=True):
        assert exact_m_holds(int(m) if m >= 0 else None, n, fpr, confidence), (n, int(m))
        assert order_statistic_rank(n, float(fpr), float(confidence)) == (int(m) if m >= 0 else None)
    needed = windows_needed(float(fpr), float(confidence))
    assert exact_m_holds(None, needed - 1, fpr, confidence) and not exact_m_holds(None, needed, fpr, confidence)


def test_m_for_every_n_from_1_to_100000_at_one_percent_and_95_percent():
    """All 100,000 at once (vectorised); the float CDF checks the rule, and where it is within
    1e-8 of d (a couple of them), exact arithmetic does."""
    n = np.arange(1, 100_001)
    m = order_statistic_ranks(n, 0.01, 0.95)
    assert (m[:298] == -1).all() and (m[298:] >= 0).all()
    assert (np.diff(m) >= 0).all() and (np.diff(m) <= 1).all()  # one more window moves m by at most one
    at_m = stats.binom.cdf(m, n, 0.01)
    above = stats.binom.cdf(m + 1, n, 0.01)
    near = (np.abs(at_m - 0.05) < 1e-8) | (np.abs(above - 0.05) < 1e-8)
    assert ((at_m <= 0.05) | near).all() and ((above > 0.05) | near).all()
    assert near.any()  # the exact path is exercised
    for i in np.flatnonzero(near):
        assert exact_m_holds(int(m[i]) if m[i] >= 0 else None, int(n[i]), "0.01", "0.95")


def test_ties_with_d_are_decided_exactly():
    """P(Binomial(n, a) <= m) = d exactly: m qualifies (<= d). In floats 1 - 0.95 is a hair above
    0.05, so a float rule would refuse it; the exact comparison does not."""
    assert stats.binom.cdf(0, 1, 0.95) > 1 - 0.95 - 1e-17 and 1 - 0.95 > 0.05  # what floats say
    assert order_statistic_rank(1, 0.95, 0.95) == 0  # P(Bin(1, 0.95) <= 0) = 0.05 = d
    assert order_statistic_rank(2, 0.5, 0.75) == 0  # P(Bin(2, 0.5) <= 0) = 0.25 = d
    assert order_statistic_rank(3, 0.5, 0.5) == 1  # P(Bin(3, 0.5) <= 1) = 0.5 = d
    assert exact_m_holds(0, 1, "0.95", "0.95") and exact_m_holds(1, 3, "0.5", "0.5")


@pytest.mark.slow
@pytest.mark.parametrize(("fpr", "confidence"), [*RATES, ("0.2", "0.95"), ("0.02", "0.8"), ("0.005", "0.999")])
def test_m_is_the_exact_binomial_rule_on_a_dense_grid(fpr, confidence):
    grid = sorted({*range(1, 1001), *np.unique(np.geomspace(1000, 100_000, 40).astype(int)).tolist(), 100_000})
    ranks = order_statistic_ranks(grid, float(fpr), float(confidence))
    for n, m in zip(grid, ranks, strict=True):
        assert exact_m_holds(int(m) if m >= 0 else None, n, fpr, confidence), (n, int(m))


def test_bad_rates_are_refused_in_words():
    for fpr, confidence in ((0.0, 0.95), (1.0, 0.95), (0.01, 1.0), (0.01, 0.0), (math.nan, 0.95)):
        with pytest.raises(UsageError, match="must be above 0 and below 1"):
            order_statistic_rank(100, fpr, confidence)


# --- Clopper-Pearson ----------------------------------------------------------------------------------


def test_the_bound_of_the_issue():
    """At 0.3: 0 of 330 normal windows above; false-alarm rate <= 0.90 % with 95 % confidence."""
    assert clopper_pearson_upper(0, 330, 0.95) == pytest.approx(1 - 0.05 ** (1 / 330), rel=1e-12)
    assert f"{clopper_pearson_upper(0, 330, 0.95):.2%}" == "0.90%"


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_matches_scipys_exact_interval(confidence):
    """The one-sided bound at c is the upper end of the two-sided exact interval at 1 - 2(1 - c)."""
    for n in (1, 5, 30, 240, 330, 1000, 25_000):
        for k in sorted({k for k in (0, 1, 2, n // 10, n // 2, n - 1) if k < n}):
            reference = stats.binomtest(k, n).proportion_ci(confidence_level=1 - 2 * (1 - confidence), method="exact")
            assert clopper_pearson_upper(k, n, confidence) == pytest.approx(reference.high, rel=1e-9, abs=1e-15)
    assert clopper_pearson_upper(7, 7, 0.95) == 1.0 and clopper_pearson_upper(0, 0, 0.95) == 1.0


def test_clopper_pearson_is_where_the_exact_cdf_crosses_d():
    """P(Binomial(n, U) <= k) = d: just below U it is above d, just above U below (exact arithmetic)."""
    d = Fraction(5, 100)
    for n, k in ((10, 0), (10, 3), (60, 2), (330, 0), (300, 12)):
        upper = clopper_pearson_upper(k, n, 0.95)
        below, above = Fraction(upper * (1 - 1e-9)), Fraction(upper * (1 + 1e-9))
        assert exact_cdf_minus(k, n, below, d) > 0 > exact_cdf_minus(k, n, above, d)


def test_the_two_directions_agree():
    """The guaranteed threshold is the lowest score whose Clopper-Pearson bound is at most a."""
    rng = np.random.default_rng(3)
    for n in (299, 650, 1000, 4000):
        scores = rng.exponential(size=n).astype(np.float32)
        found = guaranteed_threshold(scores, 0.01, 0.95)
        assert found.upper_bound is not None and found.upper_bound <= 0.01
        assert found.above == found.m and found.exceed_probability == pytest.approx(stats.binom.cdf(found.m, n, 0.01))
        lower = float(np.sort(scores)[::-1][found.m + 1])  # the next score down
        assert false_alarm_bound(scores, lower, 0.95).upper > 0.01


# --- the guarantee itself, by simulation -----------------------------------------------------------

DISTRIBUTIONS = {
    "normal": stats.norm(),
    "exponential": stats.expon(),
    "lognormal": stats.lognorm(1.0),
    "student-t 3": stats.t(3),
}


def true_rates(dist, thresholds: np.ndarray) -> np.ndarray:
    """The share of the distribution's float32 scores strictly above each float32 threshold: a
    score x is flagged when float32(x) > T, that is when x lies above the midpoint between T and the
    next float32."""
    t = np.asarray(thresholds, np.float32)
    mid = (t.astype(np.float64) + np.nextafter(t, np.float32(np.inf)).astype(np.float64)) / 2
    return dist.sf(mid)


def violation_share(rule, dist, n: int, a: float, draws: int, seed: int) -> float:
    """Over `draws` seeded samples of n float32 scores: how often the rule's threshold has a true
    false-alarm rate above a."""
    rng = np.random.default_rng(seed)
    samples = np.asarray(dist.rvs(size=(draws, n), random_state=rng), np.float32)
    thresholds = np.array([rule(row) for row in samples], np.float32)
    return float(np.mean(true_rates(dist, thresholds) > a))


def guarantee_holds(share: float, draws: int, n: int, a: float, d: float) -> bool:
    """At most d (plus 3.5 Monte Carlo standard errors), and not trivially small: at least d / 4."""
    tolerance = 3.5 * math.sqrt(d * (1 - d) / draws)
    return d / 4 <= share <= d + tolerance


def the_rule(a, d):
    def rule(scores):
        return guaranteed_threshold(scores, a, 1 - d).threshold

    return rule


def plain_quantile(a, d):
    """The (1 - a) quantile of the scores: what a percentile suggestion does."""

    def rule(scores):
        return np.sort(scores)[::-1][int(a * len(scores))]

    return rule


def one_too_many(a, d):
    """m + 1: one score more may lie above the threshold than the rule allows."""

    def rule(scores):
        m = order_statistic_rank(len(scores), a, 1 - d)
        return np.sort(scores)[::-1][m + 1]

    return rule


def always_the_largest(a, d):
    """Safe but useless: the largest score, whatever n."""

    def rule(scores):
        return scores.max()

    return rule


@pytest.mark.parametrize("name", ["normal", "exponential", "lognormal", "student-t 3"])
@pytest.mark.parametrize("n", [299, 1000])
def test_the_guarantee_holds_by_simulation(name, n):
    """2,000 seeded draws of n scores: the share of thresholds whose true rate exceeds 1 % is at most
    5 % (plus Monte Carlo tolerance), close to P(Binomial(n, a) <= m), not trivially small."""
    a, d, draws = 0.01, 0.05, 2_000
    share = violation_share(the_rule(a, d), DISTRIBUTIONS[name], n, a, draws, seed=n)
    assert guarantee_holds(share, draws, n, a, d), share
    exact = exceed_probability(n, order_statistic_rank(n, a, 1 - d), a)
    assert abs(share - exact) <= 3.5 * math.sqrt(exact * (1 - exact) / draws)


@pytest.mark.parametrize(
    ("wrong", "n"), [(plain_quantile, 1000), (one_too_many, 299), (always_the_largest, 1000)], ids=lambda x: str(x)
)
def test_wrong_rules_fail_the_same_check(wrong, n):
    """The check can fail: a percentile, one score too many, and a rule so safe it says nothing."""
    a, d, draws = 0.01, 0.05, 2_000
    share = violation_share(wrong(a, d), DISTRIBUTIONS["normal"], n, a, draws, seed=n)
    assert not guarantee_holds(share, draws, n, a, d), share


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
@pytest.mark.parametrize(
    ("n", "a", "d"), [(10_000, 0.01, 0.05), (650, 0.01, 0.05), (120, 0.05, 0.1), (2022, 0.005, 0.01)]
)
def test_the_guarantee_holds_by_simulation_at_more_sizes(name, n, a, d):
    draws = 5_000
    share = violation_share(the_rule(a, d), DISTRIBUTIONS[name], n, a, draws, seed=n + 1)
    assert guarantee_holds(share, draws, n, a, d), share


# --- float32 thresholds, flagged as the device flags -----------------------------------------------


def test_the_threshold_is_one_of_the_scores_and_flags_strictly_above_in_float32():
    rng = np.random.default_rng(11)
    for trial in range(200):
        n = int(rng.integers(299, 3000))
        scores = rng.normal(size=n)
        if trial % 3 == 0:
            scores = np.round(scores, 1)  # many ties
        if trial % 5 == 0:
            scores[rng.integers(0, n, 7)] = np.nan  # unscorable windows are left out
        found = guaranteed_threshold(scores, 0.01, 0.95)
        s32 = np.asarray(scores, np.float32)
        finite = s32[np.isfinite(s32)]
        assert found.n == len(finite)
        assert found.threshold is not None and np.float32(found.threshold) in set(finite.tolist())
        assert float(np.float32(found.threshold)) == found.threshold
        flagged = is_anomaly(scores, found.threshold)
        assert (flagged == (s32 > np.float32(found.threshold))).all()
        assert int(flagged.sum()) == found.above <= found.m
        # the text the page puts on the slider and the command prints names the same float32
        assert np.float32(float(threshold_text(found.threshold))) == np.float32(found.threshold)
    values = np.random.default_rng(2).normal(0, 10.0 ** np.arange(-12, 12, 0.5), (50, 48)).astype(np.float32)
    assert all(np.float32(float(threshold_text(v))) == v for v in values.ravel())


def test_too_few_windows_says_how_many_are_needed():
    found = guaranteed_threshold(np.arange(240, dtype=np.float32), 0.01, 0.95)
    assert not found.qualifies and found.threshold is None and found.m is None and found.needed == 299
    assert guaranteed_threshold([], 0.01, 0.95).n == 0


# --- p-values and units -------------------------------------------------------------------------


def test_p_values_count_normal_scores_at_or_above():
    reference = np.array([0.1, 0.2, 0.2, 0.5, np.nan], np.float32)
    p = p_values([0.05, 0.2, 0.3, 0.5, 0.9, np.nan], reference)
    n = 4
    assert p[:5] == pytest.approx([(1 + 4) / (n + 1), (1 + 3) / (n + 1), (1 + 1) / (n + 1), 2 / 5, 1 / 5])
    assert np.isnan(p[5])
    rng = np.random.default_rng(1)
    ref, new = rng.normal(size=500), rng.normal(size=500)
    brute = np.array([(1 + np.sum(np.float32(ref) >= np.float32(s))) / 501 for s in new])
    assert p_values(new, ref) == pytest.approx(brute)


def test_p_values_of_new_normal_windows_are_valid():
    """For a window exchangeable with the reference, P(p <= alpha) <= alpha."""
    rng = np.random.default_rng(5)
    draws = rng.normal(size=(4000, 100))
    p = np.array([p_values(row[-1:], row[:-1])[0] for row in draws])
    for alpha in (0.05, 0.1, 0.2):
        assert np.mean(p <= alpha) <= alpha + 3.5 * math.sqrt(alpha * (1 - alpha) / len(p))


def test_units():
    scores = np.array([1, 5, 2, np.nan, 3, 4], np.float32)
    assert unit_scores(scores, Unit()).tolist() == [1, 5, 2, 3, 4]
    assert unit_scores(scores, Unit(stride=2)).tolist() == [1, 2, 3]  # windows 0, 2, 4
    groups = np.array([0, 0, 1, 1, 2, -1])
    assert unit_scores(scores, Unit(per="sample"), groups).tolist() == [5, 2, 3]
    assert group_maxima([np.nan, 1.0], [0, 0]).tolist() == [1.0]
    assert Unit().describe() == "every window" and Unit(stride=3).describe() == "every 3rd window"
    assert Unit(per="device-hour").describe() == "one score per device-hour (its highest window)"
    assert Unit(per="device-hour").plural == "device-hours"
    with pytest.raises(UsageError):
        Unit(stride=0)
    with pytest.raises(UsageError):
        Unit(stride=2, per="sample")
    with pytest.raises(UsageError, match="needs to know"):
        unit_scores(scores, Unit(per="sample"))
