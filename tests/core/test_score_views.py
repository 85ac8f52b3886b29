"""Server-side reductions of many scores: faithful to the full series, few points, exact counts."""

from __future__ import annotations

import numpy as np
import pytest

from ei_anomaly.blocks import Scores
from ei_anomaly.demo import ANOMALY_SESSION_CSV
from ei_anomaly.features import map_columns, read_feature_file, score_table
from ei_anomaly.score_views import HISTOGRAM_BINS, flagged_points, score_bounds, score_envelope, score_histogram
from ei_anomaly.scored_file import ScoredFile


def series(n: int = 1_000_003, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = rng.normal(0, 0.1, n).astype(np.float32)
    s[rng.integers(0, n, 500)] = rng.uniform(1, 50, 500)  # spikes
    s[rng.integers(0, n, 300)] = np.nan  # unscorable rows
    return s


def test_envelope_keeps_every_columns_extremes_in_few_points():
    s = series()
    env = score_envelope(s, columns=1000)
    assert len(env.rows) <= 2000
    assert np.all(np.diff(env.rows) > 0)  # file order, no repeats
    assert np.array_equal(env.scores, s[env.rows])
    width = -(-len(s) // 1000)
    for column in (0, 17, 999):
        chunk = s[column * width : (column + 1) * width]
        inside = env.scores[(env.rows >= column * width) & (env.rows < (column + 1) * width)]
        assert inside.max() == np.nanmax(chunk) and inside.min() == np.nanmin(chunk)
    assert env.scores.max() == np.nanmax(s) and env.scores.min() == np.nanmin(s)  # no spike lost


def test_envelope_of_a_short_series_is_the_series_without_unscorable_rows():
    s = np.array([0.1, np.nan, 0.3], np.float32)
    env = score_envelope(s, columns=10)
    assert env.rows.tolist() == [0, 2] and not env.reduced
    assert score_envelope(series(), columns=10).reduced


def test_envelope_skips_columns_with_no_scorable_row():
    s = np.full(10_000, np.nan, np.float32)
    s[:100] = 1.0
    env = score_envelope(s, columns=100)
    assert env.rows.max() < 100


def test_flagged_points_are_capped_evenly_and_count_all():
    s = series()
    flags = s > np.float32(0.25)
    total = int(flags.sum())
    points = flagged_points(s, flags, cap=100)
    assert points.total == total and len(points.rows) == 100 and points.capped
    assert np.all(flags[points.rows])
    first, last = np.flatnonzero(flags)[[0, -1]]
    assert points.rows[0] == first and points.rows[-1] == last  # spread over the whole file
    small = flagged_points(s, flags, cap=total + 1)
    assert not small.capped and len(small.rows) == total


def test_many_flagged_points_are_one_per_cell_the_highest_there():
    rng = np.random.default_rng(3)
    s = rng.normal(2.0, 1.0, 200_000).astype(np.float32)
    flags = s > np.float32(0.3)
    cells, score_range = (20, 10), (float(s.min()), float(s.max()))
    points = flagged_points(s, flags, cap=10_000, cells=cells, score_range=score_range)
    assert points.per_cell and points.total == int(flags.sum()) and np.all(flags[points.rows])
    assert np.all(np.diff(points.rows) > 0)  # in file order

    def cell(rows: np.ndarray) -> np.ndarray:
        lo, hi = score_range
        band = np.clip(((s[rows].astype(np.float64) - lo) / (hi - lo) * 10).astype(int), 0, 9)
        return rows * 20 // len(s) * 10 + band

    flagged_rows = np.flatnonzero(flags)
    occupied = cell(flagged_rows)
    assert sorted(cell(points.rows)) == sorted(set(occupied))  # every occupied cell once
    for row, c in zip(points.rows, cell(points.rows), strict=True):
        assert s[row] == s[flagged_rows[occupied == c]].max()
    few = flagged_points(s[:100], flags[:100], cells=(150, 40), score_range=score_range)  # under a quarter of the cells
    assert not few.per_cell and len(few.rows) == int(flags[:100].sum())


def test_histogram_counts_every_finite_score():
    s = series()
    hist = score_histogram(s)
    assert hist.total == int(np.isfinite(s).sum())
    assert len(hist.counts) == HISTOGRAM_BINS and hist.edges[0] == np.nanmin(s) and hist.edges[-1] == np.nanmax(s)
    assert score_histogram(np.array([np.nan])).total == 0


def test_bounds_ignore_the_cap_and_unscorable_rows():
    assert score_bounds(np.array([np.nan, 1000.0, -2.0, 1.0], np.float32)) == pytest.approx((-2.0, 0.985))
    assert score_bounds(np.array([np.nan])) is None


def test_top_indices_match_a_full_sort_with_ties_in_row_order():
    s = np.round(series(200_000), 1)
    sc = Scores(s, np.zeros(len(s), np.int32), ~np.isnan(s))
    expected = np.argsort(-np.nan_to_num(s, nan=-np.inf), kind="stable")[:50]
    assert sc.top_indices(50).tolist() == expected.tolist()


def test_scored_file_equals_the_cli_path_and_filters_top_rows_by_threshold(demo_model):
    table = read_feature_file(ANOMALY_SESSION_CSV)
    mapping = map_columns(table, demo_model)
    scored = ScoredFile.score(table, demo_model, mapping, "s.csv", "demo")
    reference = score_table(table, demo_model, mapping)
    assert np.array_equal(scored.scores.score, reference.score, equal_nan=True)
    assert scored.flagged(0.3).total == reference.count_anomalies(0.3)
    top = scored.top_anomalies(1.0)
    assert len(top) == min(20, reference.count_anomalies(1.0))
    assert (top["anomaly score"] > np.float32(1.0)).all()
    assert scored.matches("demo", demo_model, mapping) and not scored.matches("other", demo_model)
