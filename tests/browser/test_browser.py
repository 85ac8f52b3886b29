"""End to end in a real browser: Playwright driving Debian's Chromium against `streamlit run app.py`."""

from __future__ import annotations

import re

import pytest

from ei_anomaly.demo import ANOMALY_SESSION_CSV, load_demo_model
from ei_anomaly.features import map_columns, read_feature_file, score_table
from tests.support.constants import API_KEY, PROJECT_ID
from tests.support.e2e import require_chromium, streamlit_app, wait_idle

pytestmark = pytest.mark.browser

require_chromium()

sync_api = pytest.importorskip("playwright.sync_api")

PAGES = {"": 0, "clusters": 1, "validation": 2, "on_device": 3, "thresholds": 4}  # thresholds: + the false-alarm bound


@pytest.fixture(scope="module")
def app_url():
    # The Edge Impulse test types the local server's http URL: a deployment must allow that.
    with streamlit_app(env={"ANOMALY_LENS_ALLOW_CUSTOM_BASE_URL": "1", "ANOMALY_LENS_ALLOW_HTTP": "1"}) as url:
        yield url


@pytest.fixture
def page(browser):
    p = browser.new_page(viewport={"width": 1400, "height": 1000})
    yield p
    p.close()


def metric_value(page, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
    return card.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_a_deep_link_on_a_fresh_server_gets_the_full_app(browser):
    with streamlit_app() as url:
        p = browser.new_page()
        p.goto(f"{url}/thresholds")
        wait_idle(p, charts=4)
        assert "Data source" in p.locator('[data-testid="stSidebar"]').inner_text()
        assert p.locator('[data-testid="stPlotlyChart"]').count() == 4
        p.close()


@pytest.mark.parametrize(("path", "n_charts"), PAGES.items())
def test_every_page_renders_with_its_charts(page, app_url, path, n_charts):
    page.goto(f"{app_url}/{path}")
    wait_idle(page, charts=n_charts)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert page.locator('[data-testid="stPlotlyChart"]').count() == n_charts
    assert "Continuous motion (demo)" in page.locator('[data-testid="stSidebar"]').inner_text()


def expected(threshold: float) -> int:
    model = load_demo_model()
    table = read_feature_file(ANOMALY_SESSION_CSV)
    return score_table(table, model, map_columns(table, model)).count_anomalies(threshold)


def test_upload_scores_and_the_slider_changes_the_count(page, app_url):
    page.goto(f"{app_url}/scoring")
    wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(ANOMALY_SESSION_CSV))
    page.get_by_text("Anomaly rate").wait_for()
    wait_idle(page, charts=2)
    assert metric_value(page, "Anomalies") == str(expected(0.3))
    assert metric_value(page, "Unscorable rows") == "3"
    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
    thumb.focus()
    for _ in range(70):  # 0.30 -> 1.00 in steps of 0.01
        thumb.press("ArrowRight")
    page.wait_for_function(
        """() => Number(document.querySelector('[data-testid="stSlider"] input[type="range"]').value) === 1""",
        timeout=20_000,
    )
    page.wait_for_timeout(500)
    wait_idle(page)
    assert metric_value(page, "Anomalies") == str(expected(1.0))


def open_local_project(page, app_url: str, base_url: str) -> None:
    """Sidebar: the Edge Impulse project source, pointed at the project's own server."""
    page.goto(app_url)
    wait_idle(page)
    page.get_by_text("Edge Impulse project", exact=True).click()
    wait_idle(page)
    for name, value in (("Project ID", str(PROJECT_ID)), ("API key", API_KEY)):
        field = page.get_by_role("textbox", name=name)
        field.fill(value)
        field.press("Enter")
        wait_idle(page)
    page.get_by_text("Advanced").click()
    base = page.get_by_role("textbox", name="API base URL")
    base.fill(base_url)
    base.press("Enter")
    wait_idle(page)


def test_edge_impulse_source_loads_a_block_from_the_local_server(page, app_url, served_api):
    open_local_project(page, app_url, served_api)
    page.get_by_text(re.compile(r"Anomaly detection · project 48213")).first.wait_for(timeout=30_000)
    assert metric_value(page, "Clusters") == "32"
    assert API_KEY not in page.locator('[data-testid="stMain"]').inner_text()


def test_a_100k_row_fleet_log_scores_like_the_cli_and_a_step_stays_quick(page, app_url, tmp_path):
    """A smaller version of `bench/bench_browser.py` (which reports the 1M-row figures), with
    generous bounds: it catches a return of per-step re-scoring or re-hashing, not a slow machine."""
    import subprocess
    import sys
    import time

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from bench.bench_browser import fleet_log
    from ei_anomaly.demo import DEMO_DIR
    from tests.support.constants import ROOT

    csv = tmp_path / "fleet.csv"
    pacsv.write_csv(fleet_log(100_000), csv)
    out = tmp_path / "scored.parquet"
    subprocess.run(
        [sys.executable, "-m", "ei_anomaly", "score", str(DEMO_DIR / "metadata.json"), str(csv), "-o", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    cli = pq.read_table(out).column("is_anomaly").to_numpy(zero_copy_only=False)

    page.goto(f"{app_url}/scoring")
    wait_idle(page)
    start = time.perf_counter()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    page.get_by_text("Anomaly rate").wait_for(timeout=120_000)
    wait_idle(page, charts=2)
    assert time.perf_counter() - start < 60
    assert metric_value(page, "Rows") == "100,000"
    assert metric_value(page, "Anomalies") == f"{int(cli.sum()):,}"

    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
    thumb.focus()
    start = time.perf_counter()
    thumb.press("ArrowRight")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                 .every(c => c.textContent.includes('threshold 0.31'))""",
        timeout=30_000,
    )
    assert time.perf_counter() - start < 15


def test_save_a_threshold_and_see_it_on_the_overview(page, app_url, writable_api):
    open_local_project(page, app_url, writable_api.base_url)
    assert metric_value(page, "Anomaly threshold") == "0.3"
    page.get_by_role("link", name="Thresholds").click()
    wait_idle(page, charts=4)
    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
    thumb.focus()
    for _ in range(20):  # 0.30 -> 0.50
        thumb.press("ArrowRight")
    page.wait_for_timeout(500)
    wait_idle(page, charts=4)
    page.get_by_role("button", name="Save to Edge Impulse").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert "0.3 → 0.5" in dialog.inner_text()
    dialog.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Saved to Edge Impulse").wait_for(timeout=30_000)
    wait_idle(page)
    assert page.get_by_role("dialog").count() == 0
    assert writable_api.stub.blocks[4].metadata["thresholds"][0]["value"] == 0.5
    page.get_by_role("link", name="Overview").click()
    wait_idle(page)
    assert metric_value(page, "Anomaly threshold") == "0.5"
    assert API_KEY not in page.locator('[data-testid="stMain"]').inner_text()
