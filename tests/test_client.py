"""The API client against a real HTTP server on 127.0.0.1 (the project's own stub)."""

from __future__ import annotations

import logging
import time

import pytest

from ei_anomaly import ApiError, AuthError, NotFoundError
from ei_anomaly.client import EdgeImpulseClient
from tests.conftest import API_KEY, BLOCK_ID, PROJECT_ID, free_port


def client(server, key=API_KEY, **kw):
    kw.setdefault("backoff", 0.01)
    return EdgeImpulseClient(key, server.base_url, **kw)


def test_lists_only_kmeans_anomaly_blocks(api_server):
    blocks = client(api_server).list_anomaly_blocks(PROJECT_ID)
    assert [(b.id, b.name) for b in blocks] == [(BLOCK_ID, "Anomaly detection")]


def test_model_comes_with_axis_labels_and_thresholds(api_server, demo_model):
    model = client(api_server).get_model(PROJECT_ID, BLOCK_ID)
    assert model.axis_labels == ["accX RMS", "accY RMS", "accZ RMS"]
    assert model.metadata.thresholds[0].key == "min_anomaly_score"
    assert (model.centers == demo_model.centers).all()


def test_trained_feature_points_are_scaled(api_server, demo_model):
    graph = client(api_server).get_trained_features(PROJECT_ID, BLOCK_ID, 0, 22)
    assert graph["totalSampleCount"] == len(graph["data"]) > 100
    xs = [p["X"]["0"] for p in graph["data"]]
    assert abs(sum(xs) / len(xs)) < 1e-6  # StandardScaler output has zero mean on its training data


def test_rejected_key_is_an_auth_error_without_the_key(api_server, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "ei_wrong_secret_key_42"
    bad = client(api_server, key=secret)
    with pytest.raises(AuthError) as err:
        bad.get_metadata(PROJECT_ID, BLOCK_ID)
    assert err.value.status == 401
    assert "rejected" in str(err.value)
    assert secret not in str(err.value) + repr(bad) + caplog.text
    assert secret not in repr(err.value.__cause__) + repr(err.value.__context__)


def test_missing_key_is_refused_before_any_request():
    with pytest.raises(AuthError, match="no API key"):
        EdgeImpulseClient("  ", "http://127.0.0.1:9/v1")


@pytest.mark.parametrize(("project", "block", "what"), [(999, BLOCK_ID, "Project 999"), (PROJECT_ID, 77, "block 77")])
def test_unknown_ids_are_not_found(api_server, project, block, what):
    with pytest.raises(NotFoundError, match=what):
        client(api_server).get_metadata(project, block)


def test_429_then_success_honours_retry_after(api_server):
    api_server.stub.faults.queue = ["429"]
    api_server.stub.faults.retry_after = 0.4
    started = time.monotonic()
    meta = client(api_server).get_metadata(PROJECT_ID, BLOCK_ID)
    assert time.monotonic() - started >= 0.4
    assert meta["success"] is True


def test_5xx_is_retried_then_gives_up_with_a_message(api_server):
    api_server.stub.faults.queue = ["5xx", "5xx"]
    assert client(api_server).list_anomaly_blocks(PROJECT_ID)
    api_server.stub.faults.mode = "5xx"
    with pytest.raises(ApiError, match="HTTP 503"):
        client(api_server, max_retries=2).list_anomaly_blocks(PROJECT_ID)


def test_success_false_with_http_200_is_an_error(api_server):
    api_server.stub.faults.queue = ["unsuccessful"]
    with pytest.raises(ApiError, match="Job is still running"):
        client(api_server).get_metadata(PROJECT_ID, BLOCK_ID)


def test_malformed_json_is_an_error(api_server):
    api_server.stub.faults.queue = ["malformed"]
    with pytest.raises(ApiError, match="not JSON"):
        client(api_server).get_metadata(PROJECT_ID, BLOCK_ID)


def test_slow_answers_time_out(api_server):
    api_server.stub.faults.mode = "slow"
    api_server.stub.faults.delay = 1.0
    with pytest.raises(ApiError, match="timed out"):
        client(api_server, timeout=0.2, max_retries=1).list_projects()


def test_nothing_listening_is_a_connection_error():
    dead = EdgeImpulseClient(API_KEY, f"http://127.0.0.1:{free_port()}/v1", backoff=0.01, max_retries=1)
    with pytest.raises(ApiError, match="could not connect") as err:
        dead.list_projects()
    assert API_KEY not in str(err.value)


def test_bad_base_url_is_refused():
    with pytest.raises(ApiError, match="base URL"):
        EdgeImpulseClient(API_KEY, "studio.edgeimpulse.com")


def test_trained_points_frame_tolerates_odd_answers(api_server, demo_model):
    from ei_anomaly.demo import trained_points_frame

    graph = client(api_server).get_trained_features(PROJECT_ID, BLOCK_ID, 11, 22)
    frame = trained_points_frame(graph, 11, 22)
    assert len(frame) == graph["totalSampleCount"]
    odd = {"data": [{"X": {"11": 1.0}}, {"label": 3}, "junk", {"X": {"11": 0.5, "22": 2}}]}
    assert trained_points_frame(odd, 11, 22).values.tolist() == [[0.5, 2.0]]
    assert trained_points_frame({}, 0, 1).empty
