"""The local API in memory: a `Transport` that hands the client's requests straight to the stub.

`StubTransport(stub)` answers from `EdgeImpulseStub.reply`, the function the HTTP server calls, so
the same paths give the same status codes, headers and bodies, faults included. What only a socket
does (a trickle, a cut connection, a redirect) is the HTTP transport's and is tested there; a slow
answer is modelled as a socket would treat it: it arrives after its delay, or the read times out
(or the attempt's deadline passes) first, after that much time. `sleep` spends the time: pass a
fake clock's to test retries and timeouts without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from ..transport import AnswerTooLargeError, DeadlineError, NoAnswerError, Request, Response
from .stub import EdgeImpulseStub

__all__ = ["StubTransport"]


class StubTransport:
    """A `Transport` over an `EdgeImpulseStub`, without a socket. Any base URL reaches the stub;
    `BASE_URL` is one that can never reach the network."""

    BASE_URL = "http://local-api.invalid/v1"

    def __init__(self, stub: EdgeImpulseStub, sleep: Callable[[float], None] = time.sleep) -> None:
        self.stub = stub
        self._sleep = sleep

    def handle_request(self, request: Request) -> Response:
        parts = urlsplit(request.url)
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
        answer = self.stub.reply(request.method, target, request.header("x-api-key"), request.body or b"")
        if answer.delay > 0:
            self._late(answer.delay, request)
        headers = {"Content-Type": answer.content_type, "Content-Length": str(len(answer.body)), **answer.headers}
        skip = 300 <= answer.status < 400 or answer.status in request.skip_body_on
        if not skip and len(answer.body) > request.max_bytes:
            raise AnswerTooLargeError(answer.status)
        return Response(answer.status, headers, b"" if skip else answer.body)

    def _late(self, delay: float, request: Request) -> None:
        """An answer `delay` seconds late: it arrives, or the first limit to pass ends the attempt."""
        limit = min(request.timeout, request.deadline)
        self._sleep(min(delay, limit))
        if delay <= limit:
            return
        if request.deadline <= request.timeout:
            raise DeadlineError("the attempt's time ran out")
        raise NoAnswerError("ReadTimeout", timed_out=True)
