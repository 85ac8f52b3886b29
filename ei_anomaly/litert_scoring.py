"""Scores from a block's own float32 TFLite file, run by LiteRT's reference interpreter in a worker.

A GMM anomaly block's score on a device is element 0 of its TFLite graph's output for the
window's axis values (`run_gmm_anomaly` in the SDK; see docs/gmm.md). This runs that file with
`ai-edge-litert` using its reference kernels (`OpResolverType.BUILTIN_REF`, no delegate): the
scores equal LiteRT's reference interpreter invoked on one row at a time, bit for bit. The
default (optimized) kernels give other float32 results on many rows, so they are never used.

A model file is a program from outside. `ReferenceScorer` checks it first (`tflite_check`: one
subgraph, allowed operators only, static shapes), then runs it only in a worker process
(`litert_worker`, a script of its own) that the server can kill: its memory is limited to
`ANOMALY_LENS_MAX_MODEL_MEMORY_MB`, each call (loading the file, or up to `CHUNK_ROWS` rows) to
`ANOMALY_LENS_MAX_MODEL_CPU_SECONDS` of CPU time, and the clock is watched too. A file that passes
the checks but breaks a limit ends its worker, not the server, and is refused with a
MetadataError (exit 2 on the command line). The worker sizes a block of rows from how the
graph's tensors grow with the rows (linearly, or no block at all) before it allocates one, and
reports those bytes (`working_bytes`, which the app counts in its held store).

Workers start on first use, end by themselves after `IDLE_SECONDS` without a call (and start
again, transparently, when needed), and are stopped when their scorer is garbage-collected; at most
`ANOMALY_LENS_MAX_MODEL_WORKERS` are kept at once (the least recently used idle one is stopped for a
new one). One scorer serialises its calls with a lock.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .errors import MetadataError
from .limits import Limits, human_bytes
from .litert_worker import BLOCK_ROWS
from .tflite_check import ModelFileFacts, inspect_tflite

__all__ = ["BLOCK_ROWS", "CHUNK_ROWS", "ReferenceScorer", "WorkerInfo", "litert_available"]

CHUNK_ROWS = 65_536  # rows per call of the worker: each call has its own CPU-time allowance
IDLE_SECONDS = 300.0  # a worker without a call this long ends (its scorer starts another when needed)
WORKER_BASE_BYTES = 64 * 1024 * 1024  # what a worker holds before the model: Python, numpy, LiteRT
_WORKER_SCRIPT = Path(__file__).with_name("litert_worker.py")
_CLOCK_SLACK = 2.0  # the clock may run this many times the CPU allowance (a busy machine), plus:
_CLOCK_EXTRA_S = 10.0


def litert_available() -> bool:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class WorkerInfo:
    """What the worker measured once the file was loaded: tensor bytes for one row and for a block."""

    one_row_bytes: int
    block_rows: int
    block_bytes: int


class _Worker:
    """One worker process and its socket."""

    def __init__(self, limits: Limits) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(_WORKER_SCRIPT),
                    str(theirs.fileno()),
                    str(limits.model_memory_bytes),
                    str(limits.model_cpu_seconds),
                    str(IDLE_SECONDS),
                ],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"},
            )
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())

    def stop(self) -> None:
        _stop(self.process, self.conn)


def _stop(process: subprocess.Popen[bytes], conn: Connection) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    conn.close()


def _ended(process: subprocess.Popen[bytes]) -> int:
    """The exit code of a worker whose socket broke (killed if it lingers)."""
    try:
        return process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


class _WorkerGoneError(Exception):
    """The worker had ended by itself (idle) before the request reached it: start another."""


class _Workers:
    """The live workers, least recently used first: at most `limit` kept (idle ones are stopped)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: OrderedDict[int, weakref.ref[ReferenceScorer]] = OrderedDict()

    def started(self, scorer: ReferenceScorer, limit: int) -> None:
        """Count `scorer`'s new worker; stop the least recently used idle others beyond `limit`."""
        with self._lock:
            self._live[id(scorer)] = weakref.ref(scorer)
            self._live.move_to_end(id(scorer))
            for key, ref in list(self._live.items()):  # collected, or ended by themselves (idle)
                other = ref()
                if other is None or not other.worker_running:
                    del self._live[key]
            others = [ref() for key, ref in self._live.items() if key != id(scorer)]
            excess = len(self._live) - limit
        for other in others:  # outside the lock: stopping a worker takes `ended`'s
            if excess <= 0:
                break
            if other is not None and other.idle_worker_stop():
                excess -= 1

    def used(self, scorer: ReferenceScorer) -> None:
        with self._lock:
            if id(scorer) in self._live:
                self._live.move_to_end(id(scorer))

    def ended(self, scorer: ReferenceScorer) -> None:
        with self._lock:
            self._live.pop(id(scorer), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._live)


