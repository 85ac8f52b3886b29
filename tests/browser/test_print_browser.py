"""The report printed to PDF in Chromium (A4 and Letter): every chart whole on one page, a table's
rows never cut, and a header naming the block and the threshold on every page."""

from __future__ import annotations

import re

import pytest

from ei_anomaly.demo import ANOMALY_SESSION_CSV, DEMO_DIR, FLEET_LOG_CSV
from tests.support.cli import run_cli
from tests.support.e2e import require_chromium

pytestmark = pytest.mark.browser

require_chromium()
pytest.importorskip("playwright.sync_api")
pytest.importorskip("pypdfium2")

from tests.support.printing import pdf_pages_text, print_report  # noqa: E402


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("print") / "report.html"
    run_cli(
        "report",
        str(DEMO_DIR / "metadata.json"),
        "--features",
        str(ANOMALY_SESSION_CSV),
        "--fleet",
        str(FLEET_LOG_CSV),
        "--threshold",
        "0.42",
        "-o",
        str(out),
    )
    return out


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_every_chart_prints_whole_on_one_page_with_the_header(browser, demo_report, tmp_path, paper):
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    pdf = tmp_path / f"report-{paper}.pdf"
    charts, widths = print_report(page, demo_report, pdf, paper, markers=True)
    page.close()
    texts = pdf_pages_text(pdf)
    assert charts >= 10 and len(texts) > 3
    # A4 inside its margins is 186 mm (703 CSS pixels), Letter's wider: every chart is drawn within it.
    assert len(widths) >= charts and max(widths) <= 703

    def page_of(marker: str) -> int:
        found = [i for i, t in enumerate(texts) if marker in t]
        assert len(found) == 1, (marker, found)
        return found[0]

    split = [i for i in range(charts) if page_of(f"CHARTSTART{i}X") != page_of(f"CHARTEND{i}X")]
    assert split == [], f"charts cut across pages: {split}"
    for n, text in enumerate(texts, start=1):
        header = " ".join(text.split())
        assert re.search(r"K-means\s*·\s*threshold 0\.42", header), (n, header[:200])
        assert f"page {n} of {len(texts)}" in header
