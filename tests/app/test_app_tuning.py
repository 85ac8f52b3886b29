"""Thresholds page: Studio model-testing results as a score source, threshold suggestions, and the
save-to-Edge-Impulse flow, through AppTest against the local server."""

from __future__ import annotations

import numpy as np
import pytest

from ei_anomaly.demo import demo_test_samples, load_demo_model
from ei_anomaly.evaluation import binary_counts, shortest_float32, threshold_for_false_alarm_rate, threshold_for_recall
from ei_anomaly.review import ScoreSource
from tests.support.apptest import LOCAL_API_SETTINGS, charts, expected_anomalies, goto, metric, no_problems
from tests.support.constants import API_KEY, BLOCK_ID, READONLY_KEY

MODEL_TESTING = ScoreSource.MODEL_TESTING


def demo_test_windows():
    model = load_demo_model()
    samples = demo_test_samples()
    scores = np.concatenate([model.score(s.features) for s in samples])
    truth = np.concatenate([[s.expected_anomaly] * len(s.features) for s in samples])
    return scores, truth


@pytest.fixture
def thresholds_on_model_testing(app, use_api):
    """`thresholds_on_model_testing(base_url, key=API_KEY)`: the thresholds page, scoring Studio's
    model-testing results."""

    def start(base_url, key=API_KEY):
        at = goto(use_api(app(LOCAL_API_SETTINGS), base_url, key), "thresholds")
        at.radio(key="thresholds_score_source").set_value(MODEL_TESTING).run()
        return at

    return start


def test_model_testing_results_drive_the_metrics_charts_and_sample_table(writable_api, thresholds_on_model_testing):
    at = thresholds_on_model_testing(writable_api.base_url)
    no_problems(at)
    scores, truth = demo_test_windows()
    counts = binary_counts(scores, truth, 0.3)
    assert metric(at, "Flagged as anomaly") == f"{counts.tp + counts.fp:,} / {len(scores):,}"
    assert metric(at, "Recall") == f"{counts.recall:.0%}"
    assert metric(at, "False alarms") == str(counts.fp)
    assert len(charts(at)) == 4  # histogram, PR curve, confusion matrix, the false-alarm bound
    assert any("test samples (Studio model testing)" in c.value.replace("\\", "") for c in at.caption)  # as shown
    worst = next(d.value for d in at.dataframe if "missed anomalies" in d.value.columns)
    assert worst["missed anomalies"].sum() == counts.fn and worst["false alarms"].sum() == counts.fp
    at.slider[0].set_value(1.0).run()
    after = binary_counts(scores, truth, 1.0)
    assert metric(at, "Recall") == f"{after.recall:.0%}"
    worst = next(d.value for d in at.dataframe if "missed anomalies" in d.value.columns)
    assert worst["missed anomalies"].sum() == after.fn > counts.fn
    assert worst.iloc[0]["sample"].startswith(("circle", "tap"))


@pytest.mark.parametrize(
    ("state", "says"),
    [("none", "no model-testing results yet"), ("can_regenerate_model_summary", "cleared because a threshold")],
)
def test_missing_or_invalidated_results_say_how_to_produce_them(writable_api, state, says, thresholds_on_model_testing):
    writable_api.stub.model_testing = state
    at = thresholds_on_model_testing(writable_api.base_url)
    assert not at.exception and not at.error
    text = " ".join(i.value for i in at.info)
    assert says in text and "Model testing" in text
    assert [c.key for c in charts(at)] == ["thresholds_guarantee_chart"]  # from the validation windows only


def test_suggestion_is_one_click_from_the_slider(app):
    at = goto(app(), "thresholds")  # demo: validation predictions, labelled
    model = load_demo_model()
    preds = model.metadata.model_validation_metrics[1].predictions
    scores = np.array([p.anomaly_scores[0][0] for p in preds])
    truth = np.array([p.label == "anomaly" for p in preds])
    expected = threshold_for_false_alarm_rate(scores, truth, 1 / 1000)
    at.button(key="helper_use").click().run()
    no_problems(at)
    assert at.slider[0].value == shortest_float32(expected.threshold)
    assert metric(at, "False alarms") == str(expected.counts.fp)
    assert metric(at, "Recall") == f"{expected.counts.recall:.0%}"
    at.radio(key="helper_goal").set_value("Recall target").run()
    at.number_input(key="helper_recall_percent").set_value(90.0).run()
    target = threshold_for_recall(scores, truth, 0.9)
    assert target.threshold > expected.threshold
    at.button(key="helper_use").click().run()
    assert at.slider[0].value == shortest_float32(target.threshold)
    assert metric(at, "Recall") == f"{target.counts.recall:.0%}" and target.counts.recall >= 0.9
    assert at.button(key="helper_use").disabled  # already there
    assert not [b for b in at.button if b.key == "save_open"]  # the demo cannot be saved anywhere


