"""Screenshot every page of the running app in headless Chromium (for review and the README).

Run: python -m scripts.screenshots [--out docs/screenshots] [--readme] [--sharing] [--gmm] [--pages ...]
        [--export EXPORT.zip [--features FILE.csv]] [--compare BLOCK_FILE ...]
--readme also writes the small docs/screenshot.png the README shows (the Thresholds page);
--sharing writes docs/presentation.png (presentation mode, from a link) and docs/report-printed.png
(the demo report printed to A4 PDF in Chromium, its first pages side by side);
--gmm shows the demo's GMM block (chosen in the sidebar on every page);
--export uploads a deployment export as the sidebar's file source on every page, and --features
scores that file on the Scoring page; --compare uploads block B's files (or export) on Compare.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.e2e import ROOT, launch, streamlit_app, wait_idle

TALL = {"thresholds": 4400, "fleet": 3000}  # pages taller than the default viewport: their whole length
PAGES = {
    "overview": 0,
    "clusters": 1,
    "validation": 2,
    "on_device": 3,
    "thresholds": 4,
    "scoring": 0,
    "fleet": 3,
    "compare": 4,
}


def choose_gmm_demo_block(page) -> None:
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Anomaly block").click()
    page.get_by_role("option", name="GMM").click()


def use_demo_normal_session(page) -> None:
    page.get_by_text("A file of normal operation", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Use the demo's normal session").click()
    wait_idle(page)


def use_export(page, export: Path) -> None:
    """The sidebar's file source: the export uploaded."""
    page.locator('[data-testid="stSidebar"]').get_by_text("Metadata JSON file or export").click()
    wait_idle(page)
    page.locator('[data-testid="stSidebar"] input[type="file"]').first.set_input_files(str(export))
    wait_idle(page)


def upload_on_page(page, files: list[Path]) -> None:
    """The page's (not the sidebar's) first file uploader."""
    page.locator('[data-testid="stMain"] input[type="file"]').first.set_input_files([str(f) for f in files])
    wait_idle(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/anomaly-lens-screens")
    parser.add_argument("--readme", action="store_true")
    parser.add_argument("--pages", nargs="*", default=list(PAGES))
    parser.add_argument("--sharing", action="store_true", help="presentation mode and the printed report, in docs/")
    parser.add_argument("--gmm", action="store_true", help="the demo's GMM block instead of its K-means block")
    parser.add_argument("--export", type=Path, help="a deployment export (.zip) as the sidebar's file source")
    parser.add_argument("--features", type=Path, help="with --export: a feature file the Scoring page scores")
    parser.add_argument("--compare", type=Path, nargs="*", help="block B's files (or export) on the Compare page")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with streamlit_app() as url, sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1440, "height": 2400})
        for name in args.pages:
            page.set_viewport_size({"width": 1440, "height": TALL.get(name, 2400)})
            page.goto(f"{url}/{'' if name == 'overview' else name}")
            wait_idle(page, charts=PAGES[name])
            if args.gmm:
                choose_gmm_demo_block(page)
                wait_idle(page, charts=PAGES[name])
            if args.export:
                use_export(page, args.export)
                wait_idle(page)
            if name == "clusters" and not args.gmm:  # its WebGL views are drawn on request
                for toggle in ("Draw the 3-D view", "Draw every axis (parallel coordinates)"):
                    page.get_by_text(toggle).click()
                    wait_idle(page)
                wait_idle(page, charts=3)
            if name == "thresholds":  # the guarantee from the demo's normal session
                use_demo_normal_session(page)
                wait_idle(page, charts=4)
            if name == "scoring" and args.features:
                upload_on_page(page, [args.features])
                wait_idle(page, charts=2)
            elif name == "scoring":
                page.get_by_role("button", name="Use the demo session with anomalies").click()
                wait_idle(page, charts=2)
            if name == "compare" and args.compare:
                page.get_by_text("Block files (e.g. before and after retraining)").click()
                wait_idle(page)
                upload_on_page(page, args.compare)
                wait_idle(page)
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            print(out / f"{name}.png")
        if args.readme:
            page.set_viewport_size({"width": 1280, "height": 800})
            page.goto(f"{url}/thresholds")
            wait_idle(page, charts=4)
            page.wait_for_timeout(800)
            target = ROOT / "docs" / "screenshot.png"
            target.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(target))
            print(target)
        if args.sharing:
            sharing(page, url)
        browser.close()


PRESENT_LINK = "/fleet?present=1&step=4&threshold=0.5&smooth=5:3&cooldown=30"


def sharing(page, url: str) -> None:
    """docs/presentation.png (a step of presentation mode, opened from a link) and
    docs/report-printed.png (the demo report as Chromium prints it to A4)."""
    import tempfile

    from ei_anomaly.demo import ANOMALY_SESSION_CSV, DEMO_DIR, FLEET_LOG_CSV
    from ei_anomaly.report import Review
    from tests.support.printing import pdf_pages_png, print_report

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url + PRESENT_LINK)
    wait_idle(page, charts=1)
    page.wait_for_timeout(800)
    target = ROOT / "docs" / "presentation.png"
    page.screenshot(path=str(target))
    print(target)
    with tempfile.TemporaryDirectory() as tmp:
        html, pdf = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        Review(DEMO_DIR / "metadata.json", features=ANOMALY_SESSION_CSV, fleet=FLEET_LOG_CSV, policy="10:7").to_html(
            html
        )
        page.set_viewport_size({"width": 1200, "height": 1000})
        print_report(page, html, pdf, "A4")
        target = pdf_pages_png(pdf, ROOT / "docs" / "report-printed.png", pages=8, columns=4, scale=0.6)
        print(target)


if __name__ == "__main__":
    main()
