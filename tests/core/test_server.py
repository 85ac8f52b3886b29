"""The local API answers in the shapes of the official `edgeimpulse-api` models, the same over a
socket as in memory. The answers are the stub's, so most tests read them in memory (`local_api`)."""

from __future__ import annotations

import copy

import pytest

from ei_anomaly.local_api import EdgeImpulseStub
from tests.support.constants import API_KEY, BLOCK_ID, GMM_BLOCK_ID, PROJECT_ID, READONLY_KEY
from tests.support.local_api import MemoryApi, SocketApi

models = pytest.importorskip("edgeimpulse_api.models")


def get(api, path, key=API_KEY):
    return api.get(path, key)


def without_thresholds(body):
    body = copy.deepcopy(body)
    body["thresholds"] = []
    return body


def test_answers_validate_against_the_official_models(local_api):
    models.ListProjectsResponse.from_dict(get(local_api, "/api/projects").json())
    impulse = models.GetImpulseResponse.from_dict(get(local_api, f"/api/{PROJECT_ID}/impulse").json())
    assert any(b.type == "anomaly" for b in impulse.impulse.learn_blocks)
    block = f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}"
    config = get(local_api, block).json()
    models.AnomalyConfigResponse.from_dict(without_thresholds(config))
    meta = get(local_api, f"{block}/metadata").json()
    parsed = models.AnomalyModelMetadataResponse.from_dict(without_thresholds(meta))
    assert len(parsed.clusters) == 32 and parsed.axes == [0, 11, 22]
    graph = get(local_api, f"{block}/features/get-graph?featureAx1=0&featureAx2=11").json()
    assert models.AnomalyTrainedFeaturesResponse.from_dict(graph).total_sample_count > 0


