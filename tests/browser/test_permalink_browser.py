"""Links that reopen a view: every page opened from a link with parameters (the demo's K-means and
GMM blocks, the local API server's project) comes back as the link says; a change updates the URL;
bad or stale parameters get a note and the defaults, never an exception; an uploaded file is named."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.constants import API_KEY, BLOCK_ID, GMM_BLOCK_ID, PROJECT_ID
from tests.support.e2e import require_chromium, streamlit_app, wait_idle

pytestmark = pytest.mark.browser

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

NO_EXCEPTION = '[data-testid="stException"]'


@pytest.fixture(scope="module")
def app_url():
    with streamlit_app() as url:
        yield url


@pytest.fixture
def page(browser):
    p = browser.new_page(viewport={"width": 1400, "height": 1400})
    yield p
    p.close()


def open_link(page, url: str, charts: int = 0) -> None:
    page.goto(url)
    wait_idle(page, charts=charts)


def slider_value(page, index: int = 0) -> str:
    return page.locator('[data-testid="stSlider"] input[type="range"]').nth(index).input_value()


def number_value(page, label: str) -> str:
    return page.get_by_label(label, exact=True).input_value()


def has_value(page, label: str, value: str) -> None:
    """The number input `label` shows `value` (waits for the run that draws it)."""
    expect(page.get_by_label(label, exact=True)).to_have_value(value, timeout=30_000)


def select_text(page, label: str, within: str = '[data-testid="stMain"]') -> str:
    return page.locator(within).get_by_role("combobox", name=label, exact=True).first.input_value()


def shows_choice(page, label: str, part: str, within: str = '[data-testid="stMain"]') -> None:
    """The selectbox `label` shows a choice containing `part` (waits for the run that draws it)."""
    box = page.locator(within).get_by_role("combobox", name=label, exact=True).first
    expect(box).to_have_value(re.compile(re.escape(part)), timeout=30_000)


def params(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def link_has(page, name: str, value: str) -> None:
    """The URL's parameter `name` is `value` (waits for the run that writes it)."""
    page.wait_for_function(
        "([n, v]) => new URLSearchParams(location.search).get(n) === v", arg=[name, value], timeout=30_000
    )


def notes(page) -> str:
    return "\n".join(page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts())


def assert_clean(page) -> None:
    assert page.locator(NO_EXCEPTION).count() == 0
    expect(page.get_by_role("button", name="Copy link to this view")).to_have_count(1, timeout=30_000)


def test_a_thresholds_link_restores_the_kmeans_slider(page, app_url):
    open_link(page, f"{app_url}/thresholds?source=demo&block={BLOCK_ID}&threshold=1.25", charts=4)
    assert float(slider_value(page)) == pytest.approx(1.25)
    assert "Continuous motion (demo)" in page.locator('[data-testid="stSidebar"]').inner_text()
    link_has(page, "threshold", "1.25")
    assert_clean(page)
    # The Copy link control works from the keyboard: Tab to it, Enter.
    button = page.get_by_role("button", name="Copy link to this view")
    button.focus()
    page.keyboard.press("Enter")
    status = page.locator(".al-copy-link-status")
    expect(status).not_to_be_empty(timeout=10_000)
    assert "copied" in status.inner_text() or "threshold=1.25" in status.inner_text()


def test_a_fleet_link_restores_the_gmm_block_smoothing_and_device(page, app_url):
    link = (
        f"{app_url}/fleet?source=demo&block={GMM_BLOCK_ID}&threshold=0.9&smooth=5:3&cooldown=30"
        "&device=press-07&budget=2/week"
    )
    open_link(page, link, charts=3)
    shows_choice(page, "Anomaly block", "GMM (#5)", '[data-testid="stSidebar"]')
    assert float(slider_value(page)) == pytest.approx(0.9)
    assert number_value(page, "n readings") == "5"
    assert number_value(page, "min readings the same") == "3"
    assert float(number_value(page, "Cool-down (minutes)")) == 30
    assert float(number_value(page, "At most … alarms per device")) == 2
    shows_choice(page, "Device", "press-07")
    assert "Policy: threshold 0.9, smoothing 5:3" in page.locator('[data-testid="stMain"]').inner_text()
    assert_clean(page)
    # A change updates the link (a fragment rerun: the rest of the page is not rerun).
    k = page.get_by_label("min readings the same", exact=True)
    k.fill("2")
    k.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('smooth') === '5:2'", timeout=30_000)
    got = params(page)
    assert got["device"] == ["press-07"] and got["block"] == [str(GMM_BLOCK_ID)] and got["threshold"] == ["0.9"]
    assert got["device_col"] == ["device"] and got["time_col"] == ["timestamp"]


