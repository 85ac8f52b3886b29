"""GMM scoring throughput: LiteRT's reference interpreter a block of rows per invoke against one
invoke per row (the baseline, as Studio's classify job runs it), on the demo's GMM block; and the
`cortex-m` target (ei_anomaly.tflm: TFLite Micro's kernels with fused multiply-adds and newlib's
expf/logf, in numpy and numba chunks).

Run: python -m bench.bench_gmm [--rows 200000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ei_anomaly.blocks.parts import Target
from ei_anomaly.demo import load_demo_gmm_model
from ei_anomaly.litert_scoring import ReferenceScorer


def best_of(runs: int, fn) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    model = load_demo_gmm_model()
    rng = np.random.default_rng(0)
    rows = (model.gmm.means[rng.integers(0, model.n_components, args.rows)] + rng.normal(size=(args.rows, 3))).astype(
        np.float32
    )
    scorer = ReferenceScorer(model.tflite)
    scorer.score(rows[:100])  # decides block scoring once
    assert scorer.scores_in_blocks
    blocked = best_of(3, lambda: scorer.score(rows))
    single = best_of(1, lambda: scorer.score_rows_one_by_one(rows))
    same = np.array_equal(scorer.score(rows).view(np.uint32), scorer.score_rows_one_by_one(rows).view(np.uint32))
    print(f"{args.rows:,} rows, {model.n_components} components x 3 axes, bit-identical: {same}")
    print(f"one invoke per row   : {args.rows / single:>12,.0f} rows/s (baseline)")
    print(f"blocks of rows       : {args.rows / blocked:>12,.0f} rows/s ({single / blocked:.1f}x)")
    device = model.with_setup(target=Target.CORTEX_M)
    device.score_axes(rows[:100])  # compiles the numba kernels once
    cortex_m = best_of(3, lambda: device.score_axes(rows))
    print(f"cortex-m target      : {args.rows / cortex_m:>12,.0f} rows/s (the whole block: scores and components)")


if __name__ == "__main__":
    main()
