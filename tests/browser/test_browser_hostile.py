"""Outside text stays text, in a real browser: a hostile metadata file and a hostile feature file
(a payload in every string field: markup, links, CSS url(), markdown images, scripts, shell
metacharacters, formulas, bidi and control characters, megabyte strings) through every page of
app.py, the report opened from disk and the CLI's outputs. A listener on 127.0.0.1 stands for the
attacker's host: it must receive nothing, no link or style from the data may be live, no script
may run, and the payloads must be shown as the text they are."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from ei_anomaly.features.dialect import is_number
from tests.support.constants import ROOT
from tests.support.e2e import require_chromium, streamlit_app, wait_idle
from tests.support.hostile import app_page_titles, hostile_features, hostile_metadata, shown_markers

pytestmark = pytest.mark.browser

require_chromium()

sync_api = pytest.importorskip("playwright.sync_api")
SHOTS = Path(os.environ.get("ANOMALY_LENS_SHOTS", "/tmp/anomaly-lens-screens"))
# The megabyte strings must reach the pages (and be cut there), not stop at the text limit.
ENV = {"ANOMALY_LENS_MAX_TEXT_CHARS": "2000000"}
# Pages that show outside text in full with these files loaded (the metadata's names, labels and
# metric values; the feature file's columns and cells).
TEXT_PAGES = ("Overview", "Validation", "On-device", "Scoring")

# Attributes through which a document fetches or links: none may carry the listener's address.
LIVE_ATTRIBUTES = """(host) => {
    const live = ['href', 'xlink:href', 'src', 'srcset', 'style', 'action', 'formaction', 'poster',
                  'background', 'data', 'ping'];
    const found = [];
    for (const el of document.querySelectorAll('*')) {
        for (const name of el.getAttributeNames()) {
            const value = el.getAttribute(name) || '';
            if ((live.includes(name.toLowerCase()) || name.toLowerCase().startsWith('on')) && value.includes(host)) {
                found.push(`${el.tagName} ${name}=${value.slice(0, 120)}`);
            }
        }
    }
    for (const style of document.querySelectorAll('style')) {
        if ((style.textContent || '').includes(host)) found.push('STYLE element');
    }
    return {found, injected: window.__injected || null};
}"""
CHARTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                   .every(c => c.querySelector('.main-svg'))"""
SHOWN_TEXT = """() => {
    const svg = [...document.querySelectorAll('svg text')].map(t => t.textContent).join('\\n');
    return (document.body.innerText + '\\n' + svg).replaceAll('\\u2060', '');
}"""


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """The "attacker's" host: records every request it receives."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def do_POST(self) -> None:
            self.do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


@pytest.fixture
def hostile_files(tmp_path, listener) -> tuple[Path, Path]:
    host, _ = listener
    meta = tmp_path / "hostile.json"
    meta.write_text(json.dumps(hostile_metadata(host)))
    return meta, hostile_features(host, tmp_path / "hostile.csv")


def check_page(page, host: str, where: str) -> str:
    """No live link, fetch or script from the data; returns the text the page shows."""
    assert page.locator('[data-testid="stException"]').count() == 0, where
    state = page.evaluate(LIVE_ATTRIBUTES, host)
    assert not state["found"], f"{where}: live attributes from data: {state['found'][:5]}"
    assert state["injected"] is None, f"{where}: a script from data ran"
    shown: str = page.evaluate(SHOWN_TEXT)
    acting = [c for c in ("\u202e", "\u2066", "\x1b", "\x07") if c in shown]
    assert not acting, f"{where}: control or bidi characters from data act instead of showing: {acting}"
    return shown


def test_every_page_shows_hostile_text_as_text_and_fetches_nothing(browser, hostile_files, listener):
    host, hits = listener
    meta, features = hostile_files
    titles = app_page_titles()
    assert "Scoring" in titles and len(titles) >= 6
    SHOTS.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    seen: dict[str, set[str]] = {}
    with streamlit_app(env=ENV) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.on("request", lambda r: requested.append(r.url))
        page.goto(url)
        wait_idle(page)
        page.get_by_text("Metadata JSON file").click()
        wait_idle(page)
        page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(meta))
        page.get_by_text("Accuracy per model type").wait_for(timeout=60_000)
        nav = page.locator('[data-testid="stSidebarNav"] a')
        nav.filter(has_text="Scoring").click()
        wait_idle(page)
        page.locator('[data-testid="stMain"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(
            str(features)
        )
        page.get_by_text("Anomaly rate").wait_for(timeout=60_000)
        for title in titles:
            nav.filter(has_text=title).first.click()
            wait_idle(page, charts=0)
            page.wait_for_function(CHARTS_DRAWN, timeout=60_000)
            page.evaluate(  # open what is folded away, so it is rendered and checked too
                """() => document.querySelectorAll('[data-testid="stExpander"] details:not([open]) > summary')
                        .forEach(s => s.click())"""
            )
            wait_idle(page)
            page.wait_for_function(CHARTS_DRAWN, timeout=60_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / f"hostile_{title.lower()}.png"), full_page=True)
            shown = check_page(page, host, title)
            seen[title] = {m for m in shown_markers(host) if m in shown}
        page.close()
    # every payload is shown as the text it is somewhere, and the pages that show outside text in
    # full show it there (other pages may show no outside text at all: the Fleet page
    # says the hostile time column holds no readable time, Compare waits for a second block)
    assert set().union(*seen.values()) == set(shown_markers(host)), seen
    assert all(seen[title] for title in TEXT_PAGES), "; ".join(f"{t}: {len(found)}" for t, found in seen.items())
    assert not [u for u in requested if u.startswith(host)]
    assert hits == []


def cli(*args: object) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        [sys.executable, "-m", "ei_anomaly", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, **ENV},
        capture_output=True,
        timeout=300,
    )
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc


def test_the_report_from_disk_and_the_cli_outputs_keep_hostile_text_as_text(browser, hostile_files, listener, tmp_path):
    host, hits = listener
    meta, features = hostile_files
    report = tmp_path / "report.html"
    proc = cli("report", meta, "--features", features, "-o", report)
    assert proc.returncode == 0, proc.stderr
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(report.as_uri())
    page.wait_for_function(
        "() => [...document.querySelectorAll('div.plot')].every(p => p.querySelector('.main-svg'))", timeout=60_000
    )
    page.wait_for_timeout(500)
    shown = check_page(page, host, "report")
    assert [m for m in shown_markers(host) if m in shown], "the report shows no payload as text"
    page.close()
    assert not [u for u in requested if u.startswith(host)]

    # score: a spreadsheet-safe CSV has no cell (header included) a spreadsheet would run
    out = tmp_path / "scored.csv"
    proc = cli("score", meta, features, "-o", out, "--spreadsheet-safe")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(out.read_text())))
    risky = [
        c for row in rows for c in row if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not is_number(c))
    ]
    assert not risky, risky[:5]
    assert any(c.startswith("'=HYPERLINK") for row in rows for c in row)
    for stream in (proc.stderr, cli("score", meta, features, "-o", tmp_path / "s.parquet").stderr):
        text = stream.decode()
        assert "\x1b" not in text and "\u202e" not in text, "control characters from data reach the terminal"
    assert hits == []
