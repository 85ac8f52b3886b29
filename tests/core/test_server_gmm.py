"""The local API's GMM block: listed as `anomaly-gmm`, its metadata, gmm/metadata, model file
and model-testing results, each validated against the official `edgeimpulse-api` models (read in
memory, `local_api`); `fetch` and `set-threshold` run as a user runs them, against a real server."""

from __future__ import annotations

import copy
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ei_anomaly.blocks.fetch import fetch_block
from ei_anomaly.blocks.gmm import GmmBlock
from ei_anomaly.client import EdgeImpulseClient
from ei_anomaly.demo import ANOMALY_SESSION_CSV, GMM_DEMO_DIR, demo_test_samples, load_demo_gmm_model
from ei_anomaly.local_api import StubTransport
from ei_anomaly.model_testing import block_test_windows
from tests.support.constants import API_KEY, BLOCK_ID, GMM_BLOCK_ID, PROJECT_ID, ROOT

models = pytest.importorskip("edgeimpulse_api.models")


def get(api, path, key=API_KEY):
    return api.get(path, key)


def test_the_gmm_block_is_listed_with_its_kind(local_api):
    impulse = models.GetImpulseResponse.from_dict(get(local_api, f"/api/{PROJECT_ID}/impulse").json())
    kinds = {b.id: b.type for b in impulse.impulse.learn_blocks}
    assert kinds[BLOCK_ID] == "anomaly" and kinds[GMM_BLOCK_ID] == "anomaly-gmm"
    impulses = models.GetAllImpulsesResponse.from_dict(get(local_api, f"/api/{PROJECT_ID}/impulses").json())
    assert {b.id: b.type for b in impulses.impulses[0].learn_blocks}[GMM_BLOCK_ID] == "anomaly-gmm"


def test_gmm_answers_validate_against_the_official_models(local_api):
    block = f"/api/{PROJECT_ID}/training/anomaly/{GMM_BLOCK_ID}"
    meta = get(local_api, f"{block}/metadata").json()
    meta["thresholds"] = []  # the official client cannot parse any threshold value (see test_server.py)
    parsed = models.AnomalyModelMetadataResponse.from_dict(meta)
    assert parsed.clusters == [] and len(parsed.mean) == len(parsed.scale) == 1 and parsed.axes == [0, 11, 22]
    gmm = models.AnomalyGmmMetadataResponse.from_dict(get(local_api, f"{block}/gmm/metadata").json())
    n = len(gmm.weights)
    assert np.shape(gmm.means) == (n, 3) and np.shape(gmm.covariances) == (n, 3, 3)
    assert abs(sum(gmm.weights) - 1) < 1e-9
    config = get(local_api, block).json()
    config["thresholds"] = []
    models.AnomalyConfigResponse.from_dict(config)
    downloads = models.ProjectDownloadsResponse.from_dict(get(local_api, f"/api/{PROJECT_ID}/downloads").json())
    (entry,) = [d for d in downloads.downloads if f"/learn-data/{GMM_BLOCK_ID}/model/" in d.link]
    model_file = get(local_api, entry.link.removeprefix("/v1"))
    assert model_file.headers["Content-Type"] == "application/octet-stream"
    assert model_file.content == (GMM_DEMO_DIR / "model.tflite").read_bytes()


def test_a_kmeans_block_has_no_gmm_metadata_or_model_file(local_api):
    assert get(local_api, f"/api/{PROJECT_ID}/training/anomaly/{BLOCK_ID}/gmm/metadata").status == 400
    assert get(local_api, f"/api/{PROJECT_ID}/learn-data/{BLOCK_ID}/model/tflite-float").status == 404


def test_model_testing_results_are_scored_with_the_gmm_block(local_api):
    body = get(local_api, f"/api/{PROJECT_ID}/classify/all/result?impulseId=1").json()
    checked = copy.deepcopy(body)
    for r in checked["result"]:
        for c in r["classifications"]:
            c["thresholds"] = []
    models.ClassifyJobResponse.from_dict(checked)
    windows = block_test_windows(body, GMM_BLOCK_ID)
    model = load_demo_gmm_model()
    want = np.concatenate([model.score(s.features) for s in demo_test_samples()])
    assert np.array_equal(windows.frame["anomaly score"].to_numpy(np.float32), want)


