"""End to end: `python -m ei_anomaly score` (CSV in, Parquet out) vs `pandas.read_csv` alone.

Same 1,000,000-row x 33-column CSV, same run, best of N, measured two ways:
- process vs process: the whole CLI command vs a process that only does `pandas.read_csv`
  (both pay interpreter start, imports and first-touch memory);
- in process: `cli.main([...])` vs `pandas.read_csv(...)`, both in this warm interpreter.
Target (issue #2): at most 1.6x. Run: python -m bench.bench_cli [--rows 1000000]
(writes ~250 MB under bench/data/, ignored by git)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from bench.timing import best_of
from ei_anomaly.cli import main as cli_main
from ei_anomaly.demo import DEMO_DIR

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = 1.6


def make_csv(path: Path, rows: int) -> None:
    train = pd.read_csv(DEMO_DIR / "training_features.csv")
    rng = np.random.default_rng(3)
    base = train.to_numpy()[rng.integers(0, len(train), rows)]
    noisy = (base * rng.normal(1.0, 0.05, base.shape)).round(5)
    pacsv.write_csv(pa.Table.from_pandas(pd.DataFrame(noisy, columns=train.columns), preserve_index=False), path)


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
    score_args = ["score", str(DEMO_DIR / "metadata.json"), str(csv), "-o", str(out)]
    cli_cmd = [sys.executable, "-m", "ei_anomaly", *score_args]
    read_cmd = [sys.executable, "-c", f"import pandas; pandas.read_csv({str(csv)!r})"]

    def run(cmd: list[str]) -> None:
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)

    run(cli_cmd)  # compile or load the kernel cache once
    proc_read = best_of(args.repeats, lambda: run(read_cmd))
    proc_cli = best_of(args.repeats, lambda: run(cli_cmd))
    with contextlib.redirect_stderr(io.StringIO()):
        cli_main(score_args)
        in_read = best_of(args.repeats, lambda: pd.read_csv(csv))
        in_cli = best_of(args.repeats, lambda: cli_main(score_args))

    print(f"file: {args.rows:,} rows x 33 columns, {csv.stat().st_size / 1e6:.0f} MB; best of {args.repeats}")
    print(f"{'':36}{'pandas.read_csv':>16}{'score -> .parquet':>19}{'ratio':>8}")
    ok = True
    for label, base, ours in (
        ("separate processes (end to end)", proc_read, proc_cli),
        ("inside one warm interpreter", in_read, in_cli),
    ):
        ratio = ours / base
        ok &= ratio <= TARGET
        print(f"{label:36}{base:>14.2f} s{ours:>17.2f} s{ratio:>7.2f}x")
    print(f"target: <= {TARGET}x -> {'ok' if ok else 'MISSED'}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
