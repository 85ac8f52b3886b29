"""Several visitors of one server: one visitor's "Refresh from Edge Impulse" re-reads only their
own answers, and sessions never see each other's uploads, scores or thresholds."""

from __future__ import annotations

import collections

import pytest
from streamlit.testing.v1 import AppTest

from ei_anomaly.local_api import EdgeImpulseStub, LocalServer
from tests.support.apptest import LOCAL_API_SETTINGS, choose_api_source, start_app


@pytest.fixture
def counting_server():
    """The local API accepting any key, counting the requests made with each key."""
    stub = EdgeImpulseStub(api_key=None)
    calls: collections.Counter = collections.Counter()
    answer = stub.answer

    def counted(path, query, key):
        calls[key] += 1
        return answer(path, query, key)

    stub.answer = counted
    with LocalServer(stub) as server:
        yield server.base_url, calls


def visitor(base_url: str, key: str) -> AppTest:
    return choose_api_source(start_app(LOCAL_API_SETTINGS), base_url, key)


def test_refresh_rereads_only_this_visitors_answers(counting_server):
    base_url, calls = counting_server
    alice, bob = visitor(base_url, "ei_alice_key"), visitor(base_url, "ei_bob_key")
    assert not alice.exception and not bob.exception
    assert calls["ei_alice_key"] > 0 and calls["ei_bob_key"] > 0
    before = dict(calls)
    alice.run()
    bob.run()
    assert dict(calls) == before  # reruns are served from the cache
    refresh = next(b for b in alice.sidebar.button if b.label.startswith("Refresh"))
    refresh.click().run()
    assert not alice.exception
    assert calls["ei_alice_key"] > before["ei_alice_key"], "Refresh did not re-read Alice's project"
    bob.run()
    assert not bob.exception
    assert calls["ei_bob_key"] == before["ei_bob_key"], "Alice's Refresh dropped Bob's cached answers"
