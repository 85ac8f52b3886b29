"""The local API for tests, one interface over two front ends: in memory (`StubTransport`, what most
API tests use) or over a real socket (`LocalServer` and `HttpTransport`, for what only a socket
shows). Both carry the same `EdgeImpulseStub`, so a test parametrized over both checks that they
answer alike. The fixtures (`local_api`, `either_api`) are in `tests/conftest.py`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

from ei_anomaly.client import EdgeImpulseClient
from ei_anomaly.local_api import EdgeImpulseStub, LocalServer, StubTransport
from ei_anomaly.transport import Request, Response
from tests.support.constants import API_KEY, READONLY_KEY


class FakeClock:
    """A monotonic clock that moves only when someone sleeps: retries, backoff and timeouts are
    checked without waiting. `sleeps` lists every wait, in order."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class RealClock:
    """`time.monotonic` and `time.sleep`, with every wait recorded in `sleeps` (as `FakeClock`)."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)


@dataclass
class Reply:
    """An answer as a test reads it, whichever front end gave it."""

    status: int
    headers: CaseInsensitiveDict[str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


def new_stub() -> EdgeImpulseStub:
    """The demo project with an admin key (`API_KEY`) and a read-only one (`READONLY_KEY`)."""
    return EdgeImpulseStub(api_key=API_KEY, readonly_key=READONLY_KEY)


class MemoryApi:
    """The stub behind `StubTransport`: no socket, and a fake clock for the client's retries."""

    kind = "memory"

    def __init__(self, stub: EdgeImpulseStub) -> None:
        self.stub = stub
        self.clock = FakeClock()
        self.transport = StubTransport(stub, sleep=self.clock.sleep)
        self.base_url = StubTransport.BASE_URL

    def client(self, key: str = API_KEY, **kw: Any) -> EdgeImpulseClient:
        kw.setdefault("clock", self.clock.monotonic)
        kw.setdefault("sleep", self.clock.sleep)
        return EdgeImpulseClient(key, self.base_url, self.transport, **kw)

    def get(self, path: str, key: str = API_KEY) -> Reply:
        return self._send(Request("GET", f"{self.base_url}{path}", {"x-api-key": key}))

    def post(self, path: str, body: Any, key: str = API_KEY) -> Reply:
        headers = {"x-api-key": key, "Content-Type": "application/json"}
        return self._send(Request("POST", f"{self.base_url}{path}", headers, json.dumps(body).encode()))

    def _send(self, request: Request) -> Reply:
        resp = self.transport.handle_request(request)
        return Reply(resp.status, CaseInsensitiveDict(resp.headers), resp.body)

    def close(self) -> None:
        pass


class SocketApi:
    """The stub behind `LocalServer` on 127.0.0.1; the client on `HttpTransport` with real time."""

    kind = "socket"

    def __init__(self, stub: EdgeImpulseStub) -> None:
        self.stub = stub
        self.clock = RealClock()
        self.server = LocalServer(stub).start()
        self.base_url = self.server.base_url

    def client(self, key: str = API_KEY, **kw: Any) -> EdgeImpulseClient:
        kw.setdefault("clock", self.clock.monotonic)
        kw.setdefault("sleep", self.clock.sleep)
        return EdgeImpulseClient(key, self.base_url, **kw)

    def get(self, path: str, key: str = API_KEY) -> Reply:
        resp = requests.get(f"{self.base_url}{path}", headers={"x-api-key": key}, timeout=10)
        return Reply(resp.status_code, resp.headers, resp.content)

    def post(self, path: str, body: Any, key: str = API_KEY) -> Reply:
        resp = requests.post(f"{self.base_url}{path}", json=body, headers={"x-api-key": key}, timeout=10)
        return Reply(resp.status_code, resp.headers, resp.content)

    def close(self) -> None:
        self.server.stop()


API_KINDS: dict[str, Callable[[EdgeImpulseStub], MemoryApi | SocketApi]] = {"memory": MemoryApi, "socket": SocketApi}


@dataclass
class HandlerTransport:
    """A transport whose every answer is `handle(request)`, recording the requests: for answers the
    stub never gives (a hostile host echoing the key), as httpx's `MockTransport`."""

    handle: Callable[[Request], Response]
    seen: list[Request] = field(default_factory=list)

    def handle_request(self, request: Request) -> Response:
        self.seen.append(request)
        return self.handle(request)
