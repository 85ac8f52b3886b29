"""K-means anomaly scores with the Edge Impulse SDK's exact arithmetic.

The SDK (`classifier/inferencing_engines/anomaly.h`) does, for each row, in this order:

    z[j]  = (x[j] - mean[j]) / scale[j]                  float32
    d     = z[j] - center[j]                             float32
    acc   = float32(acc + (double)d * d)                 C++ `pow(float, 2)` returns double
    s_k   = sqrtf(acc) - maxError_k                      float32
    score = 1000.0f, lowered by every s_k < score        first minimum wins ties

`score_selected` repeats that order exactly, so its results equal the device's bit for bit
(`reference_scores` is the same maths as a plain Python loop, used by the tests and the
benchmark). The kernel is compiled by numba and runs on all cores in blocks of rows, so
memory stays bounded whatever the number of rows.
"""

from __future__ import annotations

import numba
import numpy as np

SCORE_CAP = np.float32(1000.0)
_BLOCK = 512


@numba.njit(parallel=True, cache=True, fastmath=False, nogil=True)
def _kmeans_kernel(x, mean, scale, centers, max_errors, scores, nearest):  # pragma: no cover
    n, n_axes = x.shape
    n_clusters = centers.shape[0]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        start = b * _BLOCK
        rows = min(n, start + _BLOCK) - start
        z = np.empty((n_axes, _BLOCK), np.float32)
        for j in range(n_axes):
            for r in range(rows):
                z[j, r] = (x[start + r, j] - mean[j]) / scale[j]
        best = np.full(_BLOCK, np.inf, np.float32)
        best_k = np.full(_BLOCK, -1, np.int32)
        acc = np.empty(_BLOCK, np.float32)
        for k in range(n_clusters):
            acc[:rows] = 0
            for j in range(n_axes):
                c = centers[k, j]
                for r in range(rows):
                    d = z[j, r] - c
                    acc[r] = np.float32(np.float64(acc[r]) + np.float64(d) * np.float64(d))
            me = max_errors[k]
            for r in range(rows):
                s = np.sqrt(acc[r]) - me
                if s < best[r]:
                    best[r] = s
                    best_k[r] = k
        for r in range(rows):
            scores[start + r] = min(best[r], SCORE_CAP)
            nearest[start + r] = best_k[r]


def score_selected(
    x: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    centers: np.ndarray,
    max_errors: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Score rows whose columns are already the block's axes, in axis order.

    Returns float32 scores and the index of the cluster whose edge is nearest (the first
    one on ties, as in the SDK). Starting the minimum at +inf and capping at the end gives
    the SDK's value (it starts at 1000) while still naming the nearest cluster of far rows.
    """
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    if x32.ndim != 2 or x32.shape[1] != len(mean):
        raise ValueError(f"expected a 2-D array with {len(mean)} columns, got shape {x32.shape}")
    scores = np.empty(x32.shape[0], np.float32)
    nearest = np.empty(x32.shape[0], np.int32)
    if x32.shape[0]:
        _kmeans_kernel(
            x32,
            np.asarray(mean, np.float32),
            np.asarray(scale, np.float32),
            np.ascontiguousarray(centers, np.float32),
            np.asarray(max_errors, np.float32),
            scores,
            nearest,
        )
    return scores, nearest


def reference_scores(
    x: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    centers: np.ndarray,
    max_errors: np.ndarray,
) -> np.ndarray:
    """The SDK's loop transcribed line by line; slow, for tests and the benchmark baseline."""
    f32 = np.float32
    out = np.empty(len(x), np.float32)
    for i, row in enumerate(np.asarray(x, np.float32)):
        z = [(f32(v) - f32(m)) / f32(s) for v, m, s in zip(row, mean, scale, strict=True)]
        best = SCORE_CAP
        for center, me in zip(np.asarray(centers, np.float32), np.asarray(max_errors, np.float32), strict=True):
            acc = f32(0.0)
            for zj, cj in zip(z, center, strict=True):
                d = f32(zj - cj)
                acc = f32(float(acc) + float(d) * float(d))
            s = f32(np.sqrt(acc)) - me
            if s < best:
                best = s
        out[i] = best
    return out
