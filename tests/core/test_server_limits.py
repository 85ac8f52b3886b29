"""The local API server under a slow-loris: partial requests cannot starve normal clients."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import textwrap
import time

import requests

from tests.support.constants import API_KEY, ROOT

# The server in its own process with a small file-descriptor limit (128), as a real deployment
# has one (often 1,024): partial connections that are never dropped use the descriptors up.
SERVER = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))
    from ei_anomaly.local_api import EdgeImpulseStub, LocalServer
    try:
        server = LocalServer(EdgeImpulseStub(), request_timeout=0.6, request_deadline=1.5)
    except TypeError:
        server = LocalServer(EdgeImpulseStub())
    print(server.httpd.server_address[1], flush=True)
    server.httpd.serve_forever()
    """
)


@contextlib.contextmanager
def limited_server():
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        yield int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait(timeout=10)


def attack(port: int, n: int) -> list[socket.socket]:
    """Up to n connections that each send half a request and then nothing (stops early once the
    server takes no more)."""
    held, refused = [], 0
    for _ in range(n):
        s = socket.socket()
        s.settimeout(3.0)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /v1/api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        except OSError:
            s.close()
            refused += 1
            if refused == 5:
                break
            continue
        held.append(s)
    return held


def test_200_partial_requests_do_not_starve_a_normal_client():
    with limited_server() as port:
        held = attack(port, 200)
        started = time.monotonic()
        ok = None
        while ok is None and time.monotonic() - started < 15:
            with contextlib.suppress(requests.RequestException):
                ok = requests.get(f"http://127.0.0.1:{port}/v1/api/projects", headers={"x-api-key": API_KEY}, timeout=2)
        took = time.monotonic() - started
        for s in held:
            s.close()
    assert len(held) >= 100  # the attack really held connections
    assert ok is not None and ok.status_code == 200, f"no answer in {took:.1f} s"
    print(f"normal request answered {took:.1f} s after {len(held)} partial connections")


def test_a_request_trickled_under_the_timeout_is_cut_at_the_deadline():
    with limited_server() as port, socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(0.3)
        started = time.monotonic()
        closed = False
        for _ in range(60):  # one header byte every 0.3 s (timeout 0.6 s): 18 s if never cut
            try:
                s.sendall(b"X")
                if s.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        took = time.monotonic() - started
    assert closed, "the server kept a trickling connection for 20 s"
    assert took < 4
