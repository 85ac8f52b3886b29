"""The Fleet page in a real browser: the demo fleet drawn, a smoothing change re-simulated."""

from __future__ import annotations

import pytest

from ei_anomaly.alarms import AlarmPolicy, Smoothing, simulate
from tests.support.e2e import require_chromium, streamlit_app, wait_drawn, wait_idle
from tests.support.fleet import demo_fleet_log

pytestmark = pytest.mark.browser

require_chromium()
pytest.importorskip("playwright.sync_api")


def metric_value(page, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
    return card.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_fleet_page_draws_and_follows_the_smoothing(browser):
    log = demo_fleet_log()
    with streamlit_app() as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(f"{url}/fleet")
        wait_idle(page, charts=3)
        assert page.locator('[data-testid="stPlotlyChart"]').count() == 3
        smoothed = simulate(log, AlarmPolicy(0.3, Smoothing(10, 7))).total_alarms
        assert metric_value(page, "Alarms") == f"{smoothed:,}"
        n = page.get_by_label("n readings", exact=True)
        n.fill("4")
        n.press("Enter")
        # 4 readings with 7 the same is refused, as the SDK cannot reach it
        error = page.locator('[data-testid="stAlertContentError"]')
        error.wait_for(timeout=30_000)
        assert "between 1 and n readings" in error.inner_text()
        k = page.get_by_label("min readings the same", exact=True)
        k.fill("3")
        k.press("Enter")
        page.wait_for_timeout(300)
        wait_drawn(page, charts=3)
        page.wait_for_function(
            """(want) => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
                .some(m => m.innerText.trim() === want)""",
            arg=f"{simulate(log, AlarmPolicy(0.3, Smoothing(4, 3))).total_alarms:,}",
            timeout=30_000,
        )
        assert metric_value(page, "Alarms") == f"{simulate(log, AlarmPolicy(0.3, Smoothing(4, 3))).total_alarms:,}"
        assert page.locator('[data-testid="stException"]').count() == 0
        page.close()
