"""Shared fixtures: the demo model, tiny hand-made models, and a real local API server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ei_anomaly import AnomalyModel, load_metadata
from ei_anomaly.demo import DEMO_DIR, load_demo_model
from ei_anomaly.server import EdgeImpulseStub, LocalServer

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "ei_test_0123456789abcdef"
PROJECT_ID = 48213
BLOCK_ID = 4


def tiny_metadata(**overrides: object) -> dict:
    """Two clusters on axes [2, 0, 1]: small enough to check by hand."""
    meta = {
        "success": True,
        "created": "2026-01-02T03:04:05Z",
        "scale": [1.0, 2.0, 4.0],
        "mean": [0.0, 1.0, 2.0],
        "axes": [2, 0, 1],
        "clusters": [{"center": [0.0, 0.0, 0.0], "maxError": 0.5}, {"center": [3.0, 4.0, 0.0], "maxError": 1.0}],
        "defaultMinimumConfidenceRating": 0.3,
        "thresholds": [{"key": "min_anomaly_score", "description": "d", "helpText": "h", "value": 0.4}],
    }
    meta.update(overrides)
    return meta


@pytest.fixture
def tiny_model() -> AnomalyModel:
    return load_metadata(tiny_metadata())


@pytest.fixture(scope="session")
def demo_model() -> AnomalyModel:
    return load_demo_model()


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO_DIR


@pytest.fixture
def api_server() -> Iterator[LocalServer]:
    """An in-process server whose faults a test can set."""
    server = LocalServer(EdgeImpulseStub(api_key=API_KEY)).start()
    yield server
    server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


READONLY_KEY = "ei_readonly_fedcba9876543210"


@pytest.fixture
def writable_api() -> Iterator[LocalServer]:
    """A fresh in-process server per test (writes change its state), with an admin and a read-only key."""
    server = LocalServer(EdgeImpulseStub(api_key=API_KEY, readonly_key=READONLY_KEY)).start()
    yield server
    server.stop()
