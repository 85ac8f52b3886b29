"""`python -m ei_anomaly alarms` as a user runs it (in-process, tests/support/cli.py): real files, exit codes."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ei_anomaly import streaming
from ei_anomaly.alarms import AlarmPolicy, Smoothing, build_fleet_log, simulate
from ei_anomaly.alarms.log_file import choose_fleet_columns, read_fleet_log
from ei_anomaly.demo import FLEET_LOG_CSV, load_demo_model
from ei_anomaly.features import map_columns, read_feature_file, score_table
from tests.support.cli import run_cli
from tests.support.constants import ROOT
from tests.support.sdk_smooth import reference_device

META = ROOT / "ei_anomaly" / "data" / "demo" / "metadata.json"
COLUMNS = ["device", "windows", "anomaly_windows", "alarms", "days", "alarms_per_day"]


def run(*args):
    return run_cli("alarms", *args, env={"EI_API_KEY": None})


@pytest.fixture(scope="module")
def fleet():
    """The demo fleet log as the library reads it, with its scores."""
    frame = pd.read_csv(FLEET_LOG_CSV)
    model = load_demo_model()
    table = read_feature_file(FLEET_LOG_CSV)
    frame["score"] = score_table(table, model, map_columns(table, model)).score
    return frame


def read_table(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


@pytest.mark.parametrize("smooth,cooldown", [(None, None), ("4:3", None), ("6:2", "1800")])
def test_alarms_per_device_equal_the_sdk_restatement(tmp_path, fleet, smooth, cooldown):
    out = tmp_path / "alarms.csv"
    extra = (["--smooth", smooth] if smooth else []) + (["--cooldown", cooldown] if cooldown else [])
    proc = run(META, FLEET_LOG_CSV, "-o", out, "--threshold", "0.25", *extra)
    assert proc.returncode == 0, proc.stderr
    header, rows = read_table(out)
    assert header[:6] == COLUMNS
    assert sorted(r[0] for r in rows) == sorted(fleet["device"].unique()) and len(rows) == 36
    n, k = map(int, smooth.split(":")) if smooth else (None, None)
    by_device = {r[0]: r for r in rows}
    for device, part in fleet.groupby("device"):
        part = part.assign(t=pd.to_datetime(part["timestamp"])).sort_values("t", kind="stable")
        seconds = (part["t"] - pd.Timestamp("2026-01-01")).dt.total_seconds().to_numpy()
        _, alarms = reference_device(list(part["score"]), list(seconds), n, k, 0.25, float(cooldown or 0))
        row = by_device[device]
        assert int(row[1]) == len(part)
        assert int(row[2]) == int((part["score"].to_numpy(np.float32) > np.float32(0.25)).sum())
        assert int(row[3]) == sum(alarms)
        days = (seconds[-1] - seconds[0]) / 86400
        assert float(row[4]) == days
        assert float(row[5]) == sum(alarms) / days
    summary = proc.stderr
    assert "simulation: anomaly-only" in summary
    assert "fleet: 36 devices, 15552 windows" in summary


def test_one_window_device_and_out_of_order_rows(tmp_path):
    frame = pd.read_csv(FLEET_LOG_CSV).head(40).copy()
    frame.loc[5, "device"] = "lonely"
    path = tmp_path / "log.csv"
    frame.sample(frac=1, random_state=3).to_csv(path, index=False)  # shuffled: time order is the tool's job
    out = tmp_path / "a.csv"
    proc = run(META, path, "-o", out, "--threshold", "-1")
    assert proc.returncode == 0, proc.stderr
    _, rows = read_table(out)
    lonely = next(r for r in rows if r[0] == "lonely")
    assert lonely[1:6] == ["1", "1", "1", "0.0", ""]


def test_class_column_makes_the_exact_path(tmp_path):
    frame = pd.read_csv(FLEET_LOG_CSV).head(3000)
    frame["predicted"] = np.where(
        np.arange(len(frame)) % 3 == 0, "idle", np.where(np.arange(len(frame)) % 3 == 1, "wave", "")
    )
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    out = tmp_path / "a.csv"
    proc = run(META, path, "-o", out, "--smooth", "10:4", "--class-column", "predicted", "--threshold", "0.1")
    assert proc.returncode == 0, proc.stderr
    assert "simulation: with classes (2 classes" in proc.stderr
    _, rows = read_table(out)
    assert {r[7] for r in rows} == {"with classes"}
    # the same through the library
    model = load_demo_model()
    table = read_feature_file(path)
    scores = score_table(table, model, map_columns(table, model)).score
    log = build_fleet_log(
        scores, pa.array(frame["device"]), pa.array(frame["timestamp"]), classes=pa.array(frame["predicted"])
    )
    result = simulate(log, AlarmPolicy(0.1, Smoothing(10, 4)))
    assert [int(r[3]) for r in rows] == result.alarms.tolist()


def test_stride_without_a_time_column(tmp_path):
    frame = pd.read_csv(FLEET_LOG_CSV).head(500).drop(columns="timestamp")
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "a.csv"
    proc = run(META, path, "-o", out)
    assert proc.returncode == 2 and not out.exists()
    assert "--stride" in proc.stderr and proc.stderr.count("\n") == 1
    proc = run(META, path, "-o", out, "--stride", "600")
    assert proc.returncode == 0, proc.stderr
    _, rows = read_table(out)
    counts = frame["device"].value_counts()
    for r in rows:
        assert float(r[4]) == (counts[r[0]] - 1) * 600 / 86400
    assert "stride of 600 s" in proc.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["--smooth", "3:4"], "between 1 and n readings (3)"),
        (["--smooth", "0:0"], "smoothing needs 1 to 255 readings"),
        (["--smooth", "ten"], "smoothing must be N:K"),
        (["--device", "nope"], "no device column named 'nope'"),
        (["--time", "nope"], "no time column named 'nope'"),
        (["--cooldown", "-5"], "must be 0 or more"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_file(tmp_path, args, message):
    out = tmp_path / "a.csv"
    proc = run(META, FLEET_LOG_CSV, "-o", out, *args)
    err = proc.stderr
    assert proc.returncode == 2 and not out.exists()
    assert message in err and err.startswith("error: ") and err.count("\n") == 1


def test_read_in_blocks_like_score(tmp_path):
    """Small blocks (only device, time and score kept from each) give the same table as the command."""
    out = tmp_path / "a.csv"
    proc = run(META, FLEET_LOG_CSV, "-o", out, "--smooth", "4:3")
    assert proc.returncode == 0
    stream = streaming.open_feature_stream(FLEET_LOG_CSV, block_bytes=20000)
    try:
        columns = choose_fleet_columns(stream.first.columns, None, None, None)
        read = read_fleet_log(stream, load_demo_model(), columns, None)
    finally:
        stream.close()
    alarms = simulate(read.log, AlarmPolicy(0.3, Smoothing(4, 3))).alarms.tolist()
    assert stream.first.n_rows < read.rows == read.log.n_windows == 15552
    _, table = read_table(out)
    assert alarms == [int(r[3]) for r in table] and sum(alarms) > 0
