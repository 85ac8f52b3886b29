"""Opening a saved HTML file in Chromium with every request but the file itself refused."""

from __future__ import annotations

ALL_DRAWN = """() => {
    const plots = [...document.querySelectorAll('div.plot')];
    return plots.length > 0 && plots.every(p => p.querySelector('.main-svg'));
}"""


def open_offline(browser, path):
    """Open a file:// page with every other request aborted; returns (page, page errors, blocked URLs)
    once every chart is drawn."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    blocked: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def only_the_file(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_file)
    page.goto(path.as_uri())
    page.wait_for_function(ALL_DRAWN, timeout=60_000)
    return page, errors, blocked
