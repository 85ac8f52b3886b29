"""Comparing blocks in a real browser: the Compare page, and the comparison report opened offline."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ei_anomaly.demo import DEMO_DIR, GMM_DEMO_DIR
from tests.support.constants import ROOT
from tests.support.e2e import require_chromium, streamlit_app, wait_idle
from tests.support.offline import open_offline
from tests.support.report import DEMO_FIGURES

pytestmark = pytest.mark.browser

require_chromium()

sync_api = pytest.importorskip("playwright.sync_api")


def test_the_comparison_report_opens_offline_with_every_chart(browser, tmp_path):
    out = tmp_path / "compare.html"
    proc = subprocess.run(
        [sys.executable, "-m", "ei_anomaly", "report", DEMO_DIR, "--compare", GMM_DEMO_DIR, "-o", out],
        cwd=ROOT,
        capture_output=True,
    )
    assert proc.returncode == 0, proc.stderr
    page, errors, blocked = open_offline(browser, out)
    compared = page.locator("#compare div.plot")
    assert compared.count() == 3  # two confusion matrices, the precision-recall curves
    assert page.locator("div.plot").count() == DEMO_FIGURES + 3  # and block A's own review
    legend = compared.nth(2).locator(".legend").text_content()
    assert "its threshold 0.3" in legend and "its threshold 2.05" in legend
    assert "Recall at a matched false-alarm rate" in page.locator("#compare").inner_text()
    assert errors == [] and blocked == []
    page.close()


def test_the_compare_page_in_the_browser(browser):
    with streamlit_app() as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/compare")
        wait_idle(page, charts=4)
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "On-device cost per MCU" in text and "Where they agree" in text and "On a fleet log" in text
        assert page.locator('[data-testid="stPlotlyChart"]').count() == 4  # with the alarm curves on the demo fleet log
        page.close()
