"""Model-testing results -> labelled windows of one block; the client's write-back calls (against the
local API in memory: `local_api`)."""

from __future__ import annotations

import numpy as np
import pytest

from ei_anomaly import ApiError, AuthError, NotFoundError
from ei_anomaly.blocks.fetch import fetch_block
from ei_anomaly.demo import demo_test_samples, load_demo_model
from ei_anomaly.model_testing import NoTestResults, TestWindows, block_test_windows
from tests.support.constants import BLOCK_ID, PROJECT_ID, READONLY_KEY


def classification(block_id, scores, outcomes, labels=None):
    return {
        "learnBlock": {"id": block_id, "type": "anomaly", "name": "A", "dsp": [2], "title": "K-means"},
        "result": [{"anomaly": s} if s is not None else {"idle": 1.0} for s in scores],
        "expectedAnomalyOutcome": [{"startIndex": i, "endIndex": i, "label": o} for i, o in enumerate(outcomes)],
        "expectedLabels": [{"startIndex": i, "endIndex": i, "label": lab} for i, lab in enumerate(labels or [])],
    }


def answer(*items, **extra):
    return {"success": True, "result": list(items), **extra}


def item(sample_id, name, *classifications):
    return {
        "sampleId": sample_id,
        "sample": {"id": sample_id, "filename": name, "label": "x"},
        "classifications": list(classifications),
    }


def test_windows_of_the_right_block_with_scores_and_outcomes():
    response = answer(
        item(
            7,
            "shake.1",
            classification(3, [0.9, 0.8], ["anomaly", "anomaly"]),  # another block: ignored
            classification(4, [1.5, 0.2], ["anomaly", "anomaly"], ["shake", "shake"]),
        ),
        item(8, "idle.1", classification(4, [-0.1, 0.4, None], ["no anomaly", "No Anomaly", "no anomaly"])),
    )
    windows = block_test_windows(response, 4)
    assert isinstance(windows, TestWindows)
    assert windows.n_samples == 2 and windows.unscored == 1 and windows.unlabelled == 0
    assert windows.scores.tolist() == [1.5, 0.2, -0.1, 0.4]
    assert windows.truth.tolist() == [True, True, False, False]
    assert windows.frame["sample"].tolist() == ["shake.1", "shake.1", "idle.1", "idle.1"]
    assert windows.frame["label"].tolist()[:2] == ["shake", "shake"]
    assert windows.frame["window"].tolist() == [0, 1, 0, 1]


def test_outcomes_that_cannot_be_matched_are_counted_not_guessed():
    c = classification(4, [0.1, 0.2, 0.3], ["anomaly", "no anomaly"])  # 2 outcomes for 3 windows
    c2 = classification(4, [0.5], ["maybe"])
    windows = block_test_windows(
        answer(item(1, "a", c), item(2, "b", c2), item(3, "c", classification(4, [0.7], ["anomaly"]))), 4
    )
    assert isinstance(windows, TestWindows)
    assert windows.unlabelled == 4 and len(windows.frame) == 1


@pytest.mark.parametrize(
    ("response", "reason", "how"),
    [
        (answer(), "no model-testing results yet", "Classify all"),
        (
            answer(noResultsBecauseThresholdsChanged="should_rerun_full_job"),
            "cleared because a threshold",
            "Classify all",
        ),
        (answer(noResultsBecauseThresholdsChanged="can_regenerate_model_summary"), "cleared", "regenerate the summary"),
        (answer(item(1, "a", classification(3, [0.1], ["anomaly"]))), "nothing for learn block #4", "Classify all"),
        (answer(item(1, "a", classification(4, [None], ["anomaly"]))), "no window with both", "Classify all"),
    ],
)
def test_no_usable_results_say_why_and_what_to_do(response, reason, how):
    found = block_test_windows(response, 4)
    assert isinstance(found, NoTestResults)
    assert reason in found.reason and how in found.how_to


