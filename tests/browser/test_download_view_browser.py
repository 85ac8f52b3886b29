""" "Download this view" gives the report `python -m ei_anomaly report` writes for the same inputs:
a link opens the Fleet page at a threshold with a smoothing and a cool-down, the button downloads,
and the file equals the command's (but for the time it was made and the words naming the source)."""

from __future__ import annotations

import re

import pytest

from ei_anomaly.demo import DEMO_DIR, FLEET_LOG_CSV
from ei_anomaly.report.render import css_string
from tests.support.cli import run_cli
from tests.support.e2e import require_chromium, streamlit_app, wait_idle

pytestmark = pytest.mark.browser

require_chromium()
pytest.importorskip("playwright.sync_api")

GENERATED = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
TITLE = "Anomaly model review: Continuous motion (demo)"  # the app's title; the command is given it


def normalised(html: str, source_label: str) -> str:
    """What may differ between two runs of the same review: when it was made, and the words naming
    where the block came from (the app says the demo's name, the command the file's)."""
    html = GENERATED.sub("<generated>", html).replace(TITLE, "<title>")
    html = html.replace(source_label, "<source>").replace(css_string(source_label)[1:-1], "<source>")
    return re.sub(r'"generated":\s*"[^"]*"', '"generated": ""', html)


def test_download_this_view_is_the_clis_report(browser, tmp_path):
    with streamlit_app() as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(f"{url}/fleet?source=demo&block=4&threshold=0.42&smooth=5:3&cooldown=30")
        wait_idle(page, charts=3)
        with page.expect_download(timeout=120_000) as download:
            page.get_by_role("button", name="Download this view").click()
        app_file = tmp_path / "app.html"
        download.value.save_as(app_file)
        page.close()
    cli_file = tmp_path / "cli.html"
    run_cli(
        "report",
        str(DEMO_DIR / "metadata.json"),
        "--fleet",
        str(FLEET_LOG_CSV),
        "--device",
        "device",
        "--time",
        "timestamp",
        "--smooth",
        "5:3",
        "--cooldown",
        "1800",
        "--threshold",
        "0.42",
        "--title",
        TITLE,
        "-o",
        str(cli_file),
    )
    app_html = normalised(app_file.read_text(), "Continuous motion (demo)")
    cli_html = normalised(cli_file.read_text(), "metadata.json (the bundled demo)")
    assert "smoothing 5:3" in app_html and "0.42" in app_html
    if app_html != cli_html:
        import difflib

        diff = list(difflib.unified_diff(cli_html.splitlines(), app_html.splitlines(), lineterm="", n=0))
        raise AssertionError("\n".join(line[:300] for line in diff[:40]))
