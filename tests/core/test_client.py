"""The API client. Most tests talk to the local API in memory (`local_api`: `StubTransport`, a fake
clock); those marked `either_api` run over a real socket as well and must behave alike. The tests
below "What only a socket shows" use real HTTP servers on 127.0.0.1, each saying why."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest

from ei_anomaly import ApiError, AuthError, NotFoundError
from ei_anomaly.blocks.fetch import fetch_block
from ei_anomaly.client import RETRY_STATUSES, EdgeImpulseClient
from ei_anomaly.local_api import StubTransport
from ei_anomaly.transport import Response
from tests.support.constants import API_KEY, BLOCK_ID, GMM_BLOCK_ID, PROJECT_ID, free_port
from tests.support.hostile_http import answer, hostile
from tests.support.local_api import HandlerTransport


def client(api, key=API_KEY, **kw):
    kw.setdefault("backoff", 0.01)
    return api.client(key, **kw)


def test_lists_anomaly_blocks_of_both_kinds_and_no_classifier(either_api):
    blocks = client(either_api).list_anomaly_blocks(PROJECT_ID)
    assert [(b.id, b.name, b.type) for b in blocks] == [
        (BLOCK_ID, "Anomaly detection", "anomaly"),
        (GMM_BLOCK_ID, "Anomaly detection (GMM)", "anomaly-gmm"),
    ]


def test_model_comes_with_axis_labels_and_thresholds(local_api, demo_model):
    model = fetch_block(client(local_api), PROJECT_ID, BLOCK_ID)
    assert model.axis_labels == ["accX RMS", "accY RMS", "accZ RMS"]
    assert model.metadata.thresholds[0].key == "min_anomaly_score"
    assert (model.centers == demo_model.centers).all()


def test_trained_feature_points_are_scaled(local_api, demo_model):
    graph = client(local_api).get_trained_features(PROJECT_ID, BLOCK_ID, 0, 22)
    assert graph["totalSampleCount"] == len(graph["data"]) > 100
    xs = [p["X"]["0"] for p in graph["data"]]
    assert abs(sum(xs) / len(xs)) < 1e-6  # StandardScaler output has zero mean on its training data


def test_requests_carry_the_key_in_the_header_only_the_query_and_the_json_body(local_api):
    recorded = HandlerTransport(local_api.transport.handle_request)
    api = EdgeImpulseClient(API_KEY, StubTransport.BASE_URL, recorded)
    api.get_trained_features(PROJECT_ID, BLOCK_ID, 0, 22)
    saved = api.set_thresholds(PROJECT_ID, 1, [(BLOCK_ID, "min_anomaly_score", 0.5)], allow_regenerate=True)
    assert saved.regenerate_model_testing_status == "regenerated"
    get, post = recorded.seen
    url = urlsplit(get.url)
    assert (get.method, url.path) == ("GET", f"/v1/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/features/get-graph")
    assert parse_qs(url.query) == {"featureAx1": ["0"], "featureAx2": ["22"]}
    assert get.header("X-API-Key") == API_KEY and get.body is None
    assert all(API_KEY not in r.url for r in recorded.seen)
    assert (post.method, urlsplit(post.url).path) == ("POST", f"/v1/api/{PROJECT_ID}/impulse/1/set-thresholds")
    assert post.header("content-type") == "application/json"
    assert json.loads(post.body) == {
        "thresholds": [{"blockId": BLOCK_ID, "key": "min_anomaly_score", "value": 0.5}],
        "allowCreatingRegenerateModelTestingJobs": True,
    }


def test_rejected_key_is_an_auth_error_without_the_key(either_api, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "ei_wrong_secret_key_42"
    bad = client(either_api, key=secret)
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
def test_unknown_ids_are_not_found(local_api, project, block, what):
    with pytest.raises(NotFoundError, match=what):
        client(local_api).get_metadata(project, block)


def test_429_then_success_honours_retry_after(either_api):
    either_api.stub.faults.queue = ["429"]
    either_api.stub.faults.retry_after = 0.4
    started = either_api.clock.monotonic()
    meta = client(either_api).get_metadata(PROJECT_ID, BLOCK_ID)
    assert either_api.clock.monotonic() - started >= 0.4
    assert either_api.clock.sleeps == [0.4]
    assert meta["success"] is True


def test_5xx_is_retried_then_gives_up_with_a_message(either_api):
    either_api.stub.faults.queue = ["5xx", "5xx"]
    assert client(either_api).list_anomaly_blocks(PROJECT_ID)
    either_api.stub.faults.mode = "5xx"
    with pytest.raises(ApiError, match="HTTP 503: Service temporarily unavailable") as err:
        client(either_api, max_retries=2).list_anomaly_blocks(PROJECT_ID)
    assert err.value.status == 503


def test_retries_back_off_exponentially_up_to_max_wait(local_api):
    local_api.stub.faults.queue = ["5xx", "5xx", "5xx"]
    assert client(local_api, backoff=0.5, max_wait=1.5).list_projects()
    assert local_api.clock.sleeps == [0.5, 1.0, 1.5]


def test_only_the_last_allowed_attempt_reads_the_body_of_a_retryable_answer(local_api):
    """A 5xx answer that will be retried is not read (its body is only waited for); the last is, for its message."""
    local_api.stub.faults.mode = "5xx"
    recorded = HandlerTransport(local_api.transport.handle_request)
    api = EdgeImpulseClient(
        API_KEY,
        local_api.base_url,
        recorded,
        max_retries=2,
        clock=local_api.clock.monotonic,
        sleep=local_api.clock.sleep,
    )
    with pytest.raises(ApiError, match="Service temporarily unavailable"):
        api.list_projects()
    assert [r.skip_body_on for r in recorded.seen] == [RETRY_STATUSES, RETRY_STATUSES, frozenset()]


def test_success_false_with_http_200_is_an_error(local_api):
    local_api.stub.faults.queue = ["unsuccessful"]
    with pytest.raises(ApiError, match="Job is still running"):
        client(local_api).get_metadata(PROJECT_ID, BLOCK_ID)


def test_malformed_json_is_an_error(local_api):
    local_api.stub.faults.queue = ["malformed"]
    with pytest.raises(ApiError, match="not JSON"):
        client(local_api).get_metadata(PROJECT_ID, BLOCK_ID)


def test_slow_answers_time_out(either_api):
    """In memory the stub's delay is modelled as a socket read timing out; over a socket it is one."""
    either_api.stub.faults.mode = "slow"
    either_api.stub.faults.delay = 1.0
    with pytest.raises(ApiError, match="timed out to .* after 2 attempts"):
        client(either_api, timeout=0.2, max_retries=1).list_projects()