def test_the_client_builds_the_gmm_model_from_the_api(local_api):
    client = EdgeImpulseClient(API_KEY, StubTransport.BASE_URL, local_api.transport)
    assert [(b.id, b.type) for b in client.list_anomaly_blocks(PROJECT_ID)] == [
        (BLOCK_ID, "anomaly"),
        (GMM_BLOCK_ID, "anomaly-gmm"),
    ]
    model = fetch_block(client, PROJECT_ID, GMM_BLOCK_ID)
    assert isinstance(model, GmmBlock)
    assert model.fingerprint == load_demo_gmm_model().fingerprint
    assert model.axis_labels == ["accX RMS", "accY RMS", "accZ RMS"]


def run_cli(*args, key=API_KEY):
    env = {**os.environ, "EI_API_KEY": key}
    return subprocess.run([sys.executable, "-m", "ei_anomaly", *map(str, args)], cwd=ROOT, env=env, capture_output=True)


def test_fetch_writes_a_block_directory_and_refuses_a_gmm_json(served_api, tmp_path):
    """A socket: the CLI runs in its own process, against `python -m ei_anomaly serve`."""
    base = ("--project-id", PROJECT_ID, "--learn-id", GMM_BLOCK_ID, "--base-url", served_api)
    proc = run_cli("fetch", *base, "-o", tmp_path / "gmm.json")
    assert proc.returncode == 2 and not (tmp_path / "gmm.json").exists()
    assert "GMM block" in proc.stderr.decode() and "Give a directory" in proc.stderr.decode()
    proc = run_cli("fetch", *base, "-o", tmp_path / "block")
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (tmp_path / "block").iterdir())
    assert names == ["anomaly_config.json", "gmm.json", "metadata.json", "model.tflite"]
    assert (tmp_path / "block" / "model.tflite").read_bytes() == (GMM_DEMO_DIR / "model.tflite").read_bytes()
    # every command takes the directory where it takes a metadata file
    scored = tmp_path / "scored.csv"
    proc = run_cli("score", tmp_path / "block", ANOMALY_SESSION_CSV, "-o", scored)
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(scored)
    model = load_demo_gmm_model()
    features = pd.read_csv(ANOMALY_SESSION_CSV).drop(columns="timestamp").to_numpy()
    want = model.score(features)
    got = frame["anomaly_score"].to_numpy(np.float32)
    assert np.array_equal(got, want, equal_nan=True)
    assert (
        frame["is_anomaly"].fillna(False).astype(bool).tolist()
        == model.score_full(features).is_anomaly(model.default_threshold).tolist()
    )
    # a K-means block still fetches to a .json file, and to a directory
    proc = run_cli(
        "fetch", "--project-id", PROJECT_ID, "--learn-id", BLOCK_ID, "--base-url", served_api, "-o", tmp_path / "kmeans"
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "kmeans").iterdir()) == ["anomaly_config.json", "metadata.json"]


def test_a_gmm_blocks_threshold_is_written_back_and_read_again(writable_api):
    """A socket: the CLI runs in its own process; the server's stub then shows what it wrote."""
    proc = run_cli(
        "set-threshold",
        "--project-id",
        PROJECT_ID,
        "--learn-id",
        GMM_BLOCK_ID,
        "--value",
        "2.5",
        "--base-url",
        writable_api.base_url,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"block {GMM_BLOCK_ID}: min_anomaly_score 2.05 -> 2.5" in proc.stdout.decode()
    model = fetch_block(EdgeImpulseClient(API_KEY, writable_api.base_url), PROJECT_ID, GMM_BLOCK_ID)
    assert isinstance(model, GmmBlock) and model.default_threshold == 2.5
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.3  # the other block is untouched