def test_save_to_edge_impulse_confirms_writes_and_every_page_shows_the_new_value(
    writable_api, thresholds_on_model_testing
):
    at = thresholds_on_model_testing(writable_api.base_url)
    at.slider[0].set_value(0.65).run()
    at.button(key="save_open").click().run()
    no_problems(at)
    dialog = " ".join(m.value for m in at.markdown).replace("\\", "")  # as shown: escapes removed
    assert "Anomaly detection · project 48213" in dialog and "min_anomaly_score" in dialog
    assert "0.3 → **0.65**" in dialog
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.3  # nothing written yet
    at.button(key="save_confirm").click().run()
    no_problems(at)
    notice = " ".join(s.value for s in at.success).replace("\\", "")  # as shown: escapes removed
    assert "0.3 → 0.65" in notice and "regenerated" in notice
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.65
    assert not [b for b in at.button if b.key == "save_confirm"]  # the dialog closed
    assert any("min_anomaly_score=0.65" in c.value for c in at.code)
    at = goto(at, "overview")
    assert metric(at, "Anomaly threshold") == "0.65"  # re-read from the API, not a stale cache


def test_cancel_writes_nothing(writable_api, thresholds_on_model_testing):
    at = thresholds_on_model_testing(writable_api.base_url)
    assert at.button(key="save_open").disabled  # the slider is at the block's value: nothing to save
    at.slider[0].set_value(0.4).run()
    at.button(key="save_open").click().run()
    at.button(key="save_cancel").click().run()
    assert not [b for b in at.button if b.key == "save_confirm"]
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.3


def test_a_read_only_key_gets_a_clear_message_and_nothing_changes(writable_api, thresholds_on_model_testing):
    at = thresholds_on_model_testing(writable_api.base_url, READONLY_KEY)
    no_problems(at)  # reading works with a read-only key
    at.slider[0].set_value(0.8).run()
    at.button(key="save_open").click().run()
    at.button(key="save_confirm").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("admin key" in e for e in errors), errors
    assert not at.success
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.3
    assert READONLY_KEY not in " ".join(errors)
    at.button(key="save_cancel").click().run()
    at = goto(at, "overview")
    assert metric(at, "Anomaly threshold") == "0.3"


def test_allowing_a_regeneration_job_is_sent_and_its_status_shown(writable_api, thresholds_on_model_testing):
    writable_api.stub.regenerate = "job"  # a test set too large to regenerate inline
    at = thresholds_on_model_testing(writable_api.base_url)
    at.slider[0].set_value(0.5).run()
    at.button(key="save_open").click().run()
    at.checkbox(key="save_threshold_allow_regenerate_job").check().run()
    at.button(key="save_confirm").click().run()
    no_problems(at)
    notice = " ".join(s.value for s in at.success).replace("\\", "")  # as shown: escapes removed
    assert "started a job" in notice and "job 9001" in notice


def test_the_last_upload_is_a_score_source_without_labels(app, upload_demo_csv):
    at = goto(upload_demo_csv(app()), "thresholds")
    at.radio(key="thresholds_score_source").set_value(ScoreSource.UPLOAD).run()
    no_problems(at)
    assert any("592 scored rows of your last upload" in c.value for c in at.caption)  # 3 of 595 unscorable
    assert metric(at, "Flagged as anomaly") == f"{expected_anomalies(0.3)} / 592"
    assert not [b for b in at.button if b.key == "helper_use"]  # suggestions need labels
    assert len(charts(at)) == 2  # the histogram only, and the false-alarm bound (validation windows)