def test_an_answer_over_the_size_bound_is_refused(local_api):
    with pytest.raises(ApiError, match=f"larger than {1024 / 2**20:g} MiB; refusing to read it") as err:
        client(local_api, max_bytes=1024).get_metadata(PROJECT_ID, BLOCK_ID)
    assert err.value.status == 200
    assert client(local_api, max_bytes=2**20).get_metadata(PROJECT_ID, BLOCK_ID)["success"] is True


def test_retries_stop_at_the_total_deadline(local_api):
    local_api.stub.faults.mode = "429"
    local_api.stub.faults.retry_after = 1.0
    started = local_api.clock.monotonic()
    with pytest.raises(ApiError, match="did not answer within 1.5 s"):
        client(local_api, deadline=1.5, max_retries=10).list_projects()
    assert local_api.clock.monotonic() - started < 2
    assert local_api.clock.sleeps == [1.0]  # a second wait would pass the deadline: not waited for


def test_a_slow_answer_past_the_deadline_is_a_timeout(local_api):
    local_api.stub.faults.mode = "slow"
    local_api.stub.faults.delay = 5.0
    with pytest.raises(ApiError, match="did not answer within 2 s"):
        client(local_api, timeout=10, deadline=2).list_projects()
    assert local_api.clock.sleeps == [2.0]


def test_bad_base_url_is_refused():
    with pytest.raises(ApiError, match="base URL"):
        EdgeImpulseClient(API_KEY, "studio.edgeimpulse.com")


