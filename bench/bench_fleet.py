"""The Fleet page at fleet size, in a real browser: 1,000,000 windows from 200 devices.

Generates a fleet log (a timestamp, a device id, the demo block's three axes; each device's windows
over one day, rows in arrival order, not time order; about 2% of windows shaken, and a few devices
drifting; reproducible), starts `streamlit run app.py`, uploads it on the Scoring page, then in
headless Chromium measures on the Fleet page:
- arriving: from clicking "Fleet" to every chart drawn and the script idle (target <= 3 s);
- one threshold slider step (one arrow key): to the drill-down's threshold line moved (seen) and
  to the page settled (script idle, every chart drawn) (target <= 0.5 s settled), median of 5;
- one smoothing change (n readings): to the page settled, median of 4;
and for each action Chromium's main-thread time (CDP Performance.getMetrics TaskDuration).
The baseline column is the same steps on the bundled demo fleet log (15,552 windows, 36 devices).

Run: python -m bench.bench_fleet [--rows 1000000] [--devices 200]
(writes the file under bench/data/, ignored by git). Targets (issue #16): first draw <= 3 s, a
policy change settled <= 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from bench.bench_browser import metric_text, peak_rss
from ei_anomaly.demo import FLEET_LOG_CSV, load_demo_model
from tests.support.e2e import launch, streamlit_server, wait_drawn, wait_idle

HERE = Path(__file__).resolve().parent
TARGETS = {"arrive": 3.0, "change": 0.5}
CHARTS = 3  # grid, curve, drill-down (the explanation is off by default)


def fleet_file(rows: int, devices: int, seed: int = 16) -> Path:
    path = HERE / "data" / f"fleet_devices_{rows}_{devices}.csv"
    if path.exists():
        return path
    model = load_demo_model()
    rng = np.random.default_rng(seed)
    device = rng.integers(0, devices, rows)
    k = rng.integers(0, model.n_clusters, rows)
    z = model.centers[k] + rng.normal(0, 0.12, (rows, len(model.axes)))
    shaken = rng.random(rows) < 0.02
    z[shaken] += rng.normal(0, 1.5, (int(shaken.sum()), len(model.axes)))
    drifting = device < max(devices // 40, 1)
    seconds = rng.uniform(0, 86_400, rows)
    z[drifting] += (seconds[drifting] / 86_400 * 2.0)[:, None]
    x = model.to_original(z)
    arrival = np.argsort(seconds + rng.exponential(300, rows))  # late deliveries
    start = np.datetime64("2026-11-27T00:00:00", "ms")
    stamps = (start + (seconds * 1000).astype("int64").astype("timedelta64[ms]")).astype(str)
    columns: dict[str, Any] = {
        "timestamp": pa.array(stamps[arrival]),
        "device": pa.array(np.char.add("dev-", np.char.zfill(device[arrival].astype(str), 3))),
    }
    for j, label in enumerate(model.axis_labels):
        columns[label] = pa.array(np.round(x[arrival, j], 5))
    path.parent.mkdir(exist_ok=True)
    pacsv.write_csv(pa.table(columns), path)
    return path


def task_duration(cdp: Any) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


def settled(page: Any) -> None:
    page.wait_for_timeout(50)  # let the rerun the action started begin
    wait_drawn(page, charts=CHARTS, timeout_ms=120_000)


def measure(path: Path, steps: int = 5) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with streamlit_server() as (url, proc), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1440, "height": 1100})
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(f"{url}/scoring")
        wait_idle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
        page.get_by_text("Anomaly rate").wait_for(timeout=600_000)
        wait_drawn(page, charts=2, timeout_ms=600_000)

        out: dict[str, Any] = {}
        busy = task_duration(cdp)
        start = time.perf_counter()
        page.get_by_role("link", name="Fleet").click()
        page.wait_for_url("**/fleet")
        page.get_by_role("heading", name="Fleet alarms").wait_for()
        wait_drawn(page, charts=CHARTS, timeout_ms=120_000)
        out["arrive"] = time.perf_counter() - start
        out["arrive_task"] = task_duration(cdp) - busy
        out["alarms"] = metric_text(page, "Alarms")

        thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
        seen, done, tasks = [], [], []
        for _ in range(steps):
            value = float(thumb.get_attribute("aria-valuenow") or thumb.input_value())
            expected = f"threshold {round(value + 0.01, 2):g}"
            thumb.focus()
            busy = task_duration(cdp)
            start = time.perf_counter()
            thumb.press("ArrowRight")
            page.wait_for_function(
                """(text) => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                    .some(c => c.textContent.includes(text))""",
                arg=expected,
                timeout=120_000,
            )
            seen.append(time.perf_counter() - start)
            settled(page)
            done.append(time.perf_counter() - start)
            tasks.append(task_duration(cdp) - busy)
        out["step_seen"], out["step"], out["step_task"] = seen, done, tasks

        n_input = page.get_by_label("n readings", exact=True)
        changes, change_tasks = [], []
        for n in (9, 8, 11, 10):
            before = metric_text(page, "Alarms")
            busy = task_duration(cdp)
            start = time.perf_counter()
            n_input.fill(str(n))
            n_input.press("Enter")
            settled(page)
            changes.append(time.perf_counter() - start)
            change_tasks.append(task_duration(cdp) - busy)
            del before
        out["smooth"], out["smooth_task"] = changes, change_tasks
        out["errors"] = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()
        out["memory"] = peak_rss(proc.pid)
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=200)
    args = parser.parse_args()
    path = fleet_file(args.rows, args.devices)
    base = measure(FLEET_LOG_CSV)
    m = measure(path)
    print(
        f"file: {args.rows:,} windows from {args.devices} devices, {path.stat().st_size / 1e6:.0f} MB CSV; "
        f"baseline: the demo fleet log (15,552 windows, 36 devices); page errors: {m['errors']}"
    )
    print(f"{'Fleet page':40}{'baseline':>10}{'this file':>11}{'ratio':>8}{'target':>10}   Chromium TaskDuration")
    oks = []

    def row(label: str, b: float, v: float, bt: float, vt: float, target: float | None) -> None:
        ok = target is None or v <= target
        oks.append(ok)
        goal = "" if target is None else f"<= {target:g} s"
        verdict = "" if target is None else ("ok" if ok else "MISSED")
        print(f"{label:40}{b:>8.2f} s{v:>9.2f} s{v / b:>7.1f}x{goal:>10} {verdict:6} {bt:.2f} s / {vt:.2f} s")

    med = statistics.median
    row(
        "arrive: first draw, settled",
        base["arrive"],
        m["arrive"],
        base["arrive_task"],
        m["arrive_task"],
        TARGETS["arrive"],
    )
    row("slider step: threshold line moved", med(base["step_seen"]), med(m["step_seen"]), 0, 0, None)
    row(
        "slider step: settled (median of 5)",
        med(base["step"]),
        med(m["step"]),
        med(base["step_task"]),
        med(m["step_task"]),
        TARGETS["change"],
    )
    row(
        "n readings change: settled (median of 4)",
        med(base["smooth"]),
        med(m["smooth"]),
        med(base["smooth_task"]),
        med(m["smooth_task"]),
        TARGETS["change"],
    )
    print("slider steps settled: " + ", ".join(f"{t:.2f}" for t in m["step"]) + " s")
    print("n readings changes settled: " + ", ".join(f"{t:.2f}" for t in m["smooth"]) + " s")
    print(f"server peak memory: {m['memory'] / 1e6:.0f} MB (baseline {base['memory'] / 1e6:.0f} MB)")
    raise SystemExit(0 if all(oks) and not m["errors"] else 1)


if __name__ == "__main__":
    main()
