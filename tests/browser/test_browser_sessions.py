"""Many visitors at once on one `streamlit run` server, each in their own browser context:
everyone sees only their own upload, scores and threshold, and the server stays up (on numba's
`workqueue` threading layer, the one that aborts on concurrent kernel calls).
Prints the server's peak memory (VmHWM); timings are not asserted."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest

from ei_anomaly.demo import ANOMALY_SESSION_CSV, load_demo_model
from ei_anomaly.features import map_columns, read_feature_file, score_table
from tests.support.e2e import CHROMIUM, CHROMIUM_FLAGS, IDLE, require_chromium, streamlit_app

pytestmark = pytest.mark.browser

require_chromium()

async_api = pytest.importorskip("playwright.async_api")

VISITORS = 8
TIMEOUT_MS = 60_000


def visitor_files(tmp: Path) -> list[tuple[Path, int]]:
    """Eight different feature files cut from the demo session: (path, rows)."""
    header, *rows = ANOMALY_SESSION_CSV.read_text().splitlines()
    files = []
    for i in range(VISITORS):
        n = 120 + 50 * i
        start = (37 * i) % (len(rows) - n)
        path = tmp / f"visitor_{i}.csv"
        path.write_text("\n".join([header, *rows[start : start + n]]) + "\n")
        files.append((path, n))
    return files


def expected_anomalies(path: Path, threshold: float) -> int:
    model = load_demo_model()
    table = read_feature_file(path)
    return score_table(table, model, map_columns(table, model)).count_anomalies(threshold)


def server_pid(port: int) -> int:
    """The `streamlit run` process listening on `port` (found by its command line)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(cmd) and str(port).encode() in cmd:
                return int(proc.name)
    raise LookupError(f"no streamlit process on port {port}")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# Counts the script runs the page starts from now on (the app's root flips to "running").
RECORD_RUNS = """() => {
    window.__runs = 0;
    const app = document.querySelector('[data-testid="stApp"]');
    new MutationObserver(() => {
        if (app.getAttribute('data-test-script-state') === 'running') window.__runs += 1;
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


async def idle(page) -> None:
    await page.wait_for_selector('[data-testid="stApp"]', timeout=TIMEOUT_MS)
    await page.wait_for_timeout(300)
    await page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)


async def metric(page, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
    return (await card.locator('[data-testid="stMetricValue"]').inner_text()).strip()


async def slider_value(page) -> float:
    return float(await page.locator('[data-testid="stSlider"] input[type="range"]').first.input_value())


async def visit(browser, url: str, i: int, path: Path) -> dict:
    """Upload this visitor's file and move the threshold i+1 steps of 0.01 up."""
    context = await browser.new_context(viewport={"width": 1300, "height": 1000})
    page = await context.new_page()
    await page.goto(f"{url}/scoring")
    await idle(page)
    await page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    await page.get_by_text("Anomaly rate").wait_for(timeout=TIMEOUT_MS)
    await idle(page)
    await page.locator('[data-testid="stSlider"] input[type="range"]').first.focus()
    for _ in range(i + 1):  # keyboard, not the element: a rerun may redraw the slider meanwhile
        await page.keyboard.press("ArrowRight")
    target = round(0.3 + 0.01 * (i + 1), 2)
    await page.wait_for_function(
        """(t) => Math.abs(Number(document.querySelector('[data-testid="stSlider"] input[type="range"]').value) - t)
                  < 1e-9""",
        arg=target,
        timeout=TIMEOUT_MS,
    )
    await page.wait_for_timeout(500)
    await idle(page)
    return {"page": page, "context": context, "target": target}


async def shown(page) -> tuple[str, str, float]:
    await idle(page)
    return await metric(page, "Rows"), await metric(page, "Anomalies"), await slider_value(page)


async def run_visitors(url: str, files: list[tuple[Path, int]]) -> list[tuple[str, str, float, float]]:
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            sessions = await asyncio.gather(*(visit(browser, url, i, p) for i, (p, _) in enumerate(files)))
            # Everyone has uploaded and moved their slider: rerun every page (Streamlit's "r"
            # shortcut; a reload would start a new session) and look again.
            for s in sessions:
                page = s["page"]
                await page.evaluate(RECORD_RUNS)
                for _ in range(6):  # a key press can land while the page is busy: try again
                    await page.get_by_role("heading", name="Score feature files").click()
                    await page.keyboard.press("r")
                    with contextlib.suppress(async_api.TimeoutError):
                        await page.wait_for_function("() => window.__runs > 0", timeout=5_000)
                        break
                assert await page.evaluate("() => window.__runs") > 0, "the page did not rerun"
            seen = [(*await shown(s["page"]), s["target"]) for s in sessions]
            # A newcomer gets a clean page: nobody's upload.
            fresh = await browser.new_page()
            await fresh.goto(f"{url}/scoring")
            await idle(fresh)
            assert await fresh.get_by_text("Anomaly rate").count() == 0
            return seen
        finally:
            await browser.close()


def test_eight_visitors_each_see_only_their_own_upload_scores_and_threshold(tmp_path):
    files = visitor_files(tmp_path)
    # workqueue: the threading layer of slim images, where concurrent scoring used to abort the server
    with streamlit_app(env={"NUMBA_THREADING_LAYER": "workqueue"}) as url:
        started = time.monotonic()
        pid = server_pid(int(url.rsplit(":", 1)[1]))
        seen = asyncio.run(run_visitors(url, files))
        took = time.monotonic() - started
        peak = peak_rss_mb(pid)
        assert Path(f"/proc/{pid}").exists(), "the server died"
    print(f"\n{VISITORS} concurrent visitors: server peak RSS {peak:.0f} MB, {took:.0f} s for the visitors")
    for (path, n), (rows, anomalies, value, target) in zip(files, seen, strict=True):
        assert rows == f"{n:,}", path.name
        assert value == pytest.approx(target), path.name
        assert anomalies == f"{expected_anomalies(path, target):,}", path.name
