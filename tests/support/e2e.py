"""Run the app with `streamlit run` and drive Debian's Chromium with Playwright.

Shared by the browser tests and `scripts/screenshots.py`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_app(env: dict[str, str] | None = None) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port; yields its URL."""
    with streamlit_server(env) as (url, _):
        yield url


@contextmanager
def streamlit_server(
    env: dict[str, str] | None = None, root: Path | None = None, preexec_fn: Callable[[], None] | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run app.py` on a free loopback port; yields its URL and process (for its memory).
    `root`: another checkout of the app to run (benchmarks compare two); `preexec_fn`: run in the
    server's process before it starts (a benchmark's resource limits)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=root or ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=preexec_fn,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stdout.read().decode()) from None
                time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def launch(playwright):  # -> playwright Browser
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


def wait_idle(page, charts: int = 0, timeout_ms: int = 60_000) -> None:
    """Wait until the script has finished running and `charts` Plotly charts have been drawn.

    Plotly's JavaScript loads lazily, so charts appear a moment after the script stops.
    """
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_timeout(300)  # let a rerun that was just triggered start
    wait_drawn(page, charts, timeout_ms)


def wait_drawn(page, charts: int = 0, timeout_ms: int = 60_000) -> None:
    """The script has stopped and at least `charts` Plotly charts have their SVG (no fixed sleep,
    so benchmarks can time it)."""
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_function(
        """(n) => {
            const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
            return charts.length >= n && charts.every(c => c.querySelector('.main-svg'));
        }""",
        arg=charts,
        timeout=timeout_ms,
    )


def require_chromium() -> None:
    """At the top of a browser test module: skip it without Chromium, except in CI, which must run it."""
    if chromium_available():
        return
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must run the browser tests: install Debian's chromium (apt-get install chromium)")
    import pytest

    pytest.skip("Chromium not found: `apt-get install chromium` to run the browser tests", allow_module_level=True)


def at_path(path: str) -> Callable[[str], bool]:
    """`page.wait_for_url` predicate: the page at `path` ("" for the first page), whatever the
    query (a view's link parameters follow every run)."""
    want = "/" + path.strip("/")
    return lambda url: (urlsplit(url).path.rstrip("/") or "/") == want
