"""The local API over HTTP: a loopback server for the stub's answers (`python -m ei_anomaly serve`).

Each connection has a socket timeout and a deadline for its whole request, so a slow-loris
(many connections sending a request a byte at a time, or never) cannot hold threads and file
descriptors until normal clients are refused. Request lines and headers are bounded by
`http.server` (64 KiB per line, 100 headers), a POST body by `MAX_POST_BYTES`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .stub import MAX_POST_BYTES, EdgeImpulseStub

__all__ = ["REQUEST_DEADLINE", "REQUEST_TIMEOUT", "LocalServer", "serve"]

REQUEST_TIMEOUT = 10.0  # seconds a connection may stay silent
REQUEST_DEADLINE = 30.0  # seconds one request (read, answer) may take in all, however it trickles


def _handler(
    stub: EdgeImpulseStub, read_timeout: float = REQUEST_TIMEOUT, deadline: float = REQUEST_DEADLINE
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "EdgeImpulseStub/1"
        timeout = read_timeout  # StreamRequestHandler puts it on the connection's socket

        def handle_one_request(self) -> None:
            """Socket timeout per read (`self.timeout`) plus a wall-clock deadline for the request:
            a client trickling header bytes just under the timeout is cut off too."""
            watchdog = threading.Timer(deadline, self._drop)
            watchdog.daemon = True
            watchdog.start()
            try:
                super().handle_one_request()
            finally:
                watchdog.cancel()

        def _drop(self) -> None:
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def log_message(self, format: str, *args: Any) -> None:  # quiet; never log headers
            pass

        def _send(
            self, status: int, body: bytes, ctype: str = "application/json", extra: Mapping[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                self.wfile.write(body)

        def _reply(self, body: bytes = b"") -> None:
            answer = stub.reply(self.command, self.path, self.headers.get("x-api-key"), body)
            if answer.delay:
                time.sleep(answer.delay)
            self._send(answer.status, answer.body, answer.content_type, answer.headers)

        def do_GET(self) -> None:
            self._reply()

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_POST_BYTES:  # bounded before anything is read
                return self._send(400, b'{"success":false,"error":"Bad or too large Content-Length"}')
            self._reply(self.rfile.read(length))

    return Handler


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 128  # listen backlog (socketserver's default is 5): bursts wait, not fail

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A dropped connection is the client's business: no traceback on the terminal."""


class LocalServer:
    """Runs an `EdgeImpulseStub` on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        stub: EdgeImpulseStub | None = None,
        port: int = 0,
        request_timeout: float = REQUEST_TIMEOUT,
        request_deadline: float = REQUEST_DEADLINE,
    ) -> None:
        self.stub = stub or EdgeImpulseStub()
        self.httpd = _QuietServer(("127.0.0.1", port), _handler(self.stub, request_timeout, request_deadline))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> LocalServer:
        # A short poll interval: `stop` waits for the loop to see it (0.5 s by default, per test).
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    port: int, api_key: str | None, extra: list[Path], fault: str | None = None, readonly_key: str | None = None
) -> None:
    """Serve until interrupted (the CLI's `serve`)."""
    stub = EdgeImpulseStub(api_key, extra, readonly_key=readonly_key)
    stub.faults.mode = fault
    server = LocalServer(stub, port)
    print(
        f"Edge Impulse-compatible API on {server.base_url} (project {stub.project_id}, "
        f"anomaly blocks {sorted(stub.blocks)}); Ctrl+C stops it",
        flush=True,
    )
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
