"""Scoring throughput: Anomaly Lens vs scikit-learn (the notebook way) vs a per-row Python loop.

All three measured in the same run on the same data; figures are rows per second, best of
several repeats. Targets (issue #2): >= 3x scikit-learn at 3 axes x 32 clusters, >= 2x at
40 axes x 50 clusters. Run: python -m bench.bench_scoring [--rows 1000000]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.preprocessing import StandardScaler

from bench.timing import best_of
from ei_anomaly import load_metadata
from ei_anomaly.scoring import reference_scores


def make_case(rng: np.random.Generator, n_rows: int, n_features: int, axes: list[int], n_clusters: int):
    n_axes = len(axes)
    centers = rng.normal(size=(n_clusters, n_axes))
    meta = {
        "scale": (rng.random(n_axes) + 0.5).tolist(),
        "mean": rng.normal(size=n_axes).tolist(),
        "axes": axes,
        "clusters": [{"center": c.tolist(), "maxError": float(rng.random() * 0.5)} for c in centers],
    }
    model = load_metadata(meta)
    # Rows near random clusters (as real data is) plus 5% far outliers.
    x = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    pick = rng.integers(0, n_clusters, n_rows)
    near = centers[pick] + rng.normal(scale=0.3, size=(n_rows, n_axes))
    near[rng.random(n_rows) < 0.05] *= 6
    x[:, axes] = (near * model.scale + model.mean).astype(np.float32)
    return model, x


def sklearn_scores(model, x):
    scaler = StandardScaler()
    scaler.mean_, scaler.scale_ = model.mean.astype(np.float64), model.scale.astype(np.float64)
    scaler.var_, scaler.n_features_in_, scaler.n_samples_seen_ = scaler.scale_**2, len(model.axes), 1
    z = scaler.transform(x[:, model.axes])
    d = euclidean_distances(z, model.centers.astype(np.float64)) - model.max_errors
    return np.minimum(d.min(axis=1), 1000.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--loop-rows", type=int, default=2_000, help="rows timed for the slow Python loop")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    cases = [
        ("3 axes x 32 clusters (33 features)", 33, [0, 11, 22], 32, 3.0),
        ("40 axes x 50 clusters (40 features)", 40, list(range(40)), 50, 2.0),
    ]
    print(f"{'case':40} {'Anomaly Lens':>14} {'scikit-learn':>14} {'Python loop':>13} {'vs sklearn':>11} target")
    failed = False
    for name, n_features, axes, n_clusters, target in cases:
        model, x = make_case(rng, args.rows, n_features, axes, n_clusters)
        model.score(x[:1000])  # compile / load the kernel before timing
        ours = best_of(args.repeats, lambda model=model, x=x: model.score(x))
        theirs = best_of(args.repeats, lambda model=model, x=x: sklearn_scores(model, x))
        sub = x[: args.loop_rows, model.axes]
        loop = best_of(1, lambda m=model, s=sub: reference_scores(s, m.mean, m.scale, m.centers, m.max_errors))
        diff = np.abs(model.score(x[:100_000]) - sklearn_scores(model, x[:100_000])).max()
        ratio = theirs / ours
        ok = ratio >= target
        failed |= not ok
        print(
            f"{name:40} {args.rows / ours:>12,.0f}/s {args.rows / theirs:>12,.0f}/s {args.loop_rows / loop:>11,.0f}/s "
            f"{ratio:>10.2f}x >= {target:g}x {'ok' if ok else 'MISSED'}   (max |float32 - float64| = {diff:.1e})"
        )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
