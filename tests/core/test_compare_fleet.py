"""Two blocks on one fleet log: the comparison's numbers against the alarms core run directly."""

from __future__ import annotations

import numpy as np
import pytest

from ei_anomaly.alarms import (
    AlarmPolicy,
    FleetPolicy,
    Smoothing,
    build_fleet_log,
    detect_device_column,
    detect_time_column,
    lowest_threshold,
    simulate,
)
from ei_anomaly.demo import FLEET_LOG_CSV, load_demo_gmm_model, load_demo_model
from ei_anomaly.errors import UsageError
from ei_anomaly.features import map_columns, read_feature_file, score_table
from ei_anomaly.review.compare_fleet import compare_on_fleet, log_with_scores

POLICIES = [(None, 0.0), (Smoothing(10, 7), 0.0), (Smoothing(5, 3), 3_600.0)]


@pytest.fixture(scope="module")
def demo_fleet():
    """The demo fleet log scored by the K-means block (A) and the GMM block (B), and each block's
    log built from its own scores (the direct computation the comparison must equal)."""
    table = read_feature_file(FLEET_LOG_CSV)
    a, b = load_demo_model(), load_demo_gmm_model()
    device, time = detect_device_column(table.columns), detect_time_column(table.columns)

    def log_of(scores):
        return build_fleet_log(
            scores, table.table.column(device), table.table.column(time), device_column=device, time_column=time
        )

    scores_a = score_table(table, a, map_columns(table, a)).score
    scores_b = score_table(table, b, map_columns(table, b)).score
    return a, b, log_of(scores_a), log_of(scores_b), scores_b


def test_block_b_log_is_the_same_log_with_b_scores(demo_fleet):
    _, _, log_a, direct_b, scores_b = demo_fleet
    log_b = log_with_scores(log_a, scores_b)
    np.testing.assert_array_equal(log_b.scores, direct_b.scores)
    np.testing.assert_array_equal(log_b.order, direct_b.order)
    assert log_b.device_names == direct_b.device_names
    assert not np.array_equal(log_b.scores, log_a.scores)  # B's scores, not A's


@pytest.mark.parametrize(("smoothing", "cooldown_s"), POLICIES)
def test_the_comparison_equals_the_alarms_core_run_directly(demo_fleet, smoothing, cooldown_s):
    a, b, log_a, direct_b, scores_b = demo_fleet
    found = compare_on_fleet(
        "fleet.csv",
        ("A", log_a, a.default_threshold),
        ("B", log_with_scores(log_a, scores_b), b.default_threshold),
        policy=FleetPolicy(smoothing, cooldown_s),
        budget_per_day=1.0,
    )
    for side, log, threshold in ((found.a, log_a, 0.3), (found.b, direct_b, 2.05)):
        own = simulate(log, AlarmPolicy(threshold, smoothing, cooldown_s))
        days = log.days.sum()
        assert side.own.total_alarms == own.total_alarms
        assert side.own.fleet_rate == pytest.approx(own.alarms.sum() / days, rel=1e-12)
        per_day = own.alarms / log.days
        assert side.own.devices_daily == int(np.sum(per_day >= 1))
        budget = lowest_threshold(log, smoothing, 1.0, cooldown_s)
        assert side.budget.threshold == budget.threshold
        at_budget = simulate(log, AlarmPolicy(budget.threshold, smoothing, cooldown_s))
        assert side.at_budget.total_alarms == at_budget.total_alarms <= days  # within the budget
        assert side.at_budget.devices_daily == int(np.sum(at_budget.alarms / log.days >= 1))
    rows = found.summary()
    assert list(rows["threshold"]) == [0.3, found.a.budget.threshold, 2.05, found.b.budget.threshold]


def test_the_noisiest_devices_side_by_side(demo_fleet):
    _, _, log_a, direct_b, scores_b = demo_fleet
    found = compare_on_fleet(
        "fleet.csv",
        ("A", log_a, 0.3),
        ("B", log_with_scores(log_a, scores_b), 2.05),
        policy=FleetPolicy(None, 0.0),
        budget_per_day=1.0,
    )
    table = found.noisiest(5)
    assert len(table) == 5
    b_own = simulate(direct_b, AlarmPolicy(2.05))
    rate_b = dict(zip(b_own.devices, b_own.alarms / direct_b.days, strict=True))
    a_own = simulate(log_a, AlarmPolicy(0.3))
    rate_a = dict(zip(a_own.devices, a_own.alarms / log_a.days, strict=True))
    worst = sorted(rate_b, key=lambda d: -max(rate_a[d], rate_b[d]))[0]
    assert table["device"].iloc[0] == worst
    for _, row in table.iterrows():
        assert row["B, own threshold"] == pytest.approx(rate_b[row["device"]])
        assert row["A, own threshold"] == pytest.approx(rate_a[row["device"]])
    noisiest = table[["A, own threshold", "B, own threshold"]].max(axis=1).to_numpy()
    assert np.all(np.diff(noisiest) <= 0)


def test_two_different_logs_are_refused(demo_fleet):
    _, _, log_a, _, _ = demo_fleet
    other = build_fleet_log(np.ones(3, np.float32), None, None, stride_s=60)
    with pytest.raises(UsageError, match="same windows"):
        compare_on_fleet("x", ("A", log_a, 0.3), ("B", other, 0.3), policy=FleetPolicy(None, 0.0), budget_per_day=1.0)
    with pytest.raises(UsageError, match="scores for a log"):
        log_with_scores(log_a, np.ones(3))


def test_the_comparison_report_with_a_fleet_log(demo_fleet, tmp_path):
    """`report A --compare B --fleet LOG`: the fleet section shows the numbers the core decides."""
    from ei_anomaly.alarms.log_file import FleetFile
    from ei_anomaly.demo import DEMO_DIR, GMM_DEMO_DIR
    from ei_anomaly.report import Review

    _, _, log_a, _, scores_b = demo_fleet
    out = tmp_path / "compare.html"
    review = Review(
        DEMO_DIR, fleet=FleetFile(FLEET_LOG_CSV), policy=FleetPolicy(Smoothing(10, 7), 600.0), compare=GMM_DEMO_DIR
    )
    review.to_html(out)
    want = compare_on_fleet(
        "x",
        ("A", log_a, 0.3),
        ("B", log_with_scores(log_a, scores_b), 2.05),
        policy=FleetPolicy(Smoothing(10, 7), 600.0),
        budget_per_day=1.0,
    )
    got = review.snapshot.fleet_comparison
    assert got is not None
    assert (got.a.own.fleet_rate, got.b.own.fleet_rate) == (want.a.own.fleet_rate, want.b.own.fleet_rate)
    html = out.read_text()
    section = html[html.index('<section id="fleet-compared">') :]
    assert "smoothing 10:7, cool-down 600 s" in section
    for side in (want.a, want.b):
        assert f"<td>{side.budget.threshold:.4g}</td>" in section
        assert f"<td>{side.own.fleet_rate:.4g}</td>" in section
    assert want.noisiest()["device"].iloc[0] in section
