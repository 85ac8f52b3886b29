"""The local server answers in the shapes of the official `edgeimpulse-api` models."""

from __future__ import annotations

import copy

import pytest
import requests

from tests.support.constants import API_KEY, BLOCK_ID, PROJECT_ID, READONLY_KEY

models = pytest.importorskip("edgeimpulse_api.models")


def get(base, path, key=API_KEY):
    return requests.get(f"{base}{path}", headers={"x-api-key": key}, timeout=10)


def without_thresholds(body):
    body = copy.deepcopy(body)
    body["thresholds"] = []
    return body


def test_answers_validate_against_the_official_models(served_api):
    models.ListProjectsResponse.from_dict(get(served_api, "/api/projects").json())
    impulse = models.GetImpulseResponse.from_dict(get(served_api, f"/api/{PROJECT_ID}/impulse").json())
    assert any(b.type == "anomaly" for b in impulse.impulse.learn_blocks)
    block = f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}"
    config = get(served_api, block).json()
    models.AnomalyConfigResponse.from_dict(without_thresholds(config))
    meta = get(served_api, f"{block}/metadata").json()
    parsed = models.AnomalyModelMetadataResponse.from_dict(without_thresholds(meta))
    assert len(parsed.clusters) == 32 and parsed.axes == [0, 11, 22]
    graph = get(served_api, f"{block}/features/get-graph?featureAx1=0&featureAx2=11").json()
    assert models.AnomalyTrainedFeaturesResponse.from_dict(graph).total_sample_count > 0


def test_thresholds_have_the_documented_shape(served_api):
    meta = get(served_api, f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/metadata").json()
    for t in meta["thresholds"]:
        assert set(t) >= {"key", "description", "helpText", "value"}
        assert isinstance(t["value"], (int, float, str))
    # The official client cannot parse any threshold value; ours can (see test_client.py).
    with pytest.raises(Exception, match="(?i)match"):
        models.AnomalyModelMetadataResponse.from_dict(meta)


@pytest.mark.parametrize("key", ["", "not-the-key"])
def test_wrong_or_missing_key_is_401(served_api, key):
    resp = get(served_api, f"/api/{PROJECT_ID}/impulse", key=key)
    assert resp.status_code == 401
    assert resp.json()["success"] is False


def test_unknown_ids_are_404(served_api):
    assert get(served_api, "/api/1/impulse").status_code == 404
    assert get(served_api, f"/api/{PROJECT_ID}/training/anomaly/99/metadata").status_code == 404


def test_graph_needs_axes_of_the_block(served_api):
    resp = get(
        served_api, f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/features/get-graph?featureAx1=0&featureAx2=5"
    )
    assert resp.status_code == 400
    assert "not one of the block's axes" in resp.json()["error"]


def post(base, path, body, key=API_KEY):
    return requests.post(f"{base}{path}", json=body, headers={"x-api-key": key}, timeout=10)


def test_impulses_and_model_testing_validate_against_the_official_models(served_api):
    impulses = models.GetAllImpulsesResponse.from_dict(get(served_api, f"/api/{PROJECT_ID}/impulses").json())
    assert any(b.id == BLOCK_ID for b in impulses.impulses[0].learn_blocks)
    body = get(served_api, f"/api/{PROJECT_ID}/classify/all/result?impulseId=1").json()
    # per-block thresholds carry values the official client cannot parse (as in the metadata)
    for r in body["result"]:
        for c in r["classifications"]:
            c["thresholds"] = []
    parsed = models.ClassifyJobResponse.from_dict(body)
    anomaly = [c for r in parsed.result for c in r.classifications if c.learn_block.id == BLOCK_ID]
    assert len(anomaly) == len(parsed.result) > 20
    outcomes = {o.label for c in anomaly for o in c.expected_anomaly_outcome}
    assert outcomes == {"anomaly", "no anomaly"}
    assert all(len(c.result) == len(c.expected_anomaly_outcome) == c.result_count for c in anomaly)


def test_set_thresholds_request_and_answer_validate_against_the_official_models(writable_api):
    request = {
        "thresholds": [{"blockId": BLOCK_ID, "key": "min_anomaly_score", "value": 0.42}],
        "allowCreatingRegenerateModelTestingJobs": False,
    }

    # The official client cannot parse any threshold value here either ("Multiple matches"), so
    # check the field names against its model and the value's type by hand.
    def aliases(model):
        return {f.alias for f in model.__fields__.values()}

    assert set(request) <= aliases(models.SetImpulseThresholdsRequest)
    assert set(request["thresholds"][0]) == aliases(models.SetImpulseThresholdsRequestThresholdsInner)
    with pytest.raises(Exception, match="(?i)match"):
        models.SetImpulseThresholdsRequest.from_dict(request)
    resp = post(writable_api.base_url, f"/api/{PROJECT_ID}/impulse/1/set-thresholds", request)
    assert resp.status_code == 200
    models.SetImpulseThresholdsResponse.from_dict(resp.json())
    meta = get(writable_api.base_url, f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/metadata").json()
    assert meta["thresholds"][0]["value"] == 0.42


GOOD = {"blockId": BLOCK_ID, "key": "min_anomaly_score", "value": 0.5}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"thresholds": [GOOD]}, "allowCreatingRegenerateModelTestingJobs"),
        ({"thresholds": [], "allowCreatingRegenerateModelTestingJobs": False}, "non-empty"),
        ({"thresholds": [{**GOOD, "value": None}], "allowCreatingRegenerateModelTestingJobs": False}, "value"),
        ({"thresholds": [{**GOOD, "blockId": "4"}], "allowCreatingRegenerateModelTestingJobs": False}, "blockId"),
        ({"thresholds": [{**GOOD, "key": "nope"}], "allowCreatingRegenerateModelTestingJobs": False}, "no threshold"),
        ({"thresholds": [{**GOOD, "blockId": 9}], "allowCreatingRegenerateModelTestingJobs": False}, "not part"),
        ([GOOD], "JSON object"),
    ],
)
def test_bad_set_thresholds_bodies_get_400_and_change_nothing(writable_api, body, message):
    resp = post(writable_api.base_url, f"/api/{PROJECT_ID}/impulse/1/set-thresholds", body)
    assert resp.status_code == 400 and message in resp.json()["error"]
    meta = get(writable_api.base_url, f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/metadata").json()
    assert meta["thresholds"][0]["value"] == 0.3


def test_writes_need_an_admin_key(writable_api):
    path = f"/api/{PROJECT_ID}/impulse/1/set-thresholds"
    body = {"thresholds": [GOOD], "allowCreatingRegenerateModelTestingJobs": False}
    assert post(writable_api.base_url, path, body, key=READONLY_KEY).status_code == 403
    assert post(writable_api.base_url, path, body, key="wrong").status_code == 401
    assert post(writable_api.base_url, f"/api/{PROJECT_ID}/impulse/2/set-thresholds", body).status_code == 404
    assert get(writable_api.base_url, f"/api/{PROJECT_ID}/impulses", key=READONLY_KEY).status_code == 200
