"""What a person feels: a day of fleet logs scored, tuned and browsed in a real browser.

Generates a realistic feature file (a timestamp, a device id and the demo's 33 features, about
2% anomalous windows; reproducible), starts `streamlit run app.py`, and in headless Chromium
(Debian's, the GUIDE flags, no GPU) times each action until it has *settled*: the script is idle,
every chart on the page is drawn, and the browser has run two animation frames after that. Beside
each time it prints Chromium's main thread for the action, from CDP `Performance.getMetrics`:
its tasks' time (TaskDuration: work the browser does after the page looks done is counted) and
its CPU time (ThreadTime: the same work, not inflated when other jobs share the machine).

Scenarios, each on its own server (fresh memory figures), every figure the median of `--repeats`:
- demo: every page switch on the bundled demo (no upload), then the demo's 595-row session uploaded
  on Scoring and slider steps on it: the baseline for the ratios;
- the 1M-row CSV: upload to full results, a slider step on Scoring, every page switch with it loaded;
- the largest accepted model (`bench.bench_big_model`: 1,000 clusters x 1,500 axes, 31.5 MB JSON)
  opened as a metadata file: every page switch;
- with `--parquet-rows 5000000`: that many rows as Parquet, uploaded (slow: about 1.2 GB).
Server peak memory (VmHWM) is read per scenario and set against the uploaded file's size.

Run: python -m bench.bench_browser [--rows 1000000] [--repeats 5] [--parquet-rows 5000000]
(writes its files under bench/data/, ignored by git). `--only demo,csv` runs some scenarios.
`--app-dir DIR` runs another checkout of the app (e.g. `git worktree add /tmp/before HEAD~3`)
with the same browser and files, for before/after pairs in one run.

More actions on a loaded file (the Fleet page's controls): append a `LoadedAction` to
`LOADED_ACTIONS`; each is timed on the demo session and on the big file, with its target.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ei_anomaly.demo import ANOMALY_SESSION_CSV, DEMO_DIR
from tests.support.e2e import IDLE, at_path, launch, streamlit_server, wait_drawn, wait_idle

HERE = Path(__file__).resolve().parent
# Issue #19's targets (and #16's first draw of the Fleet page), in seconds settled (memory: times the uploaded file).
TARGETS = {
    "fleet_first": 3.0,
    "results": 4.0,
    "results_parquet": 6.0,
    "step": 0.4,
    "switch": 1.0,
    "switch_big": 2.0,
    "memory": 2.5,
}
# Every page, its nav link and its title, in the order the switch cycle visits them.
PAGES = (
    ("Overview", "", "Overview"),
    ("Clusters", "clusters", "Clusters"),
    ("Validation", "validation", "Validation"),
    ("On-device", "on_device", "On-device performance"),
    ("Thresholds", "thresholds", "Thresholds"),
    ("Scoring", "scoring", "Score feature files"),
)
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
CHARTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                         .every(c => c.querySelector('.main-svg'))"""


DEVICES = 200  # devices of the generated fleet log (each with its share of the day's windows)


