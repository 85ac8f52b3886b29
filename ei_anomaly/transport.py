"""How the API client's requests travel: a `Transport` carries one request and returns one answer.

The client (`ei_anomaly.client`) forms each request and decodes each answer, and decides retries,
backoff and the deadline over them; a transport only carries one attempt, as httpx's `transport=`
does. `HttpTransport` (the default) is the real one: `requests` over urllib3, with the rules that
only a socket can break. Within the time the client gives an attempt:

- a watchdog cuts the attempt's connections when that time runs out: socket timeouts bound each
  read, not a whole answer, so a server trickling bytes (even inside the status line or headers)
  never trips them;
- the body is read with `read1`, which returns whatever has arrived, so a trickling server is
  checked against the time after every byte, and reading stops past the size bound (a declared
  `Content-Length` over it is refused before reading);
- a redirect is never followed (custom headers, the key among them, survive cross-host redirects
  in `requests`): it comes back as the 3xx answer it is, without its body.

The local API's in-memory transport (`ei_anomaly.local_api.StubTransport`) answers from the stub's
own functions, so tests of everything above the socket need no server. What a transport raises
instead of an answer:

    TransportError            no answer for this attempt
    ├── NoAnswerError         the connection failed or a read timed out (`timed_out`): may be retried
    ├── DeadlineError         the attempt's time (`Request.deadline`) ran out
    └── AnswerTooLargeError   the answer is larger than `Request.max_bytes` (its `status`)
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import requests
import urllib3
from requests.adapters import HTTPAdapter

from .constants import MAX_RESPONSE_BYTES

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

__all__ = [
    "AnswerTooLargeError",
    "DeadlineError",
    "HttpTransport",
    "NoAnswerError",
    "Request",
    "Response",
    "Transport",
    "TransportError",
]

_CHUNK = 64 * 1024


def _lookup(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True)
class Request:
    """One attempt: what to send, and the limits the transport keeps while it waits for the answer.

    `timeout` bounds each connect and read; `deadline` (seconds from now) bounds the whole attempt;
    answers whose status is in `skip_body_on` come back without their body (the client will retry
    them, so reading it would only cost time)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    timeout: float = 15.0
    deadline: float = 60.0
    max_bytes: int = MAX_RESPONSE_BYTES
    skip_body_on: frozenset[int] = frozenset()

    def header(self, name: str) -> str | None:
        """A header's value, whatever the case of its name."""
        return _lookup(self.headers, name)


@dataclass(frozen=True)
class Response:
    """One answer: status, headers and the body's bytes (decoded from any content encoding)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """A header's value, whatever the case of its name."""
        return _lookup(self.headers, name)


class Transport(Protocol):
    """Carries one request and returns its answer, or raises a `TransportError`. Never follows a redirect."""

    def handle_request(self, request: Request) -> Response: ...


class TransportError(Exception):
    """No answer for this attempt. Messages name what happened, never a header or a body."""


class NoAnswerError(TransportError):
    """The connection failed, dropped, or a read timed out (`timed_out`); another attempt may work."""

    def __init__(self, what: str, *, timed_out: bool = False) -> None:
        super().__init__(what)
        self.timed_out = timed_out


class DeadlineError(TransportError):
    """The time the client gave this attempt ran out."""


class AnswerTooLargeError(TransportError):
    """The answer is (or says it is) larger than the request's `max_bytes`."""

    def __init__(self, status: int) -> None:
        super().__init__(f"an answer with HTTP {status} is larger than the bound")
        self.status = status


# --- the real transport ----------------------------------------------------------------------------

_in_flight = threading.local()  # per calling thread: the connections the current attempt uses


class _TrackedConnections(urllib3.HTTPConnectionPool):
    """Pool mixin: remembers each connection handed to the calling thread's current attempt, so a
    watchdog can cut it at the deadline. A pool subclass itself so that its `super()._get_conn` is
    typed; it comes first in the MRO of both pools, which then supply `_get_conn` as before."""

    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        conn = super()._get_conn(timeout)
        held = getattr(_in_flight, "conns", None)
        if held is not None:
            held.append(conn)
        return conn


class _TrackedHTTPPool(_TrackedConnections, urllib3.HTTPConnectionPool):
    pass


class _TrackedHTTPSPool(_TrackedConnections, urllib3.HTTPSConnectionPool):
    pass


class _DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


def _cut(conns: list[BaseHTTPConnection]) -> None:
    for conn in conns:
        sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class HttpTransport:
    """HTTP(S) through `requests`: a deadline per attempt that no trickle escapes, a bounded read,
    no redirect followed. Connections are pooled (one session per transport)."""

    def __init__(self) -> None:
        self._session = requests.Session()
        for prefix in ("http://", "https://"):
            self._session.mount(prefix, _DeadlineAdapter())

    def handle_request(self, request: Request) -> Response:
        give_up_at = time.monotonic() + request.deadline
        conns: list[BaseHTTPConnection] = []
        _in_flight.conns = conns
        watchdog = threading.Timer(request.deadline, _cut, (conns,))
        watchdog.daemon = True
        watchdog.start()
        try:
            resp = self._session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.body,
                timeout=request.timeout,
                allow_redirects=False,  # custom headers survive cross-host redirects in requests
                stream=True,  # read with a bound below, not all at once
            )
            with resp:
                status = resp.status_code
                skip = 300 <= status < 400 or status in request.skip_body_on
                body = b"" if skip else _read_body(resp, give_up_at, request.max_bytes)
                return Response(status, dict(resp.headers), body)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:  # the latter from read1
            if time.monotonic() >= give_up_at:  # the watchdog cut the connection
                raise DeadlineError("the attempt's time ran out") from None
            timed_out = isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError))
            raise NoAnswerError(type(exc).__name__, timed_out=timed_out) from None
        finally:
            watchdog.cancel()
            _in_flight.conns = None


def _read_body(resp: requests.Response, give_up_at: float, max_bytes: int) -> bytes:
    """The answer's bytes, refusing more than max_bytes and stopping at the deadline.

    `read1` returns whatever has arrived, so a server trickling a byte at a time is checked
    against the deadline after every byte, not after a full chunk."""
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise AnswerTooLargeError(resp.status_code)
    parts: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > give_up_at:
            raise DeadlineError("the attempt's time ran out")
        chunk = resp.raw.read1(_CHUNK, decode_content=True)
        if not chunk:
            if time.monotonic() >= give_up_at:  # cut by the watchdog, not the end of the answer
                raise DeadlineError("the attempt's time ran out")
            return b"".join(parts)
        size += len(chunk)
        if size > max_bytes:
            raise AnswerTooLargeError(resp.status_code)
        parts.append(chunk)
