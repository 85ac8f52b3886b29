"""The API client against a real HTTP server on 127.0.0.1 (the project's own stub)."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import quote, quote_plus

import pytest

from ei_anomaly import ApiError, AuthError, NotFoundError
from ei_anomaly.blocks.fetch import fetch_block
from ei_anomaly.client import EdgeImpulseClient
from tests.support.constants import API_KEY, BLOCK_ID, GMM_BLOCK_ID, PROJECT_ID, free_port
from tests.support.hostile_http import answer, hostile


def client(server, key=API_KEY, **kw):
    kw.setdefault("backoff", 0.01)
    return EdgeImpulseClient(key, server.base_url, **kw)


def test_lists_anomaly_blocks_of_both_kinds_and_no_classifier(api_server):
    blocks = client(api_server).list_anomaly_blocks(PROJECT_ID)
    assert [(b.id, b.name, b.type) for b in blocks] == [
        (BLOCK_ID, "Anomaly detection", "anomaly"),
        (GMM_BLOCK_ID, "Anomaly detection (GMM)", "anomaly-gmm"),
    ]


def test_model_comes_with_axis_labels_and_thresholds(api_server, demo_model):
    model = fetch_block(client(api_server), PROJECT_ID, BLOCK_ID)
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


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_an_error_and_the_key_never_reaches_its_target(status):
    target_seen: list = []
    with hostile(answer(200, b'{"success": true, "projects": []}'), target_seen) as target:
        redirect = answer(status, b"", {"Location": f"{target}/api/projects"})
        with hostile(redirect) as api, pytest.raises(ApiError, match="redirect") as err:
            EdgeImpulseClient(API_KEY, api, backoff=0.01).list_projects()
    assert err.value.status == status
    assert API_KEY not in str(err.value)
    assert not any(API_KEY in str(h) for h in target_seen), "the key was sent to the redirect target"
    assert target_seen == []


def test_an_endless_answer_is_cut_at_the_size_bound():
    def endless(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        h.wfile.write(b'{"success": true, "pad": "')
        for _ in range(100_000):  # 6.4 GB if nobody stops reading; the client stops at 1 MiB
            h.wfile.write(b"x" * 65536)

    started = time.monotonic()
    with hostile(endless) as api, pytest.raises(ApiError, match="larger than 1 MiB"):
        EdgeImpulseClient(API_KEY, api, max_bytes=2**20).list_projects()
    assert time.monotonic() - started < 10


def test_a_declared_huge_answer_is_refused_before_reading():
    def liar(h):
        h.send_response(200)
        h.send_header("Content-Length", str(5 * 2**30))
        h.end_headers()
        h.wfile.write(b"{")

    with hostile(liar) as api, pytest.raises(ApiError, match="larger than"):
        EdgeImpulseClient(API_KEY, api, max_bytes=2**20).list_projects()


def test_a_trickled_answer_hits_the_total_deadline():
    """One byte every 0.4 s keeps every socket read inside its timeout; only a deadline stops it."""

    def trickle(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        for _ in range(50):  # 20 s in all
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.4)
        h.wfile.write(b"{}")

    started = time.monotonic()
    with hostile(trickle) as api, pytest.raises(ApiError, match="did not answer within 2 s"):
        EdgeImpulseClient(API_KEY, api, timeout=5, deadline=2).list_projects()
    assert time.monotonic() - started < 5


def test_trickled_headers_hit_the_total_deadline_too():
    """The status line and headers a byte at a time: no socket read ever waits long."""

    def trickle_headers(h):
        h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _ in range(50):  # 20 s in all
            h.wfile.write(b"a")
            h.wfile.flush()
            time.sleep(0.4)

    started = time.monotonic()
    with hostile(trickle_headers) as api, pytest.raises(ApiError, match="did not answer within 2 s"):
        EdgeImpulseClient(API_KEY, api, timeout=5, deadline=2).list_projects()
    assert time.monotonic() - started < 4


def test_retries_stop_at_the_total_deadline(api_server):
    api_server.stub.faults.mode = "429"
    api_server.stub.faults.retry_after = 1.0
    started = time.monotonic()
    with pytest.raises(ApiError, match="did not answer within 1.5 s"):
        client(api_server, deadline=1.5, max_retries=10).list_projects()
    assert time.monotonic() - started < 2


ODD_KEY = 'ei_k+y/with "quote" & space'


@pytest.mark.parametrize(
    ("status", "spell"),
    [
        (401, lambda k: k),
        (404, lambda k: quote(k, safe="")),
        (500, lambda k: quote_plus(k)),
        (200, lambda k: json.dumps(k)[1:-1]),
    ],
)
def test_the_key_is_scrubbed_in_every_spelling_an_echo_can_use(status, spell, caplog):
    caplog.set_level(logging.DEBUG)

    def echo(h):
        key = h.headers["x-api-key"]
        error = f"bad request from {spell(key)} (header x-api-key: {spell(key)})"
        body = json.dumps({"success": False, "error": error}).encode()
        answer(status, body, {"X-Echo": key})(h)

    with hostile(echo) as api, pytest.raises(ApiError) as err:
        EdgeImpulseClient(ODD_KEY, api, backoff=0.01, max_retries=1).list_projects()
    shown = str(err.value) + repr(err.value) + caplog.text
    assert "***" in str(err.value)
    for form in (ODD_KEY, quote(ODD_KEY, safe=""), quote_plus(ODD_KEY), json.dumps(ODD_KEY)[1:-1]):
        assert form not in shown


def test_a_non_json_answer_does_not_echo_the_key_from_its_content_type():
    def html(h):
        answer(200, b"<html>", {"Content-Type": f"text/html; echo={h.headers['x-api-key']}"})(h)

    with hostile(html) as api, pytest.raises(ApiError, match="not JSON") as err:
        EdgeImpulseClient(API_KEY, api).list_projects()
    assert API_KEY not in str(err.value)
