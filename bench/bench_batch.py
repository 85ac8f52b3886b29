"""Fleet-scale scoring: one process (`score` per file) vs `batch` on a local Dask cluster of two workers.

Generates Parquet shards (default 20 x 1,000,000 rows: device id, time, 33 float32 features
drawn around the demo's training windows; reproducible from --seed) in a temporary directory,
then scores every shard both ways and prints rows/s and peak memory per process side by side:
- one process: `python -m ei_anomaly score METADATA SHARD -o OUT` for each shard in turn
  (peak RSS of each child from wait4);
- cluster: the `batch` job (`run_job`) on a LocalCluster of 2 worker processes, 1 thread each
  (peak RSS of each worker from getrusage; cluster start-up reported apart).
Run: python -m bench.bench_batch [--shards 20] [--rows-per-shard 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ei_anomaly import load_metadata
from ei_anomaly.batch import BatchScorer
from ei_anomaly.batch_job import find_inputs, local_cluster, plan_partitions, run_job, sample_table
from ei_anomaly.demo import DEMO_DIR

ROOT = Path(__file__).resolve().parents[1]
METADATA = DEMO_DIR / "metadata.json"


def make_shards(folder: Path, shards: int, rows: int, seed: int) -> None:
    train = pd.read_csv(DEMO_DIR / "training_features.csv")
    base = train.to_numpy(np.float32)
    for s in range(shards):
        rng = np.random.default_rng([seed, s])
        values = base[rng.integers(0, len(base), rows)] * rng.normal(1.0, 0.05, (rows, base.shape[1])).astype(
            np.float32
        )
        columns = {
            "device": pa.array(rng.integers(0, 5000, rows)),
            "t_ms": pa.array(np.arange(rows, dtype=np.int64) * 2000 + s * rows * 2000),
        }
        columns.update({name: pa.array(values[:, j]) for j, name in enumerate(train.columns)})
        pq.write_table(pa.table(columns), folder / f"shard-{s:03d}.parquet", row_group_size=256 * 1024)


def high_water_mark() -> int:
    """Peak RSS of this process in bytes, from the kernel's VmHWM (per address space, so unlike
    ru_maxrss it does not carry over the RSS of the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def one_process(shards: list[Path], out: Path) -> tuple[float, int]:
    """Seconds for all shards, and the largest peak RSS (bytes) of the `score` processes.

    wait4's ru_maxrss of a child is at least the RSS of this process when it forked, so the data
    is generated in another process and this one stays small (its RSS is printed as the floor)."""
    out.mkdir()
    peak = 0
    start = time.perf_counter()
    for shard in shards:
        cmd = [sys.executable, "-m", "ei_anomaly", "score", str(METADATA), str(shard), "-o", str(out / shard.name)]
        child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            raise SystemExit(f"score failed on {shard.name}: {child.stderr.read().decode()}")
        peak = max(peak, usage.ru_maxrss * 1024)
    return time.perf_counter() - start, peak


def cluster(shards: list[Path], out: Path, workers: int) -> tuple[float, float, list[int]]:
    """Start-up seconds, job seconds, and the peak RSS of each worker (bytes)."""
    from distributed import Client

    scorer = BatchScorer.for_sample(load_metadata(METADATA), sample_table(shards[0]))
    parts = plan_partitions(find_inputs([str(s) for s in shards]))
    start = time.perf_counter()
    with local_cluster(workers) as c, Client(c) as client:
        client.run(lambda: scorer.model)  # import and load the kernel, as `score` does before its clock
        ready = time.perf_counter() - start
        summary = run_job(client, scorer, parts, out)
        peaks = client.run(high_water_mark)
    return ready, summary.seconds, sorted(peaks.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--rows-per-shard", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this folder instead of a temporary one")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)  # the child that writes the shards
    args = parser.parse_args()
    if args.generate:
        make_shards(args.generate, args.shards, args.rows_per_shard, args.seed)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_batch_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        data = folder / "shards"
        if not data.exists():
            data.mkdir()
            t = time.perf_counter()
            generate = ["--generate", str(data), "--shards", str(args.shards), "--seed", str(args.seed)]
            subprocess.run(
                [sys.executable, "-m", "bench.bench_batch", *generate, "--rows-per-shard", str(args.rows_per_shard)],
                cwd=ROOT,
                check=True,
            )
            print(f"generated {args.shards} shards in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        shards = sorted(data.glob("*.parquet"))
        rows = sum(pq.ParquetFile(s).metadata.num_rows for s in shards)
        size = sum(s.stat().st_size for s in shards)
        for name in ("out-score", "out-batch"):
            shutil.rmtree(folder / name, ignore_errors=True)
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        single_s, single_peak = one_process(shards, folder / "out-score")
        ready, batch_s, worker_peaks = cluster(shards, folder / "out-batch", args.workers)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    mb = 1 << 20
    worst = max(worker_peaks)
    print(f"{rows:,} rows in {len(shards)} Parquet shards ({size / 1e9:.1f} GB), 35 columns; {os.cpu_count()} cores")
    print(f"{'':34}{'one process':>16}{f'{args.workers} workers':>16}{'ratio':>9}")
    row("wall time (s)", single_s, batch_s, ".1f")
    row("rows/s", rows / single_s, rows / batch_s, ",.0f")
    row("rows/s counting cluster start-up", rows / single_s, rows / (batch_s + ready), ",.0f")
    row("peak memory per process (MiB)", single_peak / mb, worst / mb, ",.0f")
    peaks = ", ".join(f"{p / mb:,.0f}" for p in worker_peaks)
    print(f"cluster start-up {ready:.1f} s; workers' peak memory {peaks} MiB; one process = `score` per shard")
    print(f"(this process's own peak, a floor under the `score` figure: {floor / mb:,.0f} MiB)")


def row(label: str, single: float, batch: float, fmt: str) -> None:
    print(f"{label:34}{single:>16{fmt}}{batch:>16{fmt}}{batch / single:>8.2f}x")


if __name__ == "__main__":
    main()
