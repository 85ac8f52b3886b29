"""In a real browser: markdown and HTML in uploaded metadata never become images, links or
requests. A listener on 127.0.0.1 stands for the attacker's host; it must receive nothing."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.support.constants import ROOT
from tests.support.e2e import launch, require_chromium, streamlit_app, wait_idle

pytestmark = pytest.mark.browser

require_chromium()

sync_api = pytest.importorskip("playwright.sync_api")
SHOTS = Path(os.environ.get("ANOMALY_LENS_SHOTS", "/tmp/anomaly-lens-screens"))


@pytest.fixture
def listener():
    """The "attacker's" host: records every request it receives."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def hostile(host: str) -> dict:
    meta = json.loads((ROOT / "ei_anomaly/data/demo/metadata.json").read_text())
    img, link = f"![x]({host}/img.png)", f"[click]({host}/link)"
    t = meta["thresholds"][0]
    t["description"], t["helpText"], t["suggestedValueText"] = f"Threshold {img}", f"Help {link}", img
    for m in meta["modelValidationMetrics"]:
        perf = m["onDevicePerformance"][0]
        perf["name"], perf["isDefault"] = f'<a href="{host}/a">MCU</a> <img src="{host}/tag.png"> {img}', True
        perf["hasPerformance"], perf["profilingError"] = False, f"failed: {link} {img}"
        m["additionalMetrics"][0]["name"] = f"AUC {img}"
    return meta


def test_markdown_and_html_in_metadata_fetch_nothing(tmp_path, listener):
    host, hits = listener
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile(host)))
    SHOTS.mkdir(parents=True, exist_ok=True)
    seen: list[str] = []
    with streamlit_app() as url, sync_api.sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.on("request", lambda r: seen.append(r.url))
        page.goto(url)
        wait_idle(page)
        page.get_by_text("Metadata JSON file").click()
        wait_idle(page)
        page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
        page.get_by_text("Accuracy per model type").wait_for()
        for name, charts in (("overview", 0), ("on_device", 3), ("validation", 2), ("thresholds", 3)):
            if name != "overview":
                page.locator('[data-testid="stSidebarNav"] a').filter(has_text=name.replace("_", "-").title()).click()
            wait_idle(page, charts=charts)
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / f"hostile_{name}.png"), full_page=True)
            assert page.locator(f'img[src^="{host}"]').count() == 0, name
            links = page.locator(f'a[href^="{host}"]')
            shown = [links.nth(i).evaluate("e => e.parentElement.outerHTML") for i in range(links.count())]
            assert not shown, f"{name}: live links {shown}"
            assert page.get_by_text("![x](", exact=False).count() > 0, f"{name}: the text should be shown as written"
        browser.close()
    assert not [u for u in seen if u.startswith(host)]
    assert hits == []
