"""Hostile HTTP servers for tests: small handlers on 127.0.0.1 that misbehave as a bad host could."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextlib.contextmanager
def hostile(handle: Callable[[BaseHTTPRequestHandler], None], seen: list | None = None) -> Iterator[str]:
    """A loopback HTTP server whose every GET is `handle(handler)`; records request headers in `seen`.
    Yields a base URL (ending in /v1, like the API's)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if seen is not None:
                seen.append(dict(self.headers))
            with contextlib.suppress(OSError):
                handle(self)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    # shutdown() waits until serve_forever next looks: every 50 ms, not socketserver's 0.5 s per server
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def answer(status: int, body: bytes, headers: dict | None = None) -> Callable[[BaseHTTPRequestHandler], None]:
    """A handler that sends one fixed answer."""

    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for k, v in {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    return handle
