"""Page views with the biggest model the default limits accept (issue 9: a 180 MB model made
every view take 34-71 s). Builds a ~31.5 MB metadata JSON (1,000 clusters x 1,500 axes,
120,000 validation windows), uploads it through AppTest and times the first view and reruns
of each page. Run: python -m bench.bench_big_model [--clusters 1000 --axes 1500 --windows 120000]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from streamlit.testing.v1 import AppTest

from ei_anomaly.demo import DEMO_DIR
from ei_anomaly.limits import Limits
from ei_anomaly.review import SourceKind
from tests.support.constants import ROOT

PAGES = ("thresholds", "validation", "on_device", "scoring", "clusters")


def big_metadata(clusters: int, axes: int, windows: int) -> bytes:
    rng = np.random.default_rng(0)
    meta = json.loads((DEMO_DIR / "metadata.json").read_text())
    meta["axes"] = list(range(axes))
    meta["mean"] = rng.normal(size=axes).round(6).tolist()
    meta["scale"] = (rng.random(axes) + 0.5).round(6).tolist()
    meta["clusters"] = [{"center": rng.normal(size=axes).round(5).tolist(), "maxError": 1.0} for _ in range(clusters)]
    predictions = meta["modelValidationMetrics"][0]["predictions"]
    meta["modelValidationMetrics"][0]["predictions"] = (predictions * (windows // len(predictions) + 1))[:windows]
    return json.dumps(meta).encode()


def timed(at: AppTest) -> float:
    started = time.perf_counter()
    at.run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--axes", type=int, default=1500)
    parser.add_argument("--windows", type=int, default=120_000)
    args = parser.parse_args()
    data = big_metadata(args.clusters, args.axes, args.windows)
    print(f"model JSON {len(data) / 2**20:.1f} MB (limit {Limits.from_env().metadata_bytes / 2**20:.0f} MB)")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    at.sidebar.radio[0].set_value(SourceKind.FILE).run()
    at.sidebar.file_uploader[0].set_value(("big.json", data, "application/json"))
    print(f"overview: first view {timed(at):.2f} s; errors {[e.value[:120] for e in at.error]}")
    print(f"overview: reruns {', '.join(f'{timed(at):.2f}' for _ in range(3))} s")
    for page in PAGES:
        at = at.switch_page(f"pages/{page}.py")
        print(f"{page}: view {timed(at):.2f} s, rerun {timed(at):.2f} s")


if __name__ == "__main__":
    main()
