"""The report in a real browser: opened from disk with the network blocked, and downloaded from the app."""

from __future__ import annotations

import pytest

from ei_anomaly.demo import ANOMALY_SESSION_CSV, load_demo_model
from tests.support.e2e import require_chromium, streamlit_app, wait_idle
from tests.support.offline import open_offline
from tests.support.report import DEMO_FIGURES, SCORING_FIGURES, hostile_demo_metadata, report_html, scored_demo_file

pytestmark = pytest.mark.browser

require_chromium()

sync_api = pytest.importorskip("playwright.sync_api")


def test_report_opens_offline_with_every_chart_drawn(browser, tmp_path):
    model = load_demo_model()
    html = report_html(model, threshold=0.3, title="t", source_label="s", scored=scored_demo_file(model))
    path = tmp_path / "report.html"
    path.write_text(html)
    page, errors, blocked = open_offline(browser, path)
    n = DEMO_FIGURES + SCORING_FIGURES
    assert page.locator("div.plot").count() == n
    assert page.locator("div.plot .main-svg").first.is_visible()
    assert page.evaluate("() => [...document.querySelectorAll('div.plot')].filter(p => p._fullLayout).length") == n
    # interactive: hovering a confusion-matrix cell shows its tooltip
    cells = page.locator("div.plot").nth(1).locator(".nsewdrag").first
    cells.scroll_into_view_if_needed()
    box = cells.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25, steps=5)
    page.locator(".hoverlayer .hovertext").first.wait_for(timeout=10_000)
    assert "actual normal" in page.locator(".hoverlayer .hovertext").first.text_content()
    assert errors == []
    assert blocked == []
    page.close()


def test_the_app_downloads_the_report_with_the_last_upload(browser, tmp_path):
    with streamlit_app() as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/scoring")
        wait_idle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(ANOMALY_SESSION_CSV))
        page.get_by_text("Anomaly rate").wait_for()
        wait_idle(page, charts=2)
        page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Overview").click()
        page.get_by_text("with your last scored upload").wait_for(timeout=30_000)
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Download this view").click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        page.close()
    assert saved.name == "anomaly-report-continuous-motion-demo.html"
    html = saved.read_text()
    assert 'id="scoring"' in html and "session_with_anomalies.csv" in html
    page, errors, blocked = open_offline(browser, saved)
    assert page.locator("div.plot").count() == DEMO_FIGURES + SCORING_FIGURES
    assert errors == [] and blocked == []
    page.close()


def test_hostile_metadata_renders_as_text_in_the_browser(browser, tmp_path):
    from ei_anomaly import load_metadata

    html = report_html(load_metadata(hostile_demo_metadata()), threshold=0.3, title="<i>t</i>", source_label="s")
    path = tmp_path / "hostile.html"
    path.write_text(html)
    page, errors, blocked = open_offline(browser, path)
    assert errors == [] and blocked == []
    assert page.evaluate("() => window.__injected === undefined")
    assert page.locator("img, main i, svg a").count() == 0  # no tag from the metadata became an element
    assert "<img src=x onerror=alert(1)>" in page.locator("#threshold").inner_text()
    title = page.locator("div.plot").nth(1).locator(".gtitle").text_content()
    assert title == "Confusion matrix (<a href='https://evil.example'>int8</a>)"
    page.close()


def test_the_notebook_view_draws_every_chart_in_its_frame_offline(browser, tmp_path):
    """What a notebook shows for `Review(...)`: the report in a frame, every chart drawn, no request."""
    from ei_anomaly import Review
    from ei_anomaly.demo import GMM_DEMO_DIR

    path = tmp_path / "notebook-cell.html"
    path.write_text(f"<!DOCTYPE html><html><body>{Review(GMM_DEMO_DIR)._repr_html_()}</body></html>")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    blocked: list[str] = []
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith("file://")
            else (blocked.append(route.request.url), route.abort())
        ),
    )
    page.goto(path.as_uri())
    frame = page.frame_locator("iframe")
    frame.locator("div.plot .main-svg").first.wait_for(timeout=60_000)
    inner = next(f for f in page.frames if f != page.main_frame)
    inner.wait_for_function("() => [...document.querySelectorAll('div.plot')].every(p => p.querySelector('.main-svg'))")
    drawn = inner.evaluate(
        "() => [...document.querySelectorAll('div.plot')].filter(p => p.querySelector('.main-svg')).length"
    )
    assert (
        drawn == inner.evaluate("() => document.querySelectorAll('script[data-figure]').length") == 9
    )  # one model type; the false-alarm bound from its validation windows labelled normal
    assert blocked == []
    page.close()
