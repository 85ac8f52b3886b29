"""Presentation mode in a real browser: a link with `present=1` opens the review as steps with no
sidebar, previous/next walk through them (and the link follows), the values stay as the link says
until unlocked, and leaving brings the sidebar back. On the demo, with no key."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.e2e import require_chromium, streamlit_app, wait_idle

pytestmark = pytest.mark.browser

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

STEPS = ["The model", "How it did", "The threshold and its guarantee", "Alarms in the field", "The cost on the device"]


def metric_value(page, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
    return card.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_presentation_mode_steps_through_the_review(browser):
    with streamlit_app() as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/fleet?present=1&threshold=0.5&smooth=5:3")
        wait_idle(page, charts=1)
        expect(page.locator('[data-testid="stSidebar"]')).to_be_hidden()
        assert page.get_by_role("radio", name="Demo project").is_hidden()  # no source controls
        for n, title in enumerate(STEPS, start=1):
            expect(page.locator("h1").first).to_have_text(title, timeout=30_000)
            wait_idle(page)
            assert parse_qs(urlsplit(page.url).query)["step"] == [str(n)]
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0
            if title == "The threshold and its guarantee":
                assert metric_value(page, "Threshold") == "0.5"  # as the link says
                assert page.locator('[data-testid="stSlider"]').count() == 0  # frozen
            if title == "Alarms in the field":
                assert "smoothing 5:3" in page.locator('[data-testid="stMain"]').inner_text()
            next_button = page.get_by_role("button", name="Next")
            if n < len(STEPS):
                next_button.click()
            else:
                expect(next_button).to_be_disabled()
        page.get_by_role("button", name="Previous").click()
        page.get_by_role("button", name="Previous").click()
        expect(page.locator("h1").first).to_have_text(STEPS[2], timeout=30_000)
        wait_idle(page)
        page.get_by_text("Unlock the values").click()
        slider = page.locator('[data-testid="stSlider"] input[type="range"]').first
        expect(slider).to_have_value("0.5", timeout=30_000)
        page.get_by_role("button", name="Leave presentation").click()
        expect(page.locator('[data-testid="stSidebar"]')).to_be_visible(timeout=30_000)
        wait_idle(page)
        assert "present" not in parse_qs(urlsplit(page.url).query)
        page.close()


def test_the_sidebar_toggle_enters_presentation_mode(browser):
    with streamlit_app() as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/thresholds")
        wait_idle(page, charts=4)
        page.get_by_text("Presentation mode", exact=True).click()
        expect(page.locator("h1").first).to_have_text(STEPS[0], timeout=30_000)
        expect(page.locator('[data-testid="stSidebar"]')).to_be_hidden()
        assert parse_qs(urlsplit(page.url).query)["present"] == ["1"]
        page.close()