def test_a_fleet_link_restores_the_logs_columns(page, app_url):
    open_link(page, f"{app_url}/fleet?block={BLOCK_ID}&device_col=(none)&time_col=timestamp", charts=3)
    page.get_by_text("Columns", exact=True).click()
    assert select_text(page, "Device") == "(none)"
    assert select_text(page, "Time") == "timestamp"
    card = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text("Devices", exact=True))
    assert card.locator('[data-testid="stMetricValue"]').inner_text().strip() == "1"  # the whole log as one device
    link_has(page, "device_col", "(none)")
    assert_clean(page)


def test_compare_validation_and_on_device_links(page, app_url):
    open_link(page, f"{app_url}/compare?block={GMM_BLOCK_ID}&compare={BLOCK_ID}&fpr=2.5")
    shows_choice(page, "Block B", f"(#{BLOCK_ID})")
    has_value(page, "Matched false-alarm rate (% of normal windows)", "2.50")
    assert_clean(page)
    for path in ("validation", "on_device"):
        open_link(page, f"{app_url}/{path}?block={BLOCK_ID}&model_type=float32")
        checked = page.get_by_role("radiogroup", name="Model type").locator('[aria-checked="true"]')
        expect(checked).to_have_text("float32", timeout=30_000)
        link_has(page, "model_type", "float32")
        assert_clean(page)
    for path in ("", "clusters", "scoring"):
        open_link(page, f"{app_url}/{path}?block={GMM_BLOCK_ID}&threshold=0.7")
        shows_choice(page, "Anomaly block", "GMM (#5)", '[data-testid="stSidebar"]')
        link_has(page, "threshold", "0.7")
        assert_clean(page)


def test_bad_and_stale_parameters_get_a_note_and_the_defaults(page, app_url):
    link = (
        f"{app_url}/fleet?source=demo&block=99&threshold=abc&smooth=9:12&cooldown=-4&device=%3Cb%3Enope%3C/b%3E"
        "&budget=x/month&fleet=upload&upload=fleet_2026-11.parquet"
    )
    open_link(page, link)
    said = notes(page)
    assert "block (99) is not a block of this project" in said
    assert "threshold (abc) is not a number" in said
    assert "smoothing (9:12) is not" in said
    assert "cool-down (minutes) (-4)" in said
    assert "This view used an uploaded file, fleet_2026-11.parquet; upload it on the Scoring page" in said
    assert "device (<b>nope</b>) is not here" in said  # outside text: shown as text
    assert float(slider_value(page)) == pytest.approx(0.3)  # the block's own value
    shows_choice(page, "Anomaly block", "K-means (#4)", '[data-testid="stSidebar"]')
    assert_clean(page)
    open_link(page, f"{app_url}/compare?compare=77&fpr=300&model_type=int4")
    said = notes(page)
    assert "comparison block (77) is not here" in said and "matched false-alarm rate (%) (300)" in said
    assert_clean(page)
    open_link(page, f"{app_url}/thresholds?source=nowhere&block=&threshold=1e999")
    said = notes(page)
    assert "source (nowhere)" in said and "threshold (1e999)" in said
    assert_clean(page)


@pytest.fixture(scope="module")
def project_app(served_api):
    """The app configured with the local API server and its key (a team deployment): links carry the
    project and block ids, never the key."""
    with streamlit_app(env={"EI_API_BASE_URL": served_api, "EI_API_KEY": API_KEY}) as url:
        yield url


def test_a_link_to_the_local_projects_gmm_block_and_comparison(page, project_app):
    open_link(page, f"{project_app}/thresholds?source=project&project={PROJECT_ID}&block={GMM_BLOCK_ID}&threshold=1.5")
    assert "project 48213" in page.locator('[data-testid="stSidebar"]').inner_text()
    shows_choice(page, "Anomaly block", f"(#{GMM_BLOCK_ID})", '[data-testid="stSidebar"]')
    assert float(slider_value(page)) == pytest.approx(1.5)
    got = params(page)
    assert got["project"] == [str(PROJECT_ID)] and got["block"] == [str(GMM_BLOCK_ID)]
    assert API_KEY not in page.url
    assert_clean(page)
    open_link(
        page, f"{project_app}/compare?source=project&project={PROJECT_ID}&block={GMM_BLOCK_ID}&compare={BLOCK_ID}"
    )
    shows_choice(page, "Block B", f"(#{BLOCK_ID})")
    assert API_KEY not in page.url
    assert_clean(page)
