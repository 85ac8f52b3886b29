"""The Compare page on the demo fleet log: K-means block 4 (A) against GMM block 5 (B), the shown
numbers equal to the core's comparison run directly."""

from __future__ import annotations

import pytest

from ei_anomaly.alarms import FleetPolicy, Smoothing, build_fleet_log, detect_device_column, detect_time_column
from ei_anomaly.demo import FLEET_LOG_CSV, load_demo_gmm_model, load_demo_model
from ei_anomaly.features import map_columns, read_feature_file, score_table
from ei_anomaly.review.compare_fleet import compare_on_fleet
from tests.support.apptest import charts, goto, no_problems


def core_comparison(smoothing, budget=1.0):
    """Each block's own log of the demo fleet, built from its own scores."""
    table = read_feature_file(FLEET_LOG_CSV)
    device, time = detect_device_column(table.columns), detect_time_column(table.columns)
    logs = []
    for model in (load_demo_model(), load_demo_gmm_model()):
        scores = score_table(table, model, map_columns(table, model)).score
        logs.append(build_fleet_log(scores, table.table.column(device), table.table.column(time)))
    return compare_on_fleet(
        "fleet", ("A", logs[0], 0.3), ("B", logs[1], 2.05), policy=FleetPolicy(smoothing, 0.0), budget_per_day=budget
    )


def shown(at, label):
    return [m.value for m in at.metric if m.label == label]


def assert_shows(at, want):
    assert shown(at, "Alarms per device per day") == [f"{s.own.fleet_rate:.3g}" for s in (want.a, want.b)]
    assert shown(at, "Devices alarming daily") == [f"{s.own.devices_daily:,}" for s in (want.a, want.b)]
    assert shown(at, "Threshold for the budget") == [f"{s.budget.threshold:.6g}" for s in (want.a, want.b)]
    assert shown(at, "Devices alarming daily at it") == [f"{s.at_budget.devices_daily:,}" for s in (want.a, want.b)]
    table = at.dataframe[-1].value
    noisiest = want.noisiest()
    assert list(table["device"]) == list(noisiest["device"])
    for column in noisiest.columns[1:]:
        assert table[column].to_numpy() == pytest.approx(noisiest[column].to_numpy())


def test_compare_shows_both_blocks_alarms_on_the_demo_fleet_log(app):
    at = goto(app(), "compare")
    no_problems(at)
    want = core_comparison(None)
    assert want.a.own.fleet_rate != want.b.own.fleet_rate  # the blocks differ on this log
    assert_shows(at, want)
    assert any(
        "Matched policy for both: no smoothing, no cool-down (none" in c.value.replace("\\", "") for c in at.caption
    )
    assert [c.key for c in charts(at)][-1] == "compare_fleet"
    curves = charts(at)[-1].proto.spec
    assert "its threshold 0.3" in curves and "its threshold 2.05" in curves

    at.number_input(key="compare_fleet_budget").set_value(2.0).run()
    no_problems(at)
    assert_shows(at, core_comparison(None, budget=2.0))


def test_compare_takes_the_fleet_pages_smoothing(app):
    at = goto(app(), "fleet")  # smooths 10:7 by default
    at = goto(at, "compare")
    no_problems(at)
    assert any(
        "Matched policy for both: smoothing 10:7, no cool-down (the Fleet page" in c.value.replace("\\", "")
        for c in at.caption
    )
    assert_shows(at, core_comparison(Smoothing(10, 7)))
