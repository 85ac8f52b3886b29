"""Batch scoring: the per-batch scorer, and the `batch` job on a real local Dask cluster (processes).

Every check compares with the in-process path `score` uses (read_feature_file -> map_columns ->
score_table -> scored_table), bit for bit.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ei_anomaly import FeatureFileError, load_metadata
from ei_anomaly.batch import BatchScorer, model_from_json
from ei_anomaly.batch_job import find_inputs, local_cluster, plan_partitions, run_job, sample_table
from ei_anomaly.demo import ANOMALY_SESSION_CSV, DEMO_DIR
from ei_anomaly.features import map_columns, read_feature_file, score_table, scored_table
from tests.support.cli import run_cli
from tests.support.constants import ROOT

distributed = pytest.importorskip("distributed")

METADATA = DEMO_DIR / "metadata.json"
RESULTS = ["anomaly_score", "nearest_cluster", "is_anomaly"]


def in_process(path: Path, model=None, mapping=None, threshold: float | None = None) -> pa.Table:
    """What `score` computes for one file."""
    model = model or load_metadata(METADATA)
    table = read_feature_file(path)
    mapping = mapping or map_columns(table, model)
    t = model.default_threshold if threshold is None else threshold
    return scored_table(table, score_table(table, model, mapping), t)


def jittered_session(rows: int, seed: int) -> pa.Table:
    """The demo session (3 unscorable rows included) repeated to `rows`, numbers jittered."""
    base = read_feature_file(ANOMALY_SESSION_CSV).table
    reps = -(-rows // base.num_rows)
    tiled = pa.concat_tables([base] * reps).slice(0, rows).combine_chunks()
    rng = np.random.default_rng(seed)
    columns = []
    for field, column in zip(tiled.schema, tiled.columns, strict=True):
        if pa.types.is_floating(field.type):
            values = column.to_numpy(zero_copy_only=False)
            noisy = values * rng.uniform(0.9, 1.1, rows)
            column = pa.array(noisy, pa.float64(), mask=np.isnan(values))
        columns.append(column)
    return pa.Table.from_arrays(columns, names=tiled.column_names)


def assert_same(actual: pa.Table, expected: pa.Table) -> None:
    assert actual.column_names == expected.column_names
    assert actual.num_rows == expected.num_rows
    for name in expected.column_names:
        a, e = actual.column(name).combine_chunks(), expected.column(name).combine_chunks()
        assert a.type == e.type, name
        assert a.equals(e), name  # exact: floats compared as values, nulls in place
    score_bits = actual.column("anomaly_score").combine_chunks().fill_null(0).to_numpy().view(np.uint32)
    expected_bits = expected.column("anomaly_score").combine_chunks().fill_null(0).to_numpy().view(np.uint32)
    np.testing.assert_array_equal(score_bits, expected_bits)


def read_output(out_dir: Path) -> pa.Table:
    files = sorted(out_dir.glob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files])


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    """Three Parquet files (row groups of 1,000 rows) and a CSV file: 10,000 rows in all."""
    d = tmp_path_factory.mktemp("shards")
    for i, rows in enumerate((3000, 2500, 2000)):
        pq.write_table(jittered_session(rows, seed=i), d / f"shard-{i}.parquet", row_group_size=1000)
    pacsv.write_csv(jittered_session(2500, seed=9), d / "shard-3.csv")
    return d


@pytest.fixture(scope="module")
def cluster():
    with (
        local_cluster(2) as c,
        distributed.Client(c) as client,
    ):
        yield c, client


# --- the scorer alone ------------------------------------------------------------------------


def test_scorer_is_small_to_pickle_and_scores_like_score(tmp_path):
    scorer = BatchScorer.for_sample(METADATA, read_feature_file(ANOMALY_SESSION_CSV), threshold=0.5)
    blob = pickle.dumps(scorer)
    assert len(blob) < 20_000  # the metadata file is 168 KB; only the scoring fields travel
    again = pickle.loads(blob)
    assert again == scorer
    assert again.model.fingerprint == load_metadata(METADATA).fingerprint
    table = read_feature_file(ANOMALY_SESSION_CSV).table
    assert_same(again(table), in_process(ANOMALY_SESSION_CSV, threshold=0.5))


def test_model_is_built_once_per_process():
    scorer = BatchScorer.for_sample(METADATA, read_feature_file(ANOMALY_SESSION_CSV))
    copy = pickle.loads(pickle.dumps(scorer))
    assert copy.model is scorer.model is model_from_json(scorer.metadata_json)


def test_record_batch_and_pandas_give_the_same_kind_back():
    table = read_feature_file(ANOMALY_SESSION_CSV).table
    scorer = BatchScorer.for_sample(METADATA, table)
    expected = in_process(ANOMALY_SESSION_CSV)

    batch = table.to_batches(max_chunksize=100)[2]
    out_batch = scorer(batch)
    assert isinstance(out_batch, pa.RecordBatch)
    assert_same(pa.Table.from_batches([out_batch]), expected.slice(200, 100))

    frame = table.to_pandas()
    frame.index = frame.index + 1000  # a partition's index, kept as it is
    out_frame = scorer(frame)
    assert list(out_frame.index) == list(frame.index)
    assert list(out_frame.columns) == [*frame.columns, *RESULTS]
    pd.testing.assert_frame_equal(out_frame[frame.columns], frame)
    assert [str(t) for t in out_frame[RESULTS].dtypes] == ["Float32", "Int32", "boolean"]
    want = expected.to_pandas()
    np.testing.assert_array_equal(
        out_frame["anomaly_score"].to_numpy(np.float32, na_value=np.nan).view(np.uint32),
        want["anomaly_score"].to_numpy(np.float32).view(np.uint32),
    )
    assert out_frame["anomaly_score"].isna().sum() == 3
    assert out_frame["is_anomaly"].sum() == want["is_anomaly"].sum()


def test_a_partition_with_an_empty_column_keeps_the_first_files_mapping(tmp_path):
    """Read alone, a file whose text column is all empty has one more "numeric" column, and
    `score` would shift every axis by one column; the batch scorer keeps the first file's mapping."""
    model = load_metadata(METADATA)
    first = read_feature_file(ANOMALY_SESSION_CSV)
    scorer = BatchScorer.for_sample(model, first)
    frame = pd.read_csv(ANOMALY_SESSION_CSV)
    frame["timestamp"] = ""
    blank = tmp_path / "blank_timestamps.csv"
    frame.to_csv(blank, index=False)
    alone = read_feature_file(blank)
    assert map_columns(alone, model).columns != map_columns(first, model).columns  # the hazard is real

    out = scorer(alone.table)
    assert_same(out, in_process(blank, model, mapping=map_columns(first, model)))


