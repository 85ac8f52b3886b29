"""Many callers at once: scoring from several threads never aborts the process, whatever
threading layer numba finds, and gives the same bits as one caller."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.support.constants import ROOT

SCORE_FROM_8_THREADS = textwrap.dedent(
    """
    import sys, threading
    import numba
    import numpy as np
    from ei_anomaly import scoring
    from ei_anomaly.demo import load_demo_model
    from tests.support.constants import tiny_metadata
    from ei_anomaly import load_metadata

    rng = np.random.default_rng(7)
    models = [load_demo_model(), load_metadata(tiny_metadata())]
    rows = [rng.normal(0, 3, (40_000, m.n_features_required)) for m in models]
    barrier = threading.Barrier(8)
    results = {}

    def work(i):
        m, x = models[i % 2], rows[i % 2]
        barrier.wait()  # all eight enter the kernels together
        results[i] = [m.score_full(x, method).score for method in ("direct", "pruned") for _ in range(3)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    layer = numba.threading_layer()
    for i, got in sorted(results.items()):
        m, x = models[i % 2], rows[i % 2]
        ref = scoring.reference_scores(x[:300][:, m.axes], m.mean, m.scale, m.centers, m.max_errors)
        serial = m.score_full(x, "direct").score
        for s in got:
            assert s.tobytes() == serial.tobytes(), i
            assert s[:300].tobytes() == ref.tobytes(), i
    print(layer, len(results))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("layer", ["workqueue", "default"])
def test_eight_threads_scoring_at_once_never_abort_and_agree(layer):
    """A new interpreter on purpose: numba picks its threading layer once per process, and a layer
    entered by two threads at once aborts the whole process."""
    env = {**os.environ, "NUMBA_THREADING_LAYER": layer, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", SCORE_FROM_8_THREADS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    used, n = proc.stdout.split()
    assert n == "8"
    if layer == "workqueue":
        assert used == "workqueue"
