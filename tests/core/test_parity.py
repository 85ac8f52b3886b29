"""`parity EXPORT BLOCK`: "same" for an export and the block directory of the same training; every
difference listed with its size after a changed threshold, a moved centre, a retrained block; exit 0
same, 1 differs, 2 bad input; Studio as block B through the local API (data normalization included)."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest

from ei_anomaly.blocks import BlockFiles, load_block
from ei_anomaly.review.parity import block_parity, float32_ulps, relative_difference
from ei_anomaly.tflm import read_tflite, write_tflite
from tests.support import exports
from tests.support.cli import run_cli
from tests.support.constants import API_KEY, GMM_BLOCK_ID, PROJECT_ID, ROOT

DEMO_META = ROOT / "ei_anomaly" / "data" / "demo" / "metadata.json"
GMM_DIR = ROOT / "ei_anomaly" / "data" / "demo" / "gmm"


def test_ulps_and_relative_differences():
    one = np.float32(1.0)
    assert float32_ulps([one], [np.nextafter(one, np.float32(2))])[0] == 1
    assert float32_ulps([np.float32(-0.0)], [np.float32(0.0)])[0] == 0
    assert float32_ulps([np.float32(-1e-45)], [np.float32(1e-45)])[0] == 2
    assert relative_difference([2.0], [1.0])[0] == 0.5 and relative_difference([0.0], [0.0])[0] == 0


@pytest.fixture
def kmeans_export(tmp_path, demo_model):
    return exports.write_export(tmp_path / "firmware", exports.kmeans_metadata(demo_model, threshold=0.3), zipped=True)


def block_dir(tmp_path, metadata, name="studio"):
    BlockFiles(metadata).write(tmp_path / name)
    return tmp_path / name


def demo_metadata():
    return json.loads(DEMO_META.read_text())


def test_an_export_is_the_block_directory_of_the_same_training(tmp_path, kmeans_export):
    meta = demo_metadata()
    meta["thresholds"][0]["value"] = 0.3
    result = run_cli("parity", str(kmeans_export), str(block_dir(tmp_path, meta)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("same: firmware.zip is studio, number for number")
    assert (
        "centers: 0 of 96 differ" in result.stdout and "scores on 2,000 probe rows: 0 of 2,000 differ" in result.stdout
    )


def test_a_changed_threshold_a_moved_centre_and_a_retrained_block_are_listed(tmp_path, kmeans_export, demo_model):
    meta = demo_metadata()
    meta["thresholds"][0]["value"] = 0.35
    result = run_cli("parity", str(kmeans_export), str(block_dir(tmp_path, meta, "threshold")))
    assert result.returncode == 1
    assert "threshold: firmware.zip 0.300000012, threshold 0.349999994 (relative difference 0.143" in result.stdout
    meta = demo_metadata()
    meta["thresholds"][0]["value"] = 0.3
    meta["clusters"][7]["center"][2] += 0.25
    moved = run_cli("parity", str(kmeans_export), str(block_dir(tmp_path, meta, "moved")))
    assert moved.returncode == 1
    assert "centers: 1 of 96 differ" in moved.stdout and "- centers[7][2]: firmware.zip" in moved.stdout
    assert "ULPs" in moved.stdout and "score on probe row" in moved.stdout
    retrained = copy.deepcopy(demo_metadata())
    rng = np.random.default_rng(5)
    for c in retrained["clusters"]:
        c["center"] = [v + float(rng.normal(0, 0.05)) for v in c["center"]]
        c["maxError"] = c["maxError"] * 1.1
    out = run_cli("parity", str(kmeans_export), str(block_dir(tmp_path, retrained, "retrained")), "--format", "json")
    assert out.returncode == 1
    data = json.loads(out.stdout)
    parts = {p["part"]: p for p in data["parts"]}
    assert parts["centers"]["differing"] == 96 and parts["maxError"]["differing"] == 32
    assert data["differing"] > len(data["differences"]) > 0 and data["same"] is False


def test_a_gmm_export_is_compared_by_its_graphs_output(tmp_path):
    block, tflite = load_block(GMM_DIR), (GMM_DIR / "model.tflite").read_bytes()
    eon = load_block(exports.write_export(tmp_path / "eon", exports.gmm_eon(block, tflite, threshold=2.05)))
    same = block_parity(eon, block, "export", "studio")
    assert same.same, same.lines()
    # "retrained": the same graph with its components' matrices changed a little
    graph = read_tflite(tflite)
    fc = graph.ops[0]
    weights = graph.tensors[fc.inputs[1]]
    moved = dataclasses.replace(weights, data=(weights.data * np.float32(1.02)).astype(np.float32))
    tensors = tuple(moved if i == fc.inputs[1] else t for i, t in enumerate(graph.tensors))
    files = block.files()
    BlockFiles(files.metadata, files.gmm, write_tflite(dataclasses.replace(graph, tensors=tensors))).write(
        tmp_path / "b"
    )
    differs = block_parity(eon, load_block(tmp_path / "b"), "export", "retrained")
    probes = next(p for p in differs.parts if p.part.startswith("scores on"))
    assert not differs.same and probes.differing > 1500 and probes.max_ulps > 1000


def test_bad_input_is_exit_2(tmp_path, kmeans_export):
    assert run_cli("parity", str(kmeans_export)).returncode == 2
    missing = run_cli("parity", str(kmeans_export), str(tmp_path / "nothing"))
    assert missing.returncode == 2 and missing.stderr.startswith("error: ")


def test_studio_as_block_b_through_the_api(tmp_path, writable_api, demo_model):
    """Block B from Studio (the local API on a socket: the command makes its own client). When Studio
    normalizes the DSP block feeding the anomaly block and the export does not, that is a difference."""
    export = exports.write_export(tmp_path / "fw", exports.kmeans_metadata(demo_model))
    env = {"EI_API_KEY": API_KEY}
    api = ("--project-id", PROJECT_ID, "--base-url", writable_api.base_url)
    result = run_cli("parity", export, "--learn-id", 4, *api, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "same: fw is Studio's block 4" in result.stdout
    writable_api.stub.dsp_normalize[2] = "normalize-channel-standard-scaler"
    differs = run_cli("parity", export, "--learn-id", 4, *api, env=env)
    assert differs.returncode == 1
    studio = f"Studio's block 4 (project {PROJECT_ID})"
    assert f"- data normalization: fw none in the export, {studio} Studio normalizes DSP block #2" in differs.stdout
    gmm = run_cli("parity", export, "--learn-id", GMM_BLOCK_ID, *api, env=env)
    assert gmm.returncode == 1 and "kind: 1 of 1 differ" in gmm.stdout
    assert run_cli("parity", export, "--learn-id", 99, *api, env=env).returncode == 3
