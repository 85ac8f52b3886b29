"""axe-core (through `axe-playwright-python`) on every page the app controls, in presentation mode,
with a link's notes on screen, and in the offline report: no serious or critical violation.

Streamlit's own navigation markup is left out of the scan (its `<ul>` holds `<div>` section headers:
axe's `list` and `listitem` rules); a second test checks that those two rules, there, are all that
remains, so a new violation anywhere fails here (docs/sharing.md says why they remain)."""

from __future__ import annotations

import pytest

from ei_anomaly.demo import ANOMALY_SESSION_CSV, DEMO_DIR, FLEET_LOG_CSV
from tests.support.cli import run_cli
from tests.support.e2e import require_chromium, streamlit_app, wait_idle

pytestmark = pytest.mark.browser

require_chromium()
pytest.importorskip("playwright.sync_api")
axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")

SERIOUS = ("serious", "critical")
STREAMLIT_NAV = '[data-testid="stSidebarNav"]'
STREAMLIT_NAV_RULES = {"list", "listitem"}  # Streamlit's navigation markup: not the app's to change
PAGES = ["", "clusters", "validation", "on_device", "thresholds", "compare", "scoring", "fleet"]


@pytest.fixture(scope="module")
def app_url():
    with streamlit_app() as url:
        yield url


@pytest.fixture(scope="module")
def axe():
    return axe_sync.Axe()


def serious(axe, page, exclude: tuple[str, ...] = (STREAMLIT_NAV,)) -> list[str]:
    """Each serious or critical violation as `rule: target (summary)`."""
    context = {"exclude": [[s] for s in exclude]} if exclude else None
    found = axe.run(page, context=context).response["violations"]
    return [
        f"{v['id']}: {node['target']} ({(node.get('failureSummary') or '').splitlines()[-1].strip()})"
        for v in found
        if v["impact"] in SERIOUS
        for node in v["nodes"]
    ]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("block", [4, 5], ids=["kmeans", "gmm"])
def test_no_serious_violation_on_a_page(browser, app_url, axe, path, block):
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(f"{app_url}/{path}?block={block}")
    wait_idle(page)
    page.wait_for_timeout(1000)  # charts drawn
    wait_idle(page)
    assert serious(axe, page) == []
    page.close()


def test_presentation_mode_and_a_links_notes_pass(browser, app_url, axe):
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(f"{app_url}/?present=1&step=3")
    wait_idle(page, charts=2)
    assert serious(axe, page, exclude=()) == []  # no sidebar, no navigation: nothing left out
    page.goto(f"{app_url}/fleet?threshold=abc&device=nope")
    wait_idle(page)
    assert page.locator('[data-testid="stAlertContentWarning"]').count() >= 2
    assert serious(axe, page) == []
    page.close()


def test_only_streamlits_navigation_rules_remain(browser, app_url, axe):
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(f"{app_url}/thresholds")
    wait_idle(page, charts=4)
    found = axe.run(page).response["violations"]
    rules = {v["id"] for v in found if v["impact"] in SERIOUS}
    assert rules <= STREAMLIT_NAV_RULES, rules
    in_nav = page.evaluate(
        """(targets) => targets.every(t => { const e = document.querySelector(t);
            return e !== null && e.closest('[data-testid="stSidebarNav"]') !== null; })""",
        [n["target"][0] for v in found if v["impact"] in SERIOUS for n in v["nodes"]],
    )
    assert in_nav
    page.close()


def test_the_offline_report_passes(browser, axe, tmp_path):
    out = tmp_path / "report.html"
    run_cli(
        "report",
        str(DEMO_DIR / "metadata.json"),
        "--features",
        str(ANOMALY_SESSION_CSV),
        "--fleet",
        str(FLEET_LOG_CSV),
        "-o",
        str(out),
    )
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(out.as_uri())
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
    assert serious(axe, page, exclude=()) == []
    page.close()