def test_a_batch_without_a_mapped_column_is_refused():
    table = read_feature_file(ANOMALY_SESSION_CSV).table
    scorer = BatchScorer.for_sample(METADATA, table)
    with pytest.raises(FeatureFileError, match="no column 'accX RMS'"):
        scorer(table.drop_columns(["accX RMS"]))


# --- planning --------------------------------------------------------------------------------


def test_inputs_and_partitions(shards):
    files = find_inputs([str(shards)])
    assert [f.name for f in files] == ["shard-0.parquet", "shard-1.parquet", "shard-2.parquet", "shard-3.csv"]
    assert find_inputs([str(shards / "*.parquet"), str(shards / "shard-0.parquet")]) == files[:3]
    parts = plan_partitions(files, partition_rows=2000)
    assert [(Path(p.path).name, p.row_groups, p.rows) for p in parts] == [
        ("shard-0.parquet", (0, 1), 2000),
        ("shard-0.parquet", (2,), 1000),
        ("shard-1.parquet", (0, 1), 2000),
        ("shard-1.parquet", (2,), 500),
        ("shard-2.parquet", (0, 1), 2000),
        ("shard-3.csv", None, None),
    ]
    assert len({p.out_name for p in parts}) == len(parts)


# --- on a local cluster ----------------------------------------------------------------------


