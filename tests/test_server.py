"""The local server answers in the shapes of the official `edgeimpulse-api` models."""

from __future__ import annotations

import copy

import pytest
import requests

from tests.conftest import API_KEY, BLOCK_ID, PROJECT_ID

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
