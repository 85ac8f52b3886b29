"""End to end: `python -m ei_anomaly score` (CSV in, Parquet out) vs `pandas.read_csv` alone.

Both on the same 1,000,000-row x 33-column CSV, measured in the same run (best of N).
Target (issue #2): the whole CLI run takes at most 1.6x what pandas.read_csv alone takes.
Run: python -m bench.bench_cli [--rows 1000000]   (writes ~300 MB under bench/data/, ignored by git)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ei_anomaly.demo import DEMO_DIR

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def make_csv(path: Path, rows: int) -> None:
    train = pd.read_csv(DEMO_DIR / "training_features.csv")
    rng = np.random.default_rng(3)
    base = train.to_numpy()[rng.integers(0, len(train), rows)]
    noisy = (base * rng.normal(1.0, 0.05, base.shape)).round(5)
    pacsv.write_csv(pa.Table.from_pandas(pd.DataFrame(noisy, columns=train.columns), preserve_index=False), path)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    csv = data / f"features_{args.rows}.csv"
    if not csv.exists():
        make_csv(csv, args.rows)
    out = data / "scored.parquet"
    cmd = [sys.executable, "-m", "ei_anomaly", "score", str(DEMO_DIR / "metadata.json"), str(csv), "-o", str(out)]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)  # warm the kernel cache
    read = min(timed(lambda: pd.read_csv(csv)) for _ in range(args.repeats))
    cli = min(timed(lambda: subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)) for _ in range(args.repeats))
    size = csv.stat().st_size / 1e6
    ratio = cli / read
    print(f"file: {args.rows:,} rows x 33 columns, {size:.0f} MB")
    print(f"pandas.read_csv alone:             {read:6.2f} s")
    print(f"python -m ei_anomaly score -> .parquet: {cli:6.2f} s (whole process, interpreter start included)")
    print(f"ratio: {ratio:.2f}x (target <= 1.6x) {'ok' if ratio <= 1.6 else 'MISSED'}")
    raise SystemExit(0 if ratio <= 1.6 else 1)


if __name__ == "__main__":
    main()