@pytest.mark.slow  # the module's local Dask cluster: worker processes
def test_job_output_is_complete_and_exact(shards, cluster, tmp_path):
    _, client = cluster
    files = find_inputs([str(shards)])
    scorer = BatchScorer.for_sample(METADATA, sample_table(files[0]))
    out = tmp_path / "scored"
    summary = run_job(client, scorer, plan_partitions(files, 1500), out)
    expected = [in_process(f, mapping=map_columns(read_feature_file(files[0]), load_metadata(METADATA))) for f in files]
    actual = [read_output_of(out, i) for i in range(len(files))]
    for a, e in zip(actual, expected, strict=True):
        assert_same(a, e)
    assert summary.rows == 10_000 == sum(t.num_rows for t in actual)
    assert summary.unscorable == sum(t.column("anomaly_score").null_count for t in expected) > 0
    assert summary.anomalies == sum(pa.compute.sum(t.column("is_anomaly")).as_py() for t in expected) > 0
    assert summary.files == 4
    assert not list(tmp_path.glob(".*"))  # no temporary directory left


def read_output_of(out_dir: Path, file_index: int) -> pa.Table:
    return pa.concat_tables([pq.read_table(f) for f in sorted(out_dir.glob(f"{file_index:05d}-*.parquet"))])


@pytest.mark.slow  # the module's local Dask cluster
def test_dask_dataframe_map_partitions(shards, cluster):
    import dask.dataframe as dd

    assert cluster  # dask's default client is the cluster's
    paths = sorted(str(p) for p in shards.glob("*.parquet"))
    scorer = BatchScorer.for_sample(METADATA, sample_table(Path(paths[0])))
    result = dd.read_parquet(paths).map_partitions(scorer).compute()
    expected = pd.concat([in_process(Path(p)).to_pandas() for p in paths], ignore_index=True)
    assert list(result.columns) == list(expected.columns)
    assert len(result) == len(expected) == 7500
    np.testing.assert_array_equal(
        result["anomaly_score"].to_numpy(np.float32, na_value=np.nan).view(np.uint32),
        expected["anomaly_score"].to_numpy(np.float32).view(np.uint32),
    )
    assert (result["nearest_cluster"].fillna(-1).to_numpy() == expected["nearest_cluster"].fillna(-1).to_numpy()).all()


def wait_until_no_task_runs(client, timeout: float = 30) -> None:
    """Until no worker runs a task, cancelled ones still running in their threads included."""
    deadline = time.monotonic() + timeout
    while sum(client.run(lambda dask_worker: len(dask_worker.state.executing)).values()):
        assert time.monotonic() < deadline, "tasks still running"
        time.sleep(0.01)


@pytest.mark.slow  # the module's local Dask cluster
def test_a_bad_file_fails_the_job_and_leaves_no_output(shards, cluster, tmp_path):
    _, client = cluster
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("shard-0.parquet", "shard-1.parquet"):
        (inputs / name).write_bytes((shards / name).read_bytes())
    pq.write_table(jittered_session(10, 1).drop_columns(["accX RMS"]), inputs / "shard-2.parquet")
    files = find_inputs([str(inputs)])
    scorer = BatchScorer.for_sample(METADATA, sample_table(files[0]))
    with pytest.raises(FeatureFileError, match=r"^features: shard-2.parquet: this batch has no column 'accX RMS'"):
        run_job(client, scorer, plan_partitions(files, 1000), tmp_path / "out")
    wait_until_no_task_runs(client)  # tasks already running when the job failed end on their own
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