WORKERS = _Workers()


class ReferenceScorer:
    """One TFLite file, scored with LiteRT's reference kernels in a worker process; `score(rows)`
    -> float32 per row. Checked on construction (MetadataError); the worker starts on first use."""

    def __init__(self, model: bytes, limits: Limits | None = None) -> None:
        self._model = bytes(model)
        self._limits = limits or Limits.from_env()
        self.facts: ModelFileFacts = inspect_tflite(self._model, self._limits)
        self.n_inputs = self.facts.n_inputs
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes], Connection], ReferenceScorer] | None = None
        self._info: WorkerInfo | None = None
        self._failure: str | None = None  # why the file was refused once it ran: said again, never rerun
        self._blocks: bool | None = None

    @property
    def scores_in_blocks(self) -> bool | None:
        """True when rows are scored a block at a time, False row by row, None before the first call."""
        return self._blocks

    @property
    def worker_running(self) -> bool:
        return self._worker is not None and self._worker.process.poll() is None

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id while it runs."""
        return self._worker.process.pid if self.worker_running and self._worker is not None else None

    def open(self) -> WorkerInfo:
        """Load the file in its worker (once): MetadataError if it breaks a limit there."""
        with self._lock:
            return self._opened()

    @property
    def working_bytes(self) -> int:
        """Memory the scorer's worker holds for this file: the worker itself and the interpreter's
        tensors for one row and for a block (measured by the worker; opens it if needed)."""
        info = self.open()
        return WORKER_BASE_BYTES + len(self._model) + info.one_row_bytes + info.block_bytes

    def score_rows_one_by_one(self, rows: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """The reference: one invoke per row, as the device and Studio's classify job run it."""
        return self._call(b"R", self._as_rows(rows))

    def score(self, rows: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Element 0 of the output per row (rows: float32 axis values, shape (n, axes))."""
        return self._call(b"S", self._as_rows(rows))

    def close(self) -> None:
        """Stop the worker now (a later call starts another)."""
        with self._lock:
            self._end_worker()

    def idle_worker_stop(self) -> bool:
        """Stop the worker if no call is running (for another scorer's worker); False if busy."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            self._end_worker()
            return True
        finally:
            self._lock.release()

    # --- inside the lock

    def _as_rows(self, rows: npt.ArrayLike) -> npt.NDArray[np.float32]:
        x = np.ascontiguousarray(rows, np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"expected rows of {self.n_inputs} values, got shape {x.shape}")
        return x

    def _call(self, op: bytes, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out = np.empty(len(x), np.float32)
        with self._lock:
            for start in range(0, len(x), CHUNK_ROWS):
                chunk = x[start : start + CHUNK_ROWS]
                message, size, what = op + chunk.tobytes(), 2 + 4 * len(chunk), f"{len(chunk):,} rows"
                try:
                    self._opened()
                    reply = self._request(message, size, what)
                except _WorkerGoneError:  # it ended by itself, idle, as the request came: once more
                    self._opened()
                    reply = self._request(message, size, what)
                if reply[:1] not in (b"B", b"R") or len(reply) != 1 + 4 * len(chunk):
                    raise self._fail("its worker gave an answer of the wrong size")
                if op == b"S":
                    self._blocks = reply[:1] == b"B"
                out[start : start + len(chunk)] = np.frombuffer(reply, np.float32, offset=1)
        WORKERS.used(self)
        return out

    def _opened(self) -> WorkerInfo:
        if self._failure is not None:
            raise MetadataError(self._failure)
        if self._info is None or not self.worker_running:
            self._start()
            try:
                reply = self._request(b"L" + self._model, 64 * 1024, "loading the file")
            except _WorkerGoneError:
                raise self._fail("its worker ended as it started") from None
            try:
                info = json.loads(reply)
                loaded = WorkerInfo(int(info["one_row_bytes"]), int(info["block_rows"]), int(info["block_bytes"]))
                width = int(info["n_inputs"])
            except (ValueError, KeyError, TypeError):
                raise self._fail("its worker gave an unreadable answer") from None
            if width != self.n_inputs:
                raise self._fail(f"it takes {width} values, not the {self.n_inputs} its input declares")
            self._info = loaded
        return self._info

    def _start(self) -> None:
        self._end_worker()
        self._worker = _Worker(self._limits)
        self._finalizer = weakref.finalize(self, _stop, self._worker.process, self._worker.conn)
        WORKERS.started(self, self._limits.model_workers)

    def _end_worker(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # kills and reaps the process, closes the socket (once)
        self._worker, self._finalizer = None, None
        WORKERS.ended(self)

    def _request(self, message: bytes, max_reply: int, what: str) -> bytes:
        """Send one request, wait for its reply within the clock's allowance; the reply without its
        status byte, or the file refused (MetadataError) when the worker failed, broke a limit or
        took too long."""
        worker = self._worker
        assert worker is not None  # started by _opened
        limit_s = self._limits.model_cpu_seconds
        try:
            worker.conn.send_bytes(message)
            if not worker.conn.poll(limit_s * _CLOCK_SLACK + _CLOCK_EXTRA_S):
                raise self._fail(
                    f"it ran longer than {limit_s * _CLOCK_SLACK + _CLOCK_EXTRA_S:g} s ({what}); {self._limit_words()}"
                )
            reply = worker.conn.recv_bytes(max_reply + 1)
        except (EOFError, OSError):
            code = _ended(worker.process)
            if code == 0:
                self._end_worker()
                raise _WorkerGoneError from None
            raise self._fail(self._death(code, what)) from None
        if reply[:1] == b"E":
            text = reply[1:].decode("utf-8", "replace")
            if text == "memory":
                raise self._fail(f"it needs more memory than a model may use ({what}); {self._limit_words()}")
            raise self._fail(text[:400])
        if reply[:1] != b"K":
            raise self._fail("its worker gave an unreadable answer")
        return reply[1:]

    def _death(self, code: int, what: str) -> str:
        if code == -signal.SIGXCPU:
            return f"it took more than {self._limits.model_cpu_seconds} s of CPU time ({what}); {self._limit_words()}"
        if code in (-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS) or code > 0:
            return (
                f"its worker ended ({_signal_name(code)}) while {what}: it needs more memory than a model may use, "
                f"or LiteRT cannot run it; {self._limit_words()}"
            )
        return f"its worker ended ({_signal_name(code)}) while {what}"

    def _limit_words(self) -> str:
        limits = self._limits
        return (
            f"a model may use {human_bytes(limits.model_memory_bytes)} and {limits.model_cpu_seconds} s of CPU time "
            f"per call (`{Limits.variable('model_memory_bytes')}`, `{Limits.variable('model_cpu_seconds')}`)"
        )

    def _fail(self, detail: str) -> MetadataError:
        """The file is refused from now on (its worker stopped), with this reason."""
        self._end_worker()
        self._info = None
        self._failure = f"the block's TFLite file is refused: {detail}"
        return MetadataError(self._failure)


def _signal_name(code: int) -> str:
    if code >= 0:
        return f"exit code {code}"
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"