def test_demo_results_from_the_server_use_the_projects_own_scores(local_api):
    client = local_api.client()
    assert client.find_impulse_for_block(PROJECT_ID, BLOCK_ID) == 1
    windows = block_test_windows(client.get_model_testing_results(PROJECT_ID, 1), BLOCK_ID)
    assert isinstance(windows, TestWindows)
    samples = demo_test_samples()
    model = load_demo_model()  # once: parsing the metadata for each of the samples took a second
    expected = np.concatenate([model.score(s.features) for s in samples])
    assert np.array_equal(windows.scores.astype(np.float32), expected.astype(np.float32))  # bit for bit
    assert windows.truth.sum() == sum(len(s.features) for s in samples if s.expected_anomaly) > 0
    assert windows.n_samples == len(samples) and windows.unscored == windows.unlabelled == 0
    with pytest.raises(NotFoundError):
        client.get_model_testing_results(PROJECT_ID, 99)


def test_set_thresholds_writes_and_every_later_answer_shows_it(local_api):
    client = local_api.client()
    saved = client.set_thresholds(PROJECT_ID, 1, [(BLOCK_ID, "min_anomaly_score", 0.75)], allow_regenerate=False)
    assert saved.had_model_testing_results and saved.regenerate_model_testing_status == "regenerated"
    assert "regenerated" in saved.describe()
    assert fetch_block(client, PROJECT_ID, BLOCK_ID).default_threshold == 0.75
    config = client.get_anomaly_config(PROJECT_ID, BLOCK_ID)
    assert config["thresholds"][0]["value"] == 0.75
    results = client.get_model_testing_results(PROJECT_ID)
    assert results["result"][0]["classifications"][0]["thresholds"][0]["value"] == 0.75


def test_a_read_only_key_can_read_but_not_write(local_api):
    client = local_api.client(READONLY_KEY)
    assert fetch_block(client, PROJECT_ID, BLOCK_ID).default_threshold == 0.3
    with pytest.raises(AuthError, match="admin key") as err:
        client.set_thresholds(PROJECT_ID, 1, [(BLOCK_ID, "min_anomaly_score", 0.75)], allow_regenerate=False)
    assert err.value.status == 403 and READONLY_KEY not in str(err.value)
    assert fetch_block(client, PROJECT_ID, BLOCK_ID).default_threshold == 0.3  # nothing changed


def test_regeneration_by_job(local_api):
    local_api.stub.regenerate = "job"
    client = local_api.client()
    started = client.set_thresholds(PROJECT_ID, 1, [(BLOCK_ID, "min_anomaly_score", 0.5)], allow_regenerate=True)
    assert started.regenerate_model_testing_status == "started_job" and started.regenerate_job_id is not None
    assert f"job {started.regenerate_job_id}" in started.describe()
    needs = client.set_thresholds(PROJECT_ID, 1, [(BLOCK_ID, "min_anomaly_score", 0.6)], allow_regenerate=False)
    assert needs.regenerate_model_testing_status == "requires_job" and "start it in Studio" in needs.describe()
    found = block_test_windows(client.get_model_testing_results(PROJECT_ID), BLOCK_ID)
    assert isinstance(found, NoTestResults) and "cleared" in found.reason
    after = client.set_thresholds(PROJECT_ID, 1, [(BLOCK_ID, "min_anomaly_score", 0.7)], allow_regenerate=False)
    assert not after.had_model_testing_results and after.regenerate_model_testing_status == "not_regenerated"


def test_no_impulse_holds_an_unknown_block(local_api):
    client = local_api.client()
    with pytest.raises(NotFoundError, match="no impulse of project 48213 holds learn block 77"):
        client.find_impulse_for_block(PROJECT_ID, 77)
    with pytest.raises(ApiError, match="has no threshold 'nope'"):
        client.set_thresholds(PROJECT_ID, 1, [(BLOCK_ID, "nope", 1.0)], allow_regenerate=False)