def test_trained_points_frame_tolerates_odd_answers(local_api, demo_model):
    from ei_anomaly.demo import trained_points_frame

    graph = client(local_api).get_trained_features(PROJECT_ID, BLOCK_ID, 11, 22)
    frame = trained_points_frame(graph, 11, 22)
    assert len(frame) == graph["totalSampleCount"]
    odd = {"data": [{"X": {"11": 1.0}}, {"label": 3}, "junk", {"X": {"11": 0.5, "22": 2}}]}
    assert trained_points_frame(odd, 11, 22).values.tolist() == [[0.5, 2.0]]
    assert trained_points_frame({}, 0, 1).empty


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

    def echo(request):
        key = request.header("x-api-key")
        error = f"bad request from {spell(key)} (header x-api-key: {spell(key)})"
        body = json.dumps({"success": False, "error": error}).encode()
        return Response(status, {"Content-Type": "application/json", "X-Echo": key}, body)

    echoing = EdgeImpulseClient(ODD_KEY, "https://echo.invalid/v1", HandlerTransport(echo), backoff=0, max_retries=1)
    with pytest.raises(ApiError) as err:
        echoing.list_projects()
    shown = str(err.value) + repr(err.value) + caplog.text
    assert "***" in str(err.value)
    for form in (ODD_KEY, quote(ODD_KEY, safe=""), quote_plus(ODD_KEY), json.dumps(ODD_KEY)[1:-1]):
        assert form not in shown


def test_a_non_json_answer_does_not_echo_the_key_from_its_content_type():
    def html(request):
        return Response(200, {"Content-Type": f"text/html; echo={request.header('x-api-key')}"}, b"<html>")

    with pytest.raises(ApiError, match="not JSON") as err:
        EdgeImpulseClient(API_KEY, "https://echo.invalid/v1", HandlerTransport(html)).list_projects()
    assert API_KEY not in str(err.value)


# --- What only a socket shows: each test says why it needs one ------------------------------------


def test_nothing_listening_is_a_connection_error():
    """Only a socket can be refused: a closed port, through HttpTransport."""
    dead = EdgeImpulseClient(API_KEY, f"http://127.0.0.1:{free_port()}/v1", backoff=0.01, max_retries=1)
    with pytest.raises(ApiError, match="could not connect") as err:
        dead.list_projects()
    assert API_KEY not in str(err.value)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_an_error_and_the_key_never_reaches_its_target(status):
    """A socket: only `HttpTransport` could follow a Location, and only a second server can show that
    the key never reaches it."""
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
    """A socket: the bound must stop `HttpTransport`'s read loop, not only refuse a finished body."""

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
    """A socket: `HttpTransport` refuses on the Content-Length header, before any body arrives."""

    def liar(h):
        h.send_response(200)
        h.send_header("Content-Length", str(5 * 2**30))
        h.end_headers()
        h.wfile.write(b"{")

    with hostile(liar) as api, pytest.raises(ApiError, match="larger than"):
        EdgeImpulseClient(API_KEY, api, max_bytes=2**20).list_projects()


def test_a_trickled_answer_hits_the_total_deadline():
    """A socket: one byte every 0.2 s keeps every socket read inside its timeout; only the transport's
    deadline (a watchdog and `read1`) stops it."""

    def trickle(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        for _ in range(100):  # 20 s in all
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.2)
        h.wfile.write(b"{}")

    started = time.monotonic()
    with hostile(trickle) as api, pytest.raises(ApiError, match="did not answer within 1 s"):
        EdgeImpulseClient(API_KEY, api, timeout=5, deadline=1).list_projects()
    assert time.monotonic() - started < 4


def test_trickled_headers_hit_the_total_deadline_too():
    """A socket: the status line and headers a byte at a time, so no socket read ever waits long; only
    the watchdog cutting the connection stops it."""

    def trickle_headers(h):
        h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _ in range(100):  # 20 s in all
            h.wfile.write(b"a")
            h.wfile.flush()
            time.sleep(0.2)

    started = time.monotonic()
    with hostile(trickle_headers) as api, pytest.raises(ApiError, match="did not answer within 1 s"):
        EdgeImpulseClient(API_KEY, api, timeout=5, deadline=1).list_projects()
    assert time.monotonic() - started < 3
