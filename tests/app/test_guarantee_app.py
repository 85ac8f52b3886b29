"""The false-alarm guarantee in the app (AppTest): the Thresholds page's helper (normal windows, unit,
target and confidence in; the threshold, one click to the slider; the slider's bound; n needed), the
Scoring page's p-values, and the Fleet page's interval and bound-based budget. Numbers are checked
against the core; the page, the report and the JSON are compared in test_review_parity.py."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ei_anomaly.alarms import AlarmPolicy, Smoothing, simulate
from ei_anomaly.alarms.bootstrap import fleet_interval, lowest_threshold_by_bound
from ei_anomaly.blocks import load_block
from ei_anomaly.bounds import Unit, clopper_pearson_upper, guaranteed_threshold, p_values
from ei_anomaly.demo import ANOMALY_SESSION_CSV, GMM_DEMO_DIR, NORMAL_SESSION_CSV, demo_test_samples, load_demo_model
from ei_anomaly.evaluation import binary_counts
from ei_anomaly.report.review import score_features_file
from ei_anomaly.review import validation_normal, validation_scores
from ei_anomaly.review.guarantee import percent, threshold_text
from tests.support.apptest import LOCAL_API_SETTINGS, goto, metric, no_problems
from tests.support.constants import API_KEY
from tests.support.fleet import demo_fleet_log

FILE = "A file of normal operation"


def demo_normal_scores(block=None) -> np.ndarray:
    return score_features_file(NORMAL_SESSION_CSV, block or load_demo_model()).finite_scores


def with_demo_normal_session(at, page="thresholds"):
    at.radio(key=f"{page}_normal_source").set_value(FILE).run()
    at.button(key=f"{page}_normal_demo").click().run()
    no_problems(at)
    return at


def shown(at) -> str:
    """Everything the page says in text, markdown escapes removed."""
    parts = [*(s.value for s in at.success), *(w.value for w in at.warning), *(m.value for m in at.markdown)]
    return " ".join(parts).replace("\\", "")


def test_with_too_few_validation_windows_the_page_says_how_many_are_needed(app):
    at = goto(app(), "thresholds")
    no_problems(at)
    assert metric(at, "Guaranteed threshold") == "none"
    assert metric(at, "Normal windows") == "240" and metric(at, "n needed") == "299"
    assert metric(at, "Bound at the threshold") == percent(clopper_pearson_upper(0, 240, 0.95)) == "1.24%"
    assert "needs at least 299 normal windows" in shown(at)
    assert "At 0.3: 0 of 240 normal windows above; false-alarm rate <= 1.24% with 95% confidence." in shown(at)
    at.number_input(key="guarantee_fpr_percent").set_value(2.0).run()  # 2 %: 149 windows are enough
    found = guaranteed_threshold(validation_normal(load_demo_model().metadata).scores, 0.02, 0.95)
    assert metric(at, "Guaranteed threshold") == threshold_text(found.threshold)
    assert metric(at, "n needed") == "149"


def test_the_guaranteed_threshold_is_one_click_from_the_slider(app):
    at = with_demo_normal_session(goto(app(), "thresholds"))
    scores = demo_normal_scores()
    found = guaranteed_threshold(scores, 0.01, 0.95)
    assert metric(at, "Guaranteed threshold") == threshold_text(found.threshold)
    assert metric(at, "Normal windows") == "650"
    assert "the 3rd largest of 650 normal windows (every window)" in shown(at)
    at.button(key="guarantee_use").click().run()
    no_problems(at)
    slider = at.slider[0].value
    assert np.float32(slider) == np.float32(found.threshold)  # exactly the float32 score
    validation = validation_scores(load_demo_model().metadata)
    counts = binary_counts(validation.scores, validation.truth, slider)
    assert metric(at, "Flagged as anomaly") == f"{counts.tp + counts.fp:,} / 330"
    assert metric(at, "Bound at the threshold") == percent(found.upper_bound)
    assert at.button(key="guarantee_use").disabled  # already there


def test_the_unit_changes_what_is_counted(app):
    at = with_demo_normal_session(goto(app(), "thresholds"))
    at.radio(key="thresholds_guarantee_unit").set_value("Every k-th window").run()
    no_problems(at)  # k = 2
    scores = score_features_file(NORMAL_SESSION_CSV, load_demo_model()).scores.score
    every_second = guaranteed_threshold(scores[::2], 0.01, 0.95)
    assert metric(at, "Normal windows") == f"{every_second.n:,}" == "325"
    assert metric(at, "Guaranteed threshold") == threshold_text(every_second.threshold)
    at.number_input(key="thresholds_guarantee_stride").set_value(3).run()  # 217 windows: too few
    assert metric(at, "Normal windows") == "217" and metric(at, "Guaranteed threshold") == "none"
    at.radio(key="thresholds_guarantee_unit").set_value("One per group (its highest)").run()
    no_problems(at)
    assert at.selectbox(key="thresholds_guarantee_per").options == ["hour"]
    assert metric(at, "Normal hours") == "1" and metric(at, "Guaranteed threshold") == "none"


def test_an_uploaded_normal_file_with_a_label_column(app, tmp_path):
    normal = pd.read_csv(NORMAL_SESSION_CSV).assign(state="running")
    bad = pd.read_csv(ANOMALY_SESSION_CSV).assign(state="anomaly")
    data = pd.concat([normal, bad]).to_csv(index=False).encode()
    at = goto(app(), "thresholds")
    at.radio(key="thresholds_normal_source").set_value(FILE).run()
    at.file_uploader(key="thresholds_normal_upload").set_value(("normal.csv", data, "text/csv")).run()
    no_problems(at)
    assert metric(at, "Normal windows") == f"{650 + 592:,}"  # all rows (3 of the anomaly session are unscorable)
    rows = next(s for s in at.selectbox if s.key and s.key.startswith("thresholds_normal_rows"))
    rows.set_value("state").run()
    no_problems(at)
    labels = next(m for m in at.multiselect if m.key and m.key.startswith("thresholds_normal_labels"))
    assert labels.value == ["running"]  # not the anomaly label
    assert metric(at, "Normal windows") == "650"
    assert metric(at, "Guaranteed threshold") == threshold_text(
        guaranteed_threshold(demo_normal_scores(), 0.01, 0.95).threshold
    )


def test_a_gmm_block_through_the_same_interface(app):
    at = app()
    at.selectbox(key="demo_block").set_value(at.selectbox(key="demo_block").options[1]).run()
    at = with_demo_normal_session(goto(at, "thresholds"))
    gmm = load_block(GMM_DEMO_DIR)
    found = guaranteed_threshold(demo_normal_scores(gmm), 0.01, 0.95)
    assert metric(at, "Guaranteed threshold") == threshold_text(found.threshold)


def test_scoring_with_a_normal_reference_shows_p_values(app, upload_demo_csv):
    at = upload_demo_csv(app())
    assert all(c != "p-value" for c in at.dataframe[-1].value.columns)  # no reference: no p-values
    at = with_demo_normal_session(at, page="scoring")
    top = next(d.value for d in at.dataframe if "anomaly score" in d.value.columns)
    assert list(top.columns[:3]) == ["row", "anomaly score", "p-value"]
    expected = p_values(top["anomaly score"].to_numpy(np.float32), demo_normal_scores())
    assert np.allclose(top["p-value"].to_numpy(), expected)
    assert any("the smallest possible is 1/651" in c.value.replace("\\", "") for c in at.caption)


def test_fleet_shows_the_interval_and_the_bound_based_budget(app):
    at = goto(app(), "fleet")
    no_problems(at)
    log = demo_fleet_log()
    policy = AlarmPolicy(load_demo_model().default_threshold, Smoothing(10, 7))
    interval = fleet_interval(log, simulate(log, policy))
    assert metric(at, "95% interval") == f"{interval.low:.3g} – {interval.high:.3g}"
    bound = lowest_threshold_by_bound(log, Smoothing(10, 7), 1.0)
    button = at.button(key="fleet_bound_use")
    assert button.label == f"Use {bound.threshold:.6g} (bound)"
    button.click().run()
    no_problems(at)
    slider = next(s for s in at.slider if "fleet::" in s.key)
    assert np.float32(slider.value) == np.float32(bound.threshold)
    high = float(metric(at, "95% interval").split(" – ")[1])
    assert high <= 1.0  # the interval's upper end keeps the budget there


def test_unit_words_from_a_file_are_text(app):
    """A grouping is a column of the visitor's file: its name is shown as text, never markdown."""
    frame = pd.read_csv(NORMAL_SESSION_CSV)
    frame["**bold** [x](http://127.0.0.1:9/)"] = np.where(np.arange(len(frame)) % 2, "a", "b")
    at = goto(app(), "thresholds")
    at.radio(key="thresholds_normal_source").set_value(FILE).run()
    at.file_uploader(key="thresholds_normal_upload").set_value(
        ("n.csv", frame.to_csv(index=False).encode(), "text/csv")
    ).run()
    at.radio(key="thresholds_guarantee_unit").set_value("One per group (its highest)").run()
    at.selectbox(key="thresholds_guarantee_per").set_value("**bold** [x](http://127.0.0.1:9/)").run()
    no_problems(at)
    labels = [m.label for m in at.metric]
    assert any("\\*\\*bold\\*\\*" in label for label in labels), labels
    assert metric(at, "n needed") == "299" and Unit(per="x").plural == "xs"


def test_studios_model_testing_windows_expected_normal(writable_api, app, use_api):
    """Project source: the windows Studio's model testing expects normal, counted per test sample too."""
    at = goto(use_api(app(LOCAL_API_SETTINGS), writable_api.base_url, API_KEY), "thresholds")
    at.radio(key="thresholds_normal_source").set_value("Studio model testing, expected normal").run()
    no_problems(at)
    model = load_demo_model()
    samples = [s for s in demo_test_samples() if not s.expected_anomaly]
    scores = np.concatenate([model.score(s.features) for s in samples])
    found = guaranteed_threshold(scores, 0.01, 0.95)
    assert metric(at, "Normal windows") == f"{len(scores):,}"
    assert metric(at, "Guaranteed threshold") == (threshold_text(found.threshold) if found.qualifies else "none")
    at.radio(key="thresholds_guarantee_unit").set_value("One per group (its highest)").run()
    no_problems(at)
    assert metric(at, "Normal test samples") == f"{len(samples):,}"
