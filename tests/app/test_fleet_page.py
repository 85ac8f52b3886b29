"""The Fleet page through AppTest: the demo fleet log, the policy controls, the helper, the
drill-down, and a scored upload without device or time columns."""

from __future__ import annotations

import numpy as np

from ei_anomaly.alarms import AlarmPolicy, Smoothing, lowest_threshold, simulate
from ei_anomaly.demo import load_demo_model
from tests.support.apptest import charts, goto, metric, no_problems
from tests.support.fleet import demo_fleet_log

demo_fleet = demo_fleet_log


def test_demo_fleet_shows_the_policy_outcome(app):
    at = goto(app(), "fleet")
    no_problems(at)
    log = demo_fleet()
    threshold = load_demo_model().default_threshold
    expected = simulate(log, AlarmPolicy(threshold, Smoothing(10, 7)))
    assert metric(at, "Devices") == "36"
    assert metric(at, "Alarms") == f"{expected.total_alarms:,}"
    assert len(charts(at)) == 3  # grid, curve, drill-down (explaining a window is off until asked for)
    table = at.dataframe[0].value
    assert list(table.columns) == ["device", "windows", "anomalous windows", "alarms", "days", "alarms per day"]
    assert table["device"].iloc[0] in {"press-07", "press-23", "press-15", "press-31"}  # a sick device on top
    assert any("anomaly-only" in c.value.replace("\\", "") for c in at.caption)

    # no smoothing: every run of anomalous windows alarms
    at.toggle(key="fleet_smooth").set_value(False).run()
    no_problems(at)
    plain = simulate(log, AlarmPolicy(threshold))
    assert metric(at, "Alarms") == f"{plain.total_alarms:,}" and plain.total_alarms > expected.total_alarms

    # a cool-down of an hour
    at.number_input(key="fleet_cooldown_min").set_value(60.0).run()
    cooled = simulate(log, AlarmPolicy(threshold, None, 3600))
    assert metric(at, "Alarms") == f"{cooled.total_alarms:,}" and cooled.total_alarms < plain.total_alarms


def test_min_above_n_is_an_error_on_the_page_not_a_crash(app):
    at = goto(app(), "fleet")
    at.number_input(key="fleet_n_readings").set_value(3).run()
    at.number_input(key="fleet_min_same").set_value(5).run()
    assert not at.exception
    assert any("between 1 and n readings" in e.value for e in at.error)


def test_the_helper_moves_the_slider_to_the_budget_threshold(app):
    at = goto(app(), "fleet")
    at.number_input(key="fleet_budget").set_value(0.1).run()
    found = lowest_threshold(demo_fleet(), Smoothing(10, 7), 0.1)
    button = next(b for b in at.button if b.label.startswith("Use "))
    assert button.label == f"Use {found.threshold:.6g}"
    button.click().run()
    no_problems(at)
    slider = next(s for s in at.slider if "fleet::" in s.key)
    assert slider.value == np.float32(found.threshold) or abs(slider.value - found.threshold) < 1e-6
    assert float(metric(at, "Alarms per device per day")) <= 0.1


def test_drill_down_follows_the_chosen_device(app):
    at = goto(app(), "fleet")
    at.selectbox(key="fleet_drilldown_device").set_value("press-15").run()
    no_problems(at)
    titles = [c.proto.spec for c in charts(at)]
    assert any("press-15" in spec for spec in titles)


def test_an_upload_without_device_or_time_asks_for_a_stride(app, upload_demo_csv):
    at = upload_demo_csv(app())
    at = goto(at, "fleet")
    at.radio(key="fleet_source").set_value("Last scored upload").run()
    no_problems(at)  # the demo session has a timestamp and no device: one device
    assert metric(at, "Devices") == "1"
    assert any("no device column" in c.value.replace("\\", "") for c in at.caption)


def test_explain_a_window_from_the_fleet_and_see_it_on_the_clusters_page(app):
    at = goto(app(), "fleet")
    at.selectbox(key="fleet_drilldown_device").set_value("press-15").run()
    at.toggle(key="fleet_explain").set_value(True).run()
    no_problems(at)
    assert any("of the squared distance" in c.value for c in at.caption)
    assert any("share of the squared distance" in c.proto.spec for c in charts(at))
    at = goto(at, "clusters")
    no_problems(at)
    assert any("explained: row" in c.proto.spec for c in charts(at))


def test_explain_a_row_on_the_scoring_page(app, upload_demo_csv):
    at = upload_demo_csv(app())
    assert not any(n.key.startswith("scoring_explain_row") for n in at.number_input)  # only when asked for
    at.toggle(key="scoring_explain").set_value(True).run()
    row = next(n for n in at.number_input if n.key.startswith("scoring_explain_row"))
    row.set_value(140).run()  # a sensor dropout: no score to explain
    assert not at.exception
    assert any("row 140 has an empty or non-numeric feature" in e.value.replace("\\", "") for e in at.error)
    row = next(n for n in at.number_input if n.key.startswith("scoring_explain_row"))
    row.set_value(300).run()
    no_problems(at)
    assert any("of the squared distance" in c.value for c in at.caption)


def test_the_fleet_pages_report_has_the_log_and_policy_on_screen_and_no_other_page_takes_them(app):
    at = goto(app(), "fleet")
    no_problems(at)
    captions = " ".join(c.value for c in at.caption)
    assert "with the fleet log on this page under smoothing 10:7, no cool-down" in captions
    assert "Download this view" in [b.label for b in at.get("download_button")]
    at = goto(at, "overview")  # the Fleet page ran, but the Overview's report is of what the Overview shows
    no_problems(at)
    assert not any("fleet" in c.value for c in at.caption)


def test_a_log_with_numeric_times_and_device_ids_is_simulated_by_them(app):
    """Epoch seconds and integer device ids are numbers: the Scoring page read only the block's
    columns and the text ones, so the Fleet page offered neither and simulated one device with a
    stride. Here both are found by name and give the CLI's answer."""
    import pandas as pd

    from ei_anomaly.demo import FLEET_LOG_CSV

    frame = pd.read_csv(FLEET_LOG_CSV)
    frame["timestamp"] = (pd.to_datetime(frame["timestamp"]) - pd.Timestamp(0)) // pd.Timedelta(seconds=1)
    frame["device"] = frame["device"].str.removeprefix("press-").astype(int)
    at = goto(app(), "scoring")
    at.file_uploader[0].set_value(("numeric.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    at = goto(at, "fleet")
    at.radio(key="fleet_source").set_value("Last scored upload").run()
    no_problems(at)
    assert metric(at, "Devices") == str(frame["device"].nunique())
    assert not any("no device column" in c.value.replace("\\", "") for c in at.caption)
    rate = metric(at, "Alarms per device per day")
    at.radio(key="fleet_source").set_value("Demo fleet log").run()
    assert metric(at, "Alarms per device per day") == rate  # the same log, its times and ids as text