@pytest.mark.slow  # a local Dask cluster of its own, a worker killed and replaced
def test_a_worker_killed_mid_run_is_survived(tmp_path):
    """SIGKILL a worker process while it is scoring: Dask reruns its tasks, and the output is still
    complete and identical to the in-process scorer."""
    src = tmp_path / "big.parquet"
    pq.write_table(jittered_session(60_000, seed=5), src, row_group_size=1000)
    files = [src]
    scorer = BatchScorer.for_sample(METADATA, sample_table(src))
    parts = plan_partitions(files, 1000)
    out = tmp_path / "out"
    outcome: dict[str, object] = {}
    with (
        local_cluster(2) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(lambda: scorer.model)  # workers ready to score before the clock starts
        before = set(client.scheduler_info()["workers"])
        pids = client.run(os.getpid)

        def job() -> None:
            try:
                outcome["summary"] = run_job(client, scorer, parts, out, batch_rows=200)
            except BaseException as exc:
                outcome["error"] = exc

        runner = threading.Thread(target=job)
        runner.start()
        killed_mid_run = False
        deadline = time.monotonic() + 60
        while runner.is_alive() and time.monotonic() < deadline:
            tmp_dirs = list(tmp_path.glob(".out.*.part"))
            done = list(tmp_dirs[0].glob("*.parquet")) if tmp_dirs else []
            busy = [addr for addr, keys in client.processing().items() if keys]
            if len(done) >= 3 and busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed_mid_run = runner.is_alive()
                break
            time.sleep(0.01)
        runner.join(120)
        after = set(client.scheduler_info()["workers"])
    assert killed_mid_run, "the job ended before a worker could be killed"
    assert "error" not in outcome, outcome.get("error")
    assert before - after, "the killed worker is still registered"
    assert_same(read_output(out), in_process(src))
    assert outcome["summary"].rows == 60_000


# --- the command -----------------------------------------------------------------------------


def run_process(*args: object) -> subprocess.CompletedProcess:
    """`python -m ei_anomaly batch ...` in a new interpreter, as a user types it."""
    proc = subprocess.run(
        [sys.executable, "-m", "ei_anomaly", "batch", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        timeout=180,
    )
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc


@pytest.mark.slow
def test_cli_on_a_local_cluster(shards, tmp_path):
    """A real process on purpose: `batch` as a user runs it, its local cluster's worker processes
    started from `python -m ei_anomaly` (not from pytest) and stopped before the command exits."""
    out = tmp_path / "scored"
    proc = run_process(METADATA, shards / "shard-0.parquet", shards / "shard-3.csv", "-o", out, "--workers", "2")
    assert proc.returncode == 0, proc.stderr.decode()
    summary = proc.stderr.decode().strip().splitlines()[-1]
    expected = [in_process(shards / "shard-0.parquet"), in_process(shards / "shard-3.csv")]
    anomalies = sum(pa.compute.sum(t.column("is_anomaly")).as_py() for t in expected)
    assert summary.startswith(f"2 files, 5500 rows, {anomalies} anomalies (score > 0.3), ")
    assert " on 2 workers in " in summary and "rows/s" in summary
    assert "progress: 2/2 partitions, 5,500 rows" in proc.stderr.decode()  # not a terminal: lines, no bar
    assert_same(read_output_of(out, 0), expected[0])
    assert_same(read_output_of(out, 1), expected[1])


@pytest.mark.slow  # the module's local Dask cluster
def test_cli_on_an_existing_scheduler(shards, cluster, tmp_path):
    c, _ = cluster
    out = tmp_path / "scored"
    args = ["batch", METADATA, shards / "*.parquet", "-o", out, "--scheduler", c.scheduler_address, "--threshold", "2"]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "3 files, 7500 rows" in proc.stderr
    table = read_output(out)
    assert table.num_rows == 7500
    flags = table.column("is_anomaly").combine_chunks()
    scores = table.column("anomaly_score").combine_chunks()
    assert flags.equals(pa.compute.greater(scores, pa.scalar(2.0, pa.float32())))


def test_cli_errors_are_one_line_and_leave_nothing(tmp_path, shards):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"scale": [1], "mean": [0, 1], "axes": [0], "clusters": [{"center": [0], "maxError": 1}]})
    )
    proc = run_cli("batch", bad, shards, "-o", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr == "error: metadata: `mean` has 2 values but `axes` has 1\n"

    proc = run_cli("batch", METADATA, tmp_path / "nothing-here", "-o", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr == f"error: {tmp_path / 'nothing-here'}: no such file or directory\n"

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    proc = run_cli("batch", METADATA, shards, "-o", taken)
    assert proc.returncode == 2
    assert "already exists and is not an empty directory" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "taken"]
    assert (taken / "keep.txt").read_text() == "mine"
