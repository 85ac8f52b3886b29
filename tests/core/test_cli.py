"""`python -m ei_anomaly` as a user runs it: real files, exit codes, what is printed. The commands
run in-process (tests/support/cli.py); a few run as real processes on purpose, each saying why."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from ei_anomaly import load_metadata
from ei_anomaly.blocks.fetch import fetch_block
from ei_anomaly.features import map_columns, read_feature_file, score_table
from tests.support.cli import run_cli
from tests.support.constants import API_KEY, BLOCK_ID, GMM_BLOCK_ID, PROJECT_ID, READONLY_KEY, ROOT


def run(*args, key=None):
    """The command in this process, with EI_API_KEY set to `key` (or unset)."""
    return run_cli(*args, env={"EI_API_KEY": key})


def run_process(*args):
    """`python -m ei_anomaly ...` in a new interpreter, as a user types it (without EI_API_KEY)."""
    env = {k: v for k, v in os.environ.items() if k != "EI_API_KEY"}
    proc = subprocess.run(
        [sys.executable, "-m", "ei_anomaly", *map(str, args)], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert b"Traceback" not in proc.stderr
    return proc


@pytest.fixture(scope="module")
def demo_paths():
    d = ROOT / "ei_anomaly" / "data" / "demo"
    return d / "metadata.json", d / "session_with_anomalies.csv"


def test_score_writes_parquet_with_every_row_and_column(tmp_path, demo_paths):
    meta, csv = demo_paths
    out = tmp_path / "scored.parquet"
    proc = run("score", meta, csv, "-o", out, "--threshold", "0.5")
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_parquet(out)
    original = pd.read_csv(csv)
    assert len(frame) == len(original)
    assert list(frame.columns) == [*original.columns, "anomaly_score", "nearest_cluster", "is_anomaly"]
    assert frame["anomaly_score"].isna().sum() == 3
    assert frame["is_anomaly"].isna().sum() == 3
    # the same numbers as the library, thresholded at 0.5
    model = load_metadata(meta)
    table = read_feature_file(csv)
    scores = score_table(table, model, map_columns(table, model))
    assert int(frame["is_anomaly"].sum()) == scores.count_anomalies(0.5)
    summary = proc.stderr
    assert f"{len(original)} rows, {scores.count_anomalies(0.5)} anomalies" in summary
    assert "3 unscorable" in summary


def test_in_process_runs_leave_the_environment_directory_and_streams_as_they_were(tmp_path, demo_paths, monkeypatch):
    """tests/support/cli.py: what a run sets (its `env`, the command's own OMP_WAIT_POLICY, its
    working directory) holds during that run only."""
    monkeypatch.setenv("EI_API_KEY", "from-the-outer-environment")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    environ, cwd, streams = dict(os.environ), os.getcwd(), (sys.stdout, sys.stderr)
    proc = run_cli("score", *demo_paths, "-o", "scored.csv", env={"ANOMALY_LENS_MAX_ROWS": "10"}, cwd=tmp_path)
    assert proc.returncode == 2 and "ANOMALY_LENS_MAX_ROWS" in proc.stderr
    proc = run_cli("score", *demo_paths, "-o", "scored.csv", cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "scored.csv").exists() and proc.stdout == ""
    assert run("blocks", "--project-id", PROJECT_ID).returncode == 2  # EI_API_KEY removed for the call
    assert dict(os.environ) == environ and "OMP_WAIT_POLICY" not in os.environ
    assert os.getcwd() == cwd and (sys.stdout, sys.stderr) == streams


@pytest.mark.slow
def test_score_to_stdout_is_csv(demo_paths):
    """A real process on purpose: the CSV reaches a pipe whole although `__main__` ends with `os._exit`."""
    meta, csv = demo_paths
    proc = run_process("score", meta, csv)
    assert proc.returncode == 0
    lines = proc.stdout.decode().splitlines()
    assert lines[0].endswith('"anomaly_score","nearest_cluster","is_anomaly"')
    assert len(lines) == len(pd.read_csv(csv)) + 1


def test_bad_metadata_exits_2_and_leaves_no_file(tmp_path, demo_paths):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"scale": [1], "mean": [0, 1], "axes": [0], "clusters": [{"center": [0], "maxError": 1}]})
    )
    out = tmp_path / "out.parquet"
    proc = run("score", bad, demo_paths[1], "-o", out)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: metadata: `mean` has 2 values but `axes` has 1"
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_unreadable_features_exit_2(tmp_path, demo_paths):
    bad = tmp_path / "f.csv"
    bad.write_text("a,b\n1,2\n")
    proc = run("score", demo_paths[0], bad)
    assert proc.returncode == 2
    assert "needs feature 22" in proc.stderr
    assert run("score", demo_paths[0], tmp_path / "nope.csv").returncode == 2


def test_usage_errors_exit_2(demo_paths, tmp_path):
    assert run("score", demo_paths[0]).returncode == 2
    proc = run("score", *demo_paths, "-o", tmp_path / "x.txt")
    assert proc.returncode == 2 and "use .csv or .parquet" in proc.stderr
    proc = run("blocks", "--project-id", PROJECT_ID)
    assert proc.returncode == 2 and "EI_API_KEY" in proc.stderr


def test_fetch_and_blocks_against_the_local_server(served_api, tmp_path):
    proc = run("blocks", "--project-id", PROJECT_ID, "--base-url", served_api, key=API_KEY)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"{BLOCK_ID}\tAnomaly detection\tK-means",
        f"{GMM_BLOCK_ID}\tAnomaly detection (GMM)\tGMM",
    ]
    out = tmp_path / "meta.json"
    proc = run(
        "fetch", "--project-id", PROJECT_ID, "--learn-id", BLOCK_ID, "-o", out, "--base-url", served_api, key=API_KEY
    )
    assert proc.returncode == 0, proc.stderr
    assert load_metadata(out).n_clusters == 32


def test_api_failures_exit_3_without_the_key(served_api, tmp_path):
    secret = "ei_this_key_must_not_leak_123"
    out = tmp_path / "meta.json"
    proc = run(
        "fetch", "--project-id", PROJECT_ID, "--learn-id", BLOCK_ID, "-o", out, "--base-url", served_api, key=secret
    )
    assert proc.returncode == 3
    assert "rejected" in proc.stderr
    assert secret not in proc.stderr + proc.stdout
    assert not out.exists()
    proc = run("fetch", "--project-id", 5, "--learn-id", BLOCK_ID, "--base-url", served_api, key=API_KEY)
    assert proc.returncode == 3 and "not found" in proc.stderr


def test_serve_accepts_extra_metadata_files(tmp_path):
    from ei_anomaly.local_api import EdgeImpulseStub

    extra = tmp_path / "mine.json"
    extra.write_text(
        json.dumps(
            {
                "scale": [1, 1],
                "mean": [0, 0],
                "axes": [3, 1],
                "clusters": [{"center": [0, 0], "maxError": 1}],
                "thresholds": [],
            }
        )
    )
    stub = EdgeImpulseStub(api_key=None, extra_metadata=[extra])
    status, impulse = stub.answer(f"/v1/api/{PROJECT_ID}/impulse", {}, "any")
    ids = [b["id"] for b in impulse["impulse"]["learnBlocks"] if b["type"] == "anomaly"]
    assert ids == [BLOCK_ID, GMM_BLOCK_ID + 1]
    status, config = stub.answer(f"/v1/api/{PROJECT_ID}/training/anomaly/{GMM_BLOCK_ID + 1}", {}, "any")
    assert status == 200 and config["selectedAxes"] == [3, 1]


def set_threshold(base, *extra, key=API_KEY, value="0.65"):
    args = ["set-threshold", "--project-id", PROJECT_ID, "--learn-id", BLOCK_ID, "--base-url", base]
    return run(*args, *(["--value", value] if value is not None else []), *extra, key=key)


def test_set_threshold_writes_and_reports(writable_api):
    proc = set_threshold(writable_api.base_url)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"block {BLOCK_ID}: min_anomaly_score 0.3 -> 0.65"
    assert "regenerated" in lines[1]
    from ei_anomaly.client import EdgeImpulseClient

    assert (
        fetch_block(EdgeImpulseClient(API_KEY, writable_api.base_url), PROJECT_ID, BLOCK_ID).default_threshold == 0.65
    )
    proc = set_threshold(writable_api.base_url, "--key", "min_anomaly_score", value="-0.1")
    assert proc.returncode == 0 and "0.65 -> -0.1" in proc.stdout


def test_set_threshold_job_status_in_words(writable_api):
    writable_api.stub.regenerate = "job"
    proc = set_threshold(writable_api.base_url, "--regenerate")
    assert proc.returncode == 0, proc.stderr
    assert "started a job" in proc.stdout and "job 9001" in proc.stdout


@pytest.mark.parametrize(
    ("extra", "value", "message"),
    [
        ((), "abc", "must be a number, got 'abc'"),
        ((), "nan", "must be a finite number"),
        ((), "inf", "must be a finite number"),
        (("--key", "min_score"), "0.5", "has no threshold 'min_score'; its thresholds: min_anomaly_score"),
    ],
)
def test_set_threshold_bad_input_exits_2_and_changes_nothing(writable_api, extra, value, message):
    proc = set_threshold(writable_api.base_url, *extra, value=value)
    assert proc.returncode == 2
    err = proc.stderr
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.3


def test_set_threshold_api_failures_exit_3_without_the_key(writable_api):
    proc = set_threshold(writable_api.base_url, key=READONLY_KEY)
    assert proc.returncode == 3
    err = proc.stderr
    assert "admin key" in err and len(err.strip().splitlines()) == 1
    assert READONLY_KEY not in proc.stderr + proc.stdout
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.3
    secret = "ei_wrong_key_never_echoed_42"
    proc = set_threshold(writable_api.base_url, key=secret)
    assert proc.returncode == 3 and secret not in proc.stderr + proc.stdout
    proc = run(
        "set-threshold",
        "--project-id",
        PROJECT_ID,
        "--learn-id",
        99,
        "--value",
        "1",
        "--base-url",
        writable_api.base_url,
        key=API_KEY,
    )
    assert proc.returncode == 3 and "not found" in proc.stderr


@pytest.mark.slow
def test_serve_with_a_read_only_key(tmp_path):
    """`serve` in a real process on purpose: it runs until it is stopped, as a user starts it."""
    from tests.support.constants import free_port

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ei_anomaly",
            "serve",
            "--port",
            str(port),
            "--api-key",
            API_KEY,
            "--readonly-key",
            READONLY_KEY,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        server.stdout.readline()  # the banner: listening
        base = f"http://127.0.0.1:{port}/v1"
        blocks = run("blocks", "--project-id", PROJECT_ID, "--base-url", base, key=READONLY_KEY)
        assert blocks.returncode == 0, blocks.stderr
        assert set_threshold(base, key=READONLY_KEY).returncode == 3
        assert set_threshold(base, key=API_KEY).returncode == 0
    finally:
        server.terminate()
        server.wait(timeout=10)
