"""Shared fixtures: the demo model, tiny hand-made models, the local API (in memory, or a real server
where a test needs a socket), and the app started through AppTest with its sidebar set up. Plain
helpers live in `tests/support/`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from streamlit.testing.v1 import AppTest

from ei_anomaly import AnomalyBlock, load_metadata
from ei_anomaly.demo import DEMO_DIR, load_demo_model
from ei_anomaly.local_api import EdgeImpulseStub, LocalServer
from tests.support import apptest
from tests.support.constants import API_KEY, READONLY_KEY, ROOT, free_port, tiny_metadata
from tests.support.local_api import API_KINDS, MemoryApi, SocketApi, new_stub

# The OpenMP wait policy the CLI sets for itself (ei_anomaly/cli.py), for this process too, read
# when numba first loads its threading layer: the commands the tests run in-process see what a
# user's process sees, and many small kernel calls (an explanation per row, the local server's
# model-testing answers) do not wait on spinning threads, which cost milliseconds a call on a
# busy 2-core machine. The subprocesses started here inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture
def tiny_model() -> AnomalyBlock:
    return load_metadata(tiny_metadata())


@pytest.fixture(scope="session")
def demo_model() -> AnomalyBlock:
    return load_demo_model()


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO_DIR


@pytest.fixture
def local_api() -> MemoryApi:
    """A fresh local API in memory (`StubTransport`, a fake clock): what most API tests talk to.
    Its stub takes an admin key and a read-only one; a test may set its faults or change it."""
    return MemoryApi(new_stub())


@pytest.fixture(params=sorted(API_KINDS))
def either_api(request: pytest.FixtureRequest) -> Iterator[MemoryApi | SocketApi]:
    """The local API in memory and over a real socket, one test each: the two must answer alike."""
    api = API_KINDS[request.param](new_stub())
    yield api
    api.close()


@pytest.fixture(scope="session")
def served_api() -> Iterator[str]:
    """`python -m ei_anomaly serve` in a subprocess, as a user would start it; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ei_anomaly", "serve", "--port", str(port), "--api-key", API_KEY],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/api/projects", timeout=1)
            break
        except requests.ConnectionError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()) from None
            time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def writable_api() -> Iterator[LocalServer]:
    """A fresh in-process server per test (writes change its state), with an admin and a read-only key:
    for a client in another process (the CLI, the app in a browser) or in Streamlit's AppTest."""
    server = LocalServer(EdgeImpulseStub(api_key=API_KEY, readonly_key=READONLY_KEY)).start()
    yield server
    server.stop()


# --- the app through AppTest: start-up and sidebar set-up, as factories


@pytest.fixture
def app() -> Callable[..., AppTest]:
    """`app(secrets=None)`: the app started on its overview page (demo source)."""
    return apptest.start_app


@pytest.fixture
def use_json_source() -> Callable[[AppTest, bytes], AppTest]:
    """`use_json_source(at, content)`: the sidebar's source is an uploaded metadata JSON file."""
    return apptest.choose_json_source


@pytest.fixture
def use_api() -> Callable[[AppTest, str, str], AppTest]:
    """`use_api(at, base_url, key)`: the sidebar's source is the project at `base_url` (e.g. `served_api`)."""
    return apptest.choose_api_source


@pytest.fixture
def upload_demo_csv() -> Callable[[AppTest], AppTest]:
    """`upload_demo_csv(at)`: the demo's anomaly session scored on the scoring page."""
    return apptest.score_demo_csv
