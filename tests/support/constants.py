"""Values and small builders shared by the tests: the repository root, the local API's key and ids,
a hand-checkable model's metadata, a free port."""

from __future__ import annotations

import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "ei_test_0123456789abcdef"
READONLY_KEY = "ei_readonly_fedcba9876543210"
PROJECT_ID = 48213
BLOCK_ID = 4
GMM_BLOCK_ID = 5  # the demo's GMM block


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
