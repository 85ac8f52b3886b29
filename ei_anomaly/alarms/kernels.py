"""Compiled loops of the alarm simulation (numba); `simulate` and `tuning` call them.

Everything works on a log ordered by device, then time: `starts[d]:starts[d + 1]` are device d's
windows. A smoothing policy reduces to one *level* per window: the smoothed answer at that window
is "anomaly" exactly when `level >= threshold` (float32). That holds because the SDK's answer is
"anomaly" when the anomaly count in the ring is at least `min_readings_same` and strictly larger
than the uncertain count and every class count (anomaly comes last in the SDK's count order, so
it loses every tie), and lowering the threshold only moves readings into the anomaly count. The
level is the largest ring score at which that holds (-inf when none does). Without smoothing the
level is the score itself, compared with `>` (Studio's rule).
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["alarm_flags", "class_levels", "majority_levels", "warm_up"]

_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]


@numba.njit(cache=True, nogil=True)
def majority_levels(scores: _F32, starts: _I64, n: int, k: int) -> _F32:  # pragma: no cover - compiled
    """Anomaly-only impulses: the k-th largest score among the last n readings (the SDK's ring
    starts full of uncertain readings, here -inf), k = max(min same, n // 2 + 1). NaN scores
    (unscorable windows) are never anomalous readings."""
    out = np.empty(scores.shape[0], np.float32)
    ring = np.empty(n, np.float32)
    srt = np.empty(n, np.float32)  # the ring's values, ascending
    for d in range(starts.shape[0] - 1):
        ring[:] = -np.inf
        srt[:] = -np.inf
        pos = 0
        for i in range(starts[d], starts[d + 1]):
            new = scores[i]
            if np.isnan(new):
                new = np.float32(-np.inf)
            old = ring[pos]
            ring[pos] = new
            pos = (pos + 1) % n
            # remove `old` from the sorted copy, insert `new`
            j = 0
            while srt[j] != old:
                j += 1
            while j + 1 < n and srt[j + 1] < new:
                srt[j] = srt[j + 1]
                j += 1
            while j > 0 and srt[j - 1] > new:
                srt[j] = srt[j - 1]
                j -= 1
            srt[j] = new
            out[i] = srt[n - k]
    return out


@numba.njit(cache=True, nogil=True)
def class_levels(
    scores: _F32, classes: npt.NDArray[np.int32], n_classes: int, starts: _I64, n: int, k: int
) -> _F32:  # pragma: no cover - compiled
    """Impulses with a classifier: `classes[i]` is window i's class reading (-1: no class reached
    the classifier confidence, an uncertain reading). The level is the highest ring score at
    which the anomaly count reaches k (min same) and beats the uncertain count and every class."""
    out = np.empty(scores.shape[0], np.float32)
    ring_s = np.empty(n, np.float32)
    ring_c = np.empty(n, np.int32)
    counts = np.zeros(n_classes, np.int64)
    for d in range(starts.shape[0] - 1):
        ring_s[:] = -np.inf
        ring_c[:] = -1
        pos = 0
        for i in range(starts[d], starts[d + 1]):
            s = scores[i]
            ring_s[pos] = np.float32(-np.inf) if np.isnan(s) else s
            ring_c[pos] = classes[i]
            pos = (pos + 1) % n
            counts[:] = 0
            uncertain = 0
            for j in range(n):
                if ring_c[j] < 0:
                    uncertain += 1
                else:
                    counts[ring_c[j]] += 1
            order = np.argsort(-ring_s)  # highest score first
            level = np.float32(-np.inf)
            anomalies = 0
            j = 0
            while j < n:
                value = ring_s[order[j]]
                if value == -np.inf:
                    break
                while j < n and ring_s[order[j]] == value:  # equal scores turn anomalous together
                    c = ring_c[order[j]]
                    if c < 0:
                        uncertain -= 1
                    else:
                        counts[c] -= 1
                    anomalies += 1
                    j += 1
                top_class = 0
                for c in range(n_classes):
                    if counts[c] > top_class:
                        top_class = counts[c]
                if anomalies >= k and anomalies > uncertain and anomalies > top_class:
                    level = value
                    break
            out[i] = level
    return out


@numba.njit(cache=True, nogil=True)
def alarm_flags(
    levels: _F32, starts: _I64, times: npt.NDArray[np.float64], at: float, cooldown: float
) -> npt.NDArray[np.bool_]:  # pragma: no cover - compiled
    """Where an alarm is raised: the answer (`level >= at`) turns anomalous, and no raised alarm of
    the same device is less than `cooldown` seconds earlier."""
    out = np.zeros(levels.shape[0], np.bool_)
    level = np.float32(at)
    for d in range(starts.shape[0] - 1):
        before = False
        last = -np.inf
        for i in range(starts[d], starts[d + 1]):
            on = levels[i] >= level
            if on and not before and (cooldown <= 0.0 or times[i] - last >= cooldown):
                out[i] = True
                last = times[i]
            before = on
    return out


def warm_up() -> None:
    """Load the compiled loops (numba's first call costs a few tenths of a second); any thread."""
    scores = np.zeros(2, np.float32)
    starts = np.array([0, 2], np.int64)
    majority_levels(scores, starts, 2, 2)
    class_levels(scores, np.zeros(2, np.int32), 1, starts, 2, 1)
    alarm_flags(scores, starts, np.zeros(2), 0.0, 0.0)