def fleet_log(rows: int, seed: int = 8, devices: int = DEVICES) -> pa.Table:
    """A day of fleet logs: `rows` windows from `devices` devices, in time order. Normal windows are
    resampled from the demo's training windows with 5% noise; about 2% of the windows shaken (RMS
    features x 2.5-6), the way a loose mount or a bearing fault looks."""
    train = pd.read_csv(DEMO_DIR / "training_features.csv")
    rng = np.random.default_rng(seed)
    values = train.to_numpy(np.float64)[rng.integers(0, len(train), rows)]
    values *= rng.normal(1.0, 0.05, values.shape)
    shaken = rng.random(rows) < 0.02
    rms = [0, 11, 22]
    values[np.ix_(shaken, rms)] *= rng.uniform(2.5, 6.0, (int(shaken.sum()), len(rms)))
    start = np.datetime64("2026-11-27T00:00:00", "ms")
    stamps = (start + np.arange(rows) * np.timedelta64(86_400_000 // max(rows, 1), "ms")).astype(str)
    names = np.char.add("dev-", np.char.zfill(rng.integers(0, devices, rows).astype(str), 3))
    columns = {"timestamp": pa.array(stamps), "device": pa.array(names)}
    for j, name in enumerate(train.columns):
        columns[name] = pa.array(np.round(values[:, j], 5))
    return pa.table(columns)


def make_file(rows: int, fmt: str) -> Path:
    path = HERE / "data" / f"fleet_{rows}x{DEVICES}.{fmt}"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        table = fleet_log(rows)
        if fmt == "csv":
            pacsv.write_csv(table, path)
        else:
            pq.write_table(table, path)
    return path


def make_big_model() -> Path:
    """The largest model the default limits accept, as a metadata file (bench.bench_big_model)."""
    from bench.bench_big_model import big_metadata

    path = HERE / "data" / "big_model.json"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(big_metadata(1000, 1500, 120_000))
    return path


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def metric_text(page: Any, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
    return str(card.locator('[data-testid="stMetricValue"]').inner_text()).strip()


@dataclass(frozen=True)
class Timing:
    """One action: seconds until settled, and Chromium's main thread meanwhile: the time its tasks
    took (TaskDuration, wall time: it grows when the machine is busy) and the CPU time it used
    (ThreadTime: what the action costs the browser, whatever else runs on the machine)."""

    settled: float
    task: float
    cpu: float = 0.0


def median(timings: list[Timing]) -> Timing:
    return Timing(*(statistics.median(getattr(t, f) for t in timings) for f in ("settled", "task", "cpu")))


class Probe:
    """A page and its DevTools session: times actions until settled, with main-thread time."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable")

    def metrics(self) -> dict[str, float]:
        return {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}

    def settle(self, timeout_ms: int = 120_000) -> None:
        """Script idle, every chart drawn, then two animation frames (the browser has painted)."""
        self.page.wait_for_selector(IDLE, timeout=timeout_ms)
        self.page.wait_for_function(CHARTS_DRAWN, timeout=timeout_ms)
        self.page.evaluate(TWO_FRAMES)

    def time(self, act: Callable[[], None], ready: Callable[[], None], timeout_ms: int = 120_000) -> Timing:
        """`act`, then `ready` (waits for the action's visible effect), then settled."""
        self.page.wait_for_timeout(300)  # let the last action's stragglers (hover, focus) pass
        before = self.metrics()
        start = time.perf_counter()
        act()
        ready()
        self.settle(timeout_ms)
        elapsed = time.perf_counter() - start
        after = self.metrics()
        return Timing(
            elapsed, after["TaskDuration"] - before["TaskDuration"], after["ThreadTime"] - before["ThreadTime"]
        )


# --- actions --------------------------------------------------------------------------------------


def upload(probe: Probe, path: Path) -> tuple[Timing, float]:
    """Hand the file to the Scoring page's uploader: (settled full results, seconds to the first metric)."""
    page = probe.page
    first: list[float] = []
    start = time.perf_counter()

    def ready() -> None:
        page.get_by_text("Anomaly rate").wait_for(timeout=900_000)
        first.append(time.perf_counter() - start)
        wait_drawn(page, charts=2, timeout_ms=900_000)
        page.get_by_text("Top anomalies").wait_for(timeout=900_000)

    dropzone = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    timing = probe.time(lambda: dropzone.set_input_files(str(path)), ready, timeout_ms=900_000)
    return timing, first[0]


def slider_steps(probe: Probe, repeats: int, charts: int = 2, every: bool = True) -> list[Timing]:
    """One step of the page's first slider (one arrow key), until every one of the first `charts`
    charts (`every`; else: one of them) shows the new threshold line and the page has settled."""
    page = probe.page
    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
    timings = []
    for _ in range(repeats):
        value = float(thumb.get_attribute("aria-valuenow") or thumb.input_value())
        expected = f"threshold {round(value + 0.01, 2):g}"
        thumb.focus()
        timings.append(
            probe.time(
                partial(thumb.press, "ArrowRight"),
                partial(
                    page.wait_for_function,
                    """([text, n, every]) => {
                        const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
                        const shows = c => c.textContent.includes(text);
                        return charts.length >= n && (every ? charts.slice(0, n).every(shows) : charts.some(shows));
                    }""",
                    arg=[expected, charts, every],
                    timeout=120_000,
                ),
            )
        )
    return timings


def switch_to(probe: Probe, link: str, path: str, title: str) -> Timing:
    page = probe.page

    def ready() -> None:
        page.wait_for_url(at_path(path))
        page.get_by_role("heading", name=title).first.wait_for()

    return probe.time(lambda: page.get_by_role("link", name=link, exact=True).click(), ready)


def page_cycle(probe: Probe, repeats: int) -> dict[str, list[Timing]]:
    """Every page in turn, `repeats` rounds, starting from the current page (switching to it last)."""
    here = probe.page.url.rstrip("/").rsplit("/", 1)[-1]
    order = [p for p in PAGES if p[1] != here] + [p for p in PAGES if p[1] == here]
    out: dict[str, list[Timing]] = {p[0]: [] for p in PAGES}
    for _ in range(repeats):
        for link, path, title in order:
            out[link].append(switch_to(probe, link, path, title))
    return out


def open_metadata_file(probe: Probe, path: Path) -> None:
    page = probe.page
    page.get_by_text("Metadata JSON file or export", exact=True).click()
    wait_idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.get_by_text(re.compile(r"^1000 clusters")).first.wait_for(timeout=300_000)  # the sidebar's summary
    probe.settle(300_000)


@dataclass(frozen=True)
class LoadedAction:
    """An action timed with a file loaded (the demo's session, then the big file): `run` starts on
    the Scoring page with the file scored, goes where it needs (untimed) and returns `repeats`
    timings of the action itself (`Probe.time`)."""

    label: str
    run: Callable[[Probe, int], list[Timing]]
    target: float | None = TARGETS["step"]
    needs_devices: bool = False  # a fleet log (device and time columns): not timed on the demo's session


# --- the Fleet page, on the loaded file (its device and time columns) ------------------------------

FLEET = ("Fleet", "fleet", "Fleet alarms")
FLEET_CHARTS = 3  # device-by-time grid, alarms-per-day curve, one device's drill-down


def charts_text(page: Any, text: str, charts: int = FLEET_CHARTS) -> None:
    """Wait until the page has `charts` Plotly charts and one of them shows `text`."""
    page.wait_for_function(
        """([text, n]) => {
            const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
            return charts.length >= n && charts.some(c => c.textContent.includes(text));
        }""",
        arg=[text, charts],
        timeout=120_000,
    )


def to_fleet(probe: Probe) -> Timing:
    """Switch to the Fleet page: until its three charts are drawn and the page has settled."""
    page = probe.page
    link, path, title = FLEET

    def ready() -> None:
        page.wait_for_url(at_path(path))
        page.get_by_role("heading", name=title).first.wait_for()
        charts_text(page, "Device ")  # the drill-down's title: the last chart

    return probe.time(lambda: page.get_by_role("link", name=link, exact=True).click(), ready)


def on_fleet(probe: Probe) -> None:
    """Untimed: be on the Fleet page, settled."""
    if probe.page.url.rstrip("/").rsplit("/", 1)[-1] != FLEET[1]:
        to_fleet(probe)


def fleet_switches(probe: Probe, repeats: int) -> list[Timing]:
    """Back to Scoring (untimed), then to Fleet again (its log already ordered), `repeats` times."""
    timings = []
    for _ in range(repeats):
        switch_to(probe, "Scoring", "scoring", "Score feature files")
        timings.append(to_fleet(probe))
    return timings


def fleet_slider_steps(probe: Probe, repeats: int) -> list[Timing]:
    """One step of the Fleet page's threshold slider: until the drill-down shows the new threshold
    (the only chart that writes it) and the page has settled."""
    on_fleet(probe)
    return slider_steps(probe, repeats, FLEET_CHARTS, every=False)


def type_number(box: Any, value: int) -> None:
    box.fill(str(value))
    box.press("Enter")


def fleet_smoothing_changes(probe: Probe, repeats: int) -> list[Timing]:
    """A new n readings (typed, Enter; min readings the same stays 7): until the policy line says
    so and the page has settled."""
    on_fleet(probe)
    page = probe.page
    box = page.get_by_label("n readings", exact=True)
    timings = []
    for i in range(repeats):
        n = (9, 8, 11, 10)[i % 4]

        shown = page.get_by_text(f"smoothing {n}:").first  # the policy line under the metrics
        timings.append(probe.time(partial(type_number, box, n), shown.wait_for))
    return timings


def fleet_device_changes(probe: Probe, repeats: int) -> list[Timing]:
    """Another device for the drill-down (the list opened untimed, then an option clicked): until
    the drill-down is that device's and the page has settled."""
    on_fleet(probe)
    page = probe.page
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Device").last
    timings = []
    for i in range(repeats):
        option = page.get_by_role("option").nth(i + 1)
        for _ in range(5):  # a click while the list is still closing does not open it
            box.locator("input").click()
            try:
                option.wait_for(timeout=5_000)
                break
            except Exception:
                page.keyboard.press("Escape")
        name = option.inner_text().strip()
        timings.append(probe.time(option.click, partial(charts_text, page, f"Device {name}:")))
    return timings


# Actions timed with a file loaded (each starts where the previous one left the page).
LOADED_ACTIONS: list[LoadedAction] = [
    LoadedAction("one slider step on Scoring", lambda probe, n: slider_steps(probe, n)),
    # the first visit orders the log per device and time (once per file and columns)
    LoadedAction(
        "first draw of the Fleet page", lambda probe, n: [to_fleet(probe)], TARGETS["fleet_first"], needs_devices=True
    ),
    LoadedAction("switch to Fleet again (from Scoring)", fleet_switches, TARGETS["switch"], needs_devices=True),
    LoadedAction("one slider step on Fleet", fleet_slider_steps, needs_devices=True),
    LoadedAction("one smoothing change on Fleet (n readings)", fleet_smoothing_changes, needs_devices=True),
    LoadedAction("one device change on Fleet (drill-down)", fleet_device_changes, needs_devices=True),
]


# --- scenarios ------------------------------------------------------------------------------------


@dataclass
class Result:
    rows: dict[str, list[Timing]] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)
    memory: int = 0
    errors: int = 0


@contextmanager
def browser_page(app_dir: Path | None) -> Iterator[tuple[Probe, Any]]:
    from playwright.sync_api import sync_playwright

    with streamlit_server(root=app_dir) as (url, proc), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(url)
        wait_idle(page)
        try:
            yield Probe(page), proc
        finally:
            browser.close()


def page_errors(page: Any) -> int:
    return int(page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count())


def run_with_file(path: Path, repeats: int, app_dir: Path | None, cycle: bool, bare: bool = False) -> Result:
    """Upload `path` on Scoring; its loaded actions; then (cycle) every page switch with it loaded.
    `bare`: first every page switch on the demo with no upload."""
    result = Result()
    with browser_page(app_dir) as (probe, proc):
        page = probe.page
        if bare:
            for link, timings in page_cycle(probe, repeats).items():
                result.rows[f"switch to {link} (no upload)"] = timings
        switch_to(probe, "Scoring", "scoring", "Score feature files")
        timing, first = upload(probe, path)
        result.rows["upload to full results"] = [timing]
        result.extra["first metric"] = first
        for action in LOADED_ACTIONS:
            if bare and action.needs_devices:  # the demo's session is one device with no time column
                continue
            result.rows[action.label] = action.run(probe, repeats)
        if cycle:
            for link, timings in page_cycle(probe, repeats).items():
                result.rows[f"switch to {link}"] = timings
        result.errors = page_errors(page)
        result.memory = peak_rss(proc.pid)
    return result


def run_big_model(repeats: int, app_dir: Path | None) -> Result:
    result = Result()
    with browser_page(app_dir) as (probe, proc):
        start = time.perf_counter()
        open_metadata_file(probe, make_big_model())
        result.extra["open"] = time.perf_counter() - start
        for link, timings in page_cycle(probe, repeats).items():
            result.rows[f"switch to {link}"] = timings
        result.errors = page_errors(probe.page)
        result.memory = peak_rss(proc.pid)
    return result


def measure(path: Path, steps: int = 5) -> dict[str, object]:
    """The earlier single-file measurement (kept for other benchmarks that import it): upload,
    `steps` slider steps, switches to Thresholds and Clusters, peak memory; seconds settled."""
    with browser_page(None) as (probe, proc):
        switch_to(probe, "Scoring", "scoring", "Score feature files")
        timing, _ = upload(probe, path)
        anomalies = metric_text(probe.page, "Anomalies")
        steps_taken = slider_steps(probe, steps)
        switches = {
            link: switch_to(probe, link, p, title).settled
            for link, p, title in PAGES
            if link in ("Thresholds", "Clusters")
        }
        return {
            "results": timing.settled,
            "steps": [t.settled for t in steps_taken],
            "step": median(steps_taken).settled,
            "switches": switches,
            "memory": peak_rss(proc.pid),
            "anomalies": anomalies,
            "errors": page_errors(probe.page),
        }


# --- the table ------------------------------------------------------------------------------------


def cell(timings: list[Timing] | None) -> str:
    if not timings:
        return "-"
    m = median(timings)
    return f"{m.settled:5.2f} s ({m.task:4.2f}/{m.cpu:4.2f})"


def verdict(value: float | None, target: float | None) -> str:
    if target is None or value is None:
        return ""
    return f"<= {target:g}  " + ("ok" if value <= target else "MISSED")


def print_table(
    title: str, base_name: str, base: Result | None, name: str, res: Result, targets: dict[str, float]
) -> bool:
    """One line per action: baseline, this scenario, ratio, target; returns whether all targets were met."""
    print(f"\n{title}")
    print(f"{'action':44}{base_name:>24}{name:>24}{'ratio':>8}   target")
    ok = True
    for label, timings in res.rows.items():
        base_key = label.replace(" (no upload)", "")
        b = base.rows.get(label) or base.rows.get(f"{base_key} (no upload)") if base else None
        v = median(timings).settled
        ratio = f"{v / median(b).settled:6.1f}x" if b else ""
        target = next((t for key, t in targets.items() if label.startswith(key)), None)
        ok &= target is None or v <= target
        print(f"{label:44}{cell(b):>24}{cell(timings):>24}{ratio:>8}   {verdict(v, target)}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--parquet-rows", type=int, default=0, help="also upload this many rows as Parquet (slow)")
    parser.add_argument("--only", default="demo,csv,big,parquet", help="scenarios to run (comma-separated)")
    parser.add_argument("--app-dir", type=Path, default=None, help="run this checkout of the app instead")
    parser.add_argument("--no-cycle", action="store_true", help="skip the page switches with the 1M file loaded")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw timings here")
    args = parser.parse_args()
    only = set(args.only.split(","))
    print(
        "settled seconds (Chromium main thread: task seconds / CPU seconds), median of "
        f"{args.repeats}; one upload each; app: {args.app_dir or 'this checkout'}"
    )
    results: dict[str, Result] = {}
    ok = True
    demo = (
        run_with_file(ANOMALY_SESSION_CSV, args.repeats, args.app_dir, cycle=True, bare=True)
        if "demo" in only
        else None
    )
    if demo:
        results["demo"] = demo
        ok &= print_table(
            "The demo (595-row session upload): the baseline", "", None, "demo", demo, {"switch": TARGETS["switch"]}
        )
    if "csv" in only:
        path = make_file(args.rows, "csv")
        size = path.stat().st_size
        res = results["csv"] = run_with_file(path, args.repeats, args.app_dir, cycle=not args.no_cycle)
        targets = {"upload": TARGETS["results"], "one ": TARGETS["step"], "switch": TARGETS["switch"]}
        targets.update({a.label: a.target for a in LOADED_ACTIONS if a.target is not None})
        ok &= print_table(
            f"{args.rows:,} rows, CSV ({size / 1e6:.0f} MB) loaded",
            "demo",
            demo,
            f"{args.rows // 1000:,}k rows",
            res,
            targets,
        )
        ok &= memory_line(res, size, demo)
        print(f"first metric after {res.extra['first metric']:.2f} s")
    if "big" in only:
        res = results["big"] = run_big_model(args.repeats, args.app_dir)
        print(f"\nlargest accepted model (31.5 MB JSON) opened in {res.extra['open']:.1f} s")
        ok &= print_table("Largest accepted model", "demo", demo, "big model", res, {"switch": TARGETS["switch_big"]})
    if args.parquet_rows and "parquet" in only:
        path = make_file(args.parquet_rows, "parquet")
        size = path.stat().st_size
        res = results["parquet"] = run_with_file(path, args.repeats, args.app_dir, cycle=False)
        targets = {"upload": TARGETS["results_parquet"], "one ": TARGETS["step"]}
        ok &= print_table(
            f"{args.parquet_rows:,} rows, Parquet ({size / 1e6:.0f} MB)", "demo", demo, "parquet", res, targets
        )
        ok &= memory_line(res, size, demo)
    errors = sum(r.errors for r in results.values())
    print(f"\npage errors: {errors}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    name: {
                        "rows": {k: [t.__dict__ for t in v] for k, v in r.rows.items()},
                        "extra": r.extra,
                        "memory": r.memory,
                    }
                    for name, r in results.items()
                },
                indent=1,
            )
        )
    raise SystemExit(0 if ok and not errors else 1)


def memory_line(res: Result, size: int, base: Result | None) -> bool:
    ratio = res.memory / size
    baseline = f"{base.memory / 1e6:.0f} MB" if base else "-"
    print(
        f"{'server peak memory':44}{baseline:>24}{f'{res.memory / 1e6:.0f} MB':>24}{ratio:7.1f}x   "
        f"{verdict(ratio, TARGETS['memory'])} (x the file)"
    )
    return ratio <= TARGETS["memory"]


if __name__ == "__main__":
    main()