def test_thresholds_have_the_documented_shape(local_api):
    meta = get(local_api, f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/metadata").json()
    for t in meta["thresholds"]:
        assert set(t) >= {"key", "description", "helpText", "value"}
        assert isinstance(t["value"], (int, float, str))
    # The official client cannot parse any threshold value; ours can (see test_client.py).
    with pytest.raises(Exception, match="(?i)match"):
        models.AnomalyModelMetadataResponse.from_dict(meta)


@pytest.mark.parametrize("key", ["", "not-the-key"])
def test_wrong_or_missing_key_is_401(either_api, key):
    resp = get(either_api, f"/api/{PROJECT_ID}/impulse", key=key)
    assert resp.status == 401
    assert resp.json()["success"] is False


def test_unknown_ids_are_404(local_api):
    assert get(local_api, "/api/1/impulse").status == 404
    assert get(local_api, f"/api/{PROJECT_ID}/training/anomaly/99/metadata").status == 404


def test_graph_needs_axes_of_the_block(local_api):
    resp = get(local_api, f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/features/get-graph?featureAx1=0&featureAx2=5")
    assert resp.status == 400
    assert "not one of the block's axes" in resp.json()["error"]


def post(api, path, body, key=API_KEY):
    return api.post(path, body, key)


def test_impulses_and_model_testing_validate_against_the_official_models(local_api):
    impulses = models.GetAllImpulsesResponse.from_dict(get(local_api, f"/api/{PROJECT_ID}/impulses").json())
    assert any(b.id == BLOCK_ID for b in impulses.impulses[0].learn_blocks)
    body = get(local_api, f"/api/{PROJECT_ID}/classify/all/result?impulseId=1").json()
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


def test_set_thresholds_request_and_answer_validate_against_the_official_models(local_api):
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
    resp = post(local_api, f"/api/{PROJECT_ID}/impulse/1/set-thresholds", request)
    assert resp.status == 200
    models.SetImpulseThresholdsResponse.from_dict(resp.json())
    meta = get(local_api, f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/metadata").json()
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
def test_bad_set_thresholds_bodies_get_400_and_change_nothing(local_api, body, message):
    resp = post(local_api, f"/api/{PROJECT_ID}/impulse/1/set-thresholds", body)
    assert resp.status == 400 and message in resp.json()["error"]
    meta = get(local_api, f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/metadata").json()
    assert meta["thresholds"][0]["value"] == 0.3


def test_writes_need_an_admin_key(either_api):
    path = f"/api/{PROJECT_ID}/impulse/1/set-thresholds"
    body = {"thresholds": [GOOD], "allowCreatingRegenerateModelTestingJobs": False}
    assert post(either_api, path, body, key=READONLY_KEY).status == 403
    assert post(either_api, path, body, key="wrong").status == 401
    assert post(either_api, f"/api/{PROJECT_ID}/impulse/2/set-thresholds", body).status == 404
    assert get(either_api, f"/api/{PROJECT_ID}/impulses", key=READONLY_KEY).status == 200


# --- the two front ends (HTTP server, in-memory transport) carry the same answers ----------------

SAME_PATHS = [
    "/api/projects",
    f"/api/{PROJECT_ID}/impulse",
    f"/api/{PROJECT_ID}/impulses",
    f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}",
    f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/metadata",
    f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/features/get-graph?featureAx1=0&featureAx2=11",
    f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/features/get-graph?featureAx1=0&featureAx2=5",
    f"/api/{PROJECT_ID}/training/anomaly/{GMM_BLOCK_ID}/gmm/metadata",
    f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/gmm/metadata",
    f"/api/{PROJECT_ID}/downloads",
    f"/api/{PROJECT_ID}/learn-data/{GMM_BLOCK_ID}/model/tflite-float",
    f"/api/{PROJECT_ID}/learn-data/{BLOCK_ID}/model/tflite-float",
    f"/api/{PROJECT_ID}/classify/all/result?impulseId=1",
    f"/api/{PROJECT_ID}/classify/all/result?impulseId=2",
    "/api/1/impulse",
    "/api/nowhere",
]


def seen(reply):
    """What a client can read of an answer: status, the headers the stub sets, the body's bytes."""
    headers = {k: reply.headers.get(k) for k in ("Content-Type", "Content-Length", "Retry-After")}
    return reply.status, headers, reply.content


@pytest.fixture
def both_front_ends():
    """One stub behind both front ends at once."""
    stub = EdgeImpulseStub(api_key=API_KEY, readonly_key=READONLY_KEY)
    memory, socket = MemoryApi(stub), SocketApi(stub)
    yield stub, memory, socket
    socket.close()


def test_memory_and_socket_give_the_same_answers(both_front_ends):
    _, memory, socket = both_front_ends
    statuses = set()
    for path in SAME_PATHS:
        for key in (API_KEY, READONLY_KEY, "not-the-key", ""):
            in_memory = seen(memory.get(path, key))
            assert in_memory == seen(socket.get(path, key)), f"{path} with key {key!r}"
            statuses.add(in_memory[0])
    assert statuses == {200, 400, 401, 404}
    assert seen(memory.get(SAME_PATHS[10]))[1]["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("fault", ["429", "5xx", "malformed", "unsuccessful"])
def test_memory_and_socket_give_the_same_faults(both_front_ends, fault):
    stub, memory, socket = both_front_ends
    stub.faults.retry_after = 2.5
    stub.faults.queue = [fault, fault]
    path = f"/api/{PROJECT_ID}/impulse"
    in_memory = seen(memory.get(path))
    assert in_memory == seen(socket.get(path))
    assert in_memory != seen(memory.get(path))  # the fault is spent: the next answer is the real one
    if fault == "429":
        assert in_memory[1]["Retry-After"] == "2.5"


def test_memory_and_socket_give_the_same_writes(both_front_ends):
    stub, memory, socket = both_front_ends
    path = f"/api/{PROJECT_ID}/impulse/1/set-thresholds"
    good = {"thresholds": [GOOD], "allowCreatingRegenerateModelTestingJobs": False}
    for body, key, status in [
        (good, READONLY_KEY, 403),
        (good, "not-the-key", 401),
        ([GOOD], API_KEY, 400),
        ({**good, "thresholds": [{**GOOD, "value": 1e39}]}, API_KEY, 400),
        (good, API_KEY, 200),
    ]:
        in_memory = seen(memory.post(path, body, key))
        assert in_memory[0] == status
        assert in_memory == seen(socket.post(path, body, key))
    assert stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == GOOD["value"]
