"""K-means anomaly scores with the Edge Impulse SDK's exact arithmetic, fast.

The SDK (`classifier/inferencing_engines/anomaly.h`) does, for each row, in this order:

    z[j]  = (x[axes[j]] - mean[j]) / scale[j]            float32
    d     = z[j] - center[j]                             float32
    acc   = float32(acc + (double)d * d)                 C++ `pow(float, 2)` returns double
    s_k   = sqrtf(acc) - maxError_k                      float32
    score = 1000.0f, lowered by every s_k < score        first minimum wins ties

`reference_scores` is that loop transcribed; the kernels below return the same bits.

Two exact strategies, both compiled by numba and run on all cores in bounded blocks of rows:
- `direct`: the loop above, vectorised across rows. Best for few axes (the usual 3).
- `pruned`: float32 dot products give every row-cluster distance approximately, with a proven
  error bound; only clusters whose score could be the minimum are then recomputed with the
  exact loop (usually one). Best for many axes and clusters.
Rows with a missing or non-finite value in a used axis are unscorable: NaN score, cluster -1.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numba
import numpy as np
import numpy.typing as npt

from .rules import SCORE_CAP
from .scores import Method

_BLOCK = 512  # rows per work item of the direct kernel: keeps z and acc in L1/L2
_U = 2.0**-24  # float32 unit roundoff
THREADSAFE_LAYERS = frozenset({"tbb", "omp"})  # numba's "threadsafe" layers; `workqueue` aborts on concurrent calls
_kernel_lock = threading.RLock()
_layer_is_threadsafe: bool | None = None  # unknown until the first parallel call has loaded a layer

# Array types of the kernels' arguments (numba ignores the annotations; it compiles per dtype seen).
_Rows = npt.NDArray[np.float32] | npt.NDArray[np.float64]  # feature rows, C-contiguous
_F32 = npt.NDArray[np.float32]
_Axes = npt.NDArray[np.int64]


@numba.njit(inline="always")
def _scale_row(x: _Rows, i: int, axes: _Axes, mean: _F32, scale: _F32, z: _F32) -> bool:  # pragma: no cover
    """Fill z with the scaled axes of row i; False when a used value is missing or infinite."""
    for j in range(axes.shape[0]):
        v = np.float32(x[i, axes[j]])
        if not np.isfinite(v):
            return False
        z[j] = (v - mean[j]) / scale[j]
    return True


@numba.njit(inline="always")
def _exact_score(z: _F32, centers: _F32, k: int) -> np.float32:  # pragma: no cover - compiled
    acc = np.float32(0.0)
    for j in range(z.shape[0]):
        d = z[j] - centers[k, j]
        acc = np.float32(np.float64(acc) + np.float64(d) * np.float64(d))
    dist: np.float32 = np.sqrt(acc)  # numpy types a ufunc of a scalar as Any
    return dist


@numba.njit(parallel=True, cache=True, nogil=True)
def _direct_kernel(
    x: _Rows,
    axes: _Axes,
    mean: _F32,
    scale: _F32,
    centers: _F32,
    max_errors: _F32,
    scores: _F32,
    nearest: npt.NDArray[np.int32],
) -> None:  # pragma: no cover
    n = x.shape[0]
    n_axes = axes.shape[0]
    n_clusters = centers.shape[0]
    for b in numba.prange((n + _BLOCK - 1) // _BLOCK):
        start = b * _BLOCK
        rows = min(n, start + _BLOCK) - start
        z = np.empty((n_axes, _BLOCK), np.float32)
        zrow = np.empty(n_axes, np.float32)
        ok = np.empty(_BLOCK, np.bool_)
        for r in range(rows):
            ok[r] = _scale_row(x, start + r, axes, mean, scale, zrow)
            for j in range(n_axes):
                z[j, r] = zrow[j] if ok[r] else np.float32(0.0)
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
            if ok[r]:
                scores[start + r] = min(best[r], SCORE_CAP)
                nearest[start + r] = best_k[r]
            else:
                scores[start + r] = np.nan
                nearest[start + r] = -1


@numba.njit(parallel=True, cache=True, nogil=True)
def _pruned_kernel(
    x: _Rows,
    axes: _Axes,
    mean: _F32,
    scale: _F32,
    centers: _F32,
    max_errors: _F32,
    scores: _F32,
    nearest: npt.NDArray[np.int32],
) -> None:  # pragma: no cover
    """Exact minimum per row, running the exact loop only for clusters that could hold it.

    a_k = |z|^2 + |c_k|^2 - 2 z.c_k with z.c_k summed in float32; |a_k - acc_k| <= delta_k, where
    acc_k is the exact loop's sum (dot error <= n*u*sum|z||c|, loop error <= (n+3)*u*d^2).
    H, an upper bound of the score of the cluster with the nearest center, bounds the minimum.
    Cluster k can reach H only if sqrt(acc_k) <= H + maxError_k + (its roundings) = T_k, i.e.
    a_k - delta_k <= T_k^2: a test without square roots. Every other cluster is skipped; the
    survivors run the exact loop in index order, so the SDK's first minimum is what we return.
    """
    n = x.shape[0]
    n_axes = axes.shape[0]
    n_clusters = centers.shape[0]
    centers_t = np.ascontiguousarray(centers.T)
    cn = np.zeros(n_clusters)
    me = np.empty(n_clusters)
    for k in range(n_clusters):
        me[k] = max_errors[k]
        for j in range(n_axes):
            cn[k] += np.float64(centers[k, j]) ** 2
    rel = 4.0 * (n_axes + 4) * _U
    max_cn = cn.max()
    # Per-cluster parts of the test, hoisted out of the row loop:
    #   T_k = H + maxError_k + 4.04u(|H| + 2|maxError_k|) = h_row + me_slack_k
    #   a_k - delta_k = zn(1 - rel) + cn_k(1 - rel) - 2 z.c_k
    me_slack = me + 8.08 * _U * np.abs(me)
    cn_low = cn * (1.0 - rel)
    for b in numba.prange((n + _BLOCK - 1) // _BLOCK):
        z = np.empty(n_axes, np.float32)
        dots = np.empty(n_clusters, np.float32)
        keep = np.empty(n_clusters, np.bool_)
        for i in range(b * _BLOCK, min(n, (b + 1) * _BLOCK)):
            if not _scale_row(x, i, axes, mean, scale, z):
                scores[i] = np.nan
                nearest[i] = -1
                continue
            zn = 0.0
            dots[:] = 0
            for j in range(n_axes):
                zj = z[j]
                zn += np.float64(zj) ** 2
                for k in range(n_clusters):
                    dots[k] += zj * centers_t[j, k]
            k0 = 0
            best_rel = cn[0] - 2.0 * np.float64(dots[0])
            for k in range(1, n_clusters):
                v = cn[k] - 2.0 * np.float64(dots[k])
                if v < best_rel:
                    best_rel, k0 = v, k
            r0 = np.sqrt(max(zn + best_rel + rel * (zn + cn[k0]), 0.0))
            h = r0 - me[k0] + 4.0 * _U * (r0 + abs(me[k0])) + 1e-30
            h_row = h + 4.04 * _U * abs(h) + 1e-30
            zn_low = zn * (1.0 - rel)
            for k in range(n_clusters):  # branch-free, so it vectorises
                t = h_row + me_slack[k]
                keep[k] = (t >= 0.0) & (zn_low + cn_low[k] - 2.0 * np.float64(dots[k]) <= t * t * (1.0 + 1e-12))
            # Huge rows (a float32 dot product could overflow): evaluate every cluster exactly.
            prune = np.isfinite(h) and zn * max_cn < 1e70
            best = np.float32(np.inf)
            best_k = -1
            for k in range(n_clusters):
                if prune and not keep[k]:
                    continue
                s = _exact_score(z, centers, k) - max_errors[k]
                if s < best:
                    best = s
                    best_k = k
            scores[i] = min(best, SCORE_CAP)
            nearest[i] = best_k


def score_features(
    x: np.ndarray,
    axes: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    centers: np.ndarray,
    max_errors: np.ndarray,
    method: Method = "auto",
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """Score rows of `x` (column `axes[j]` feeds axis j) exactly as the SDK does.

    Returns float32 scores (NaN for unscorable rows) and the index of the cluster whose edge is
    nearest (first on ties, as in the SDK; -1 when unscorable). The minimum starts at +inf and
    is capped at 1000 at the end: the SDK's value, while still naming the nearest cluster of
    far rows.
    """
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    x = np.ascontiguousarray(x)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array of feature rows, got {x.ndim}-D")
    axes = np.asarray(axes, np.int64)
    if len(axes) and (axes.max() >= x.shape[1] or axes.min() < 0):
        raise ValueError(f"the model needs feature {axes.max()} but the rows have {x.shape[1]} columns")
    args = (
        axes,
        np.asarray(mean, np.float32),
        np.asarray(scale, np.float32),
        np.ascontiguousarray(centers, np.float32),
        np.asarray(max_errors, np.float32),
    )
    scores = np.empty(x.shape[0], np.float32)
    nearest = np.empty(x.shape[0], np.int32)
    if x.shape[0] == 0:
        return scores, nearest
    if method == "auto":
        method = "direct" if len(axes) * centers.shape[0] <= 256 else "pruned"
    _run_kernel(_direct_kernel if method == "direct" else _pruned_kernel, x, *args, scores, nearest)
    return scores, nearest


def _run_kernel(kernel: Callable[..., None], *args: np.ndarray) -> None:
    """Call a parallel kernel without ever letting two threads into the `workqueue` layer at once.

    numba loads its threading layer on the first parallel call: TBB or GNU OpenMP run calls from
    many threads side by side; `workqueue` (the only layer where neither library is installed)
    aborts the whole process ("Concurrent access has been detected"). So calls are serialised
    until the first one has shown which layer is in use, and for good if it is not threadsafe.
    """
    global _layer_is_threadsafe
    if _layer_is_threadsafe:
        kernel(*args)
        return
    with _kernel_lock:
        kernel(*args)
        if _layer_is_threadsafe is None:
            _layer_is_threadsafe = threading_layer() in THREADSAFE_LAYERS


def threading_layer() -> str:
    """The numba threading layer scoring runs on ("tbb", "omp" or "workqueue"); loads it if needed."""
    try:
        return numba.threading_layer()
    except ValueError:  # nothing parallel has run yet
        warm_up()
        return numba.threading_layer()


def warm_up() -> None:
    """Load both compiled kernels (numba's first call costs ~0.5 s); safe from any thread."""
    x = np.zeros((1, 1), np.float32)
    for method in ("direct", "pruned"):
        score_features(x, np.zeros(1, np.int64), np.zeros(1), np.ones(1), np.zeros((1, 1)), np.zeros(1), method)


def reference_scores(
    x: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    centers: np.ndarray,
    max_errors: np.ndarray,
) -> np.ndarray:
    """The SDK's loop transcribed line by line, on rows already reduced to the axes.

    Slow; the tests and the benchmark compare the kernels with it.
    """
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
