"""What runs in a GMM model file's worker process: LiteRT's reference interpreter on that file.

`litert_scoring` starts this file as a script (`python litert_worker.py FD MEMORY CPU IDLE`),
never importing the rest of the package, so a model file that got past the checks
(`tflite_check`) runs in a process that has nothing else: its address space is limited to MEMORY
bytes (RLIMIT_AS) before numpy and LiteRT load, each request may take CPU seconds of CPU time
(RLIMIT_CPU, raised by this script before each request: past it the kernel ends the process), and
it ends by itself after IDLE seconds without a request. The server kills it when a request takes
too long by the clock, and starts another when it is needed again.

Requests and replies are bytes over the socket FD (`multiprocessing.connection` framing), never
pickles: the server reads numbers and text from here, nothing it would run.

    b"L" + model file        -> b"K" + JSON: the input width, tensor bytes for one row and a block, block rows
    b"S" + float32 rows      -> b"K" + b"B"/b"R" (a block at a time / row by row) + float32 scores
    b"R" + float32 rows      -> b"K" + b"R" + float32 scores, one invoke per row (the reference)
    any error                -> b"E" + a message (UTF-8)

`Engine` is the scoring itself, as it ran in the server before the worker: the reference kernels
(`OpResolverType.BUILTIN_REF`, no delegate, one thread), a block of rows per invoke only when the
graph's memory grows linearly with the rows and its output for a block equals the row-by-row
output bit for bit on the first rows scored; otherwise one invoke per row.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # run as the worker: this folder must not shadow a module numpy or LiteRT imports
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import json
import math
import resource
from typing import Any

import numpy as np
import numpy.typing as npt

BLOCK_ROWS = 4096  # rows per invoke when the graph takes a block
MIN_BLOCK_ROWS = 64  # below this a block is not worth its interpreter: row by row
PROBE_ROWS = 64  # rows checked block-vs-row before block scoring is trusted
BLOCK_SHARE = 4  # a block's tensors may take a quarter of the worker's memory
GROWTH_BATCHES = (2, 4, 8)  # the batch sizes whose tensor bytes must grow linearly


def _interpreter(model: bytes) -> Any:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    return Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF, num_threads=1)


def tensor_bytes(interp: Any) -> int:
    """The bytes of every tensor of an allocated interpreter, as shaped now (an upper bound of its
    arena, which reuses memory between tensors that do not live at once)."""
    total = 0
    for t in interp.get_tensor_details():
        total += int(np.prod(t["shape"], dtype=np.int64)) * np.dtype(t["dtype"]).itemsize
    return total


class Engine:
    """One model file on LiteRT's reference kernels; `score(rows)` -> float32 per row."""

    def __init__(self, model: bytes, memory_bytes: int = 1 << 40) -> None:
        self._model = bytes(model)
        self._single = _interpreter(self._model)
        inputs, outputs = self._single.get_input_details(), self._single.get_output_details()
        if len(inputs) != 1 or inputs[0]["dtype"] != np.float32:
            raise ValueError("the block's TFLite file must take one float32 input (is it the float32 model?)")
        if not outputs or outputs[0]["dtype"] != np.float32:
            raise ValueError("the block's TFLite file must give a float32 output (is it the float32 model?)")
        shape = [int(s) for s in inputs[0]["shape"]]
        if len(shape) != 2 or shape[0] != 1:
            raise ValueError(f"the block's TFLite input has shape {shape}; a GMM block's is (1, axes)")
        self.n_inputs = shape[1]
        self._in, self._out = int(inputs[0]["index"]), int(outputs[0]["index"])
        try:
            self._single.allocate_tensors()
        except RuntimeError as exc:
            raise ValueError(
                f"LiteRT cannot prepare its tensors for one row ({str(exc).strip() or 'no reason given'}): they need "
                "more memory than a model may use, or the graph is invalid"
            ) from None
        self.one_row_bytes = tensor_bytes(self._single)
        self.block_rows, self.block_bytes = 0, 0
        self._block: Any = None
        self._block_ok: bool | None = None  # unknown until probed
        self._plan_block(memory_bytes // BLOCK_SHARE)

    def _plan_block(self, budget: int) -> None:
        """Size a block from how the tensors grow with the rows (measured at a few small batches,
        before a block is allocated): only linear growth is trusted, within `budget` bytes."""
        try:
            interp = _interpreter(self._model)
            sizes = [self.one_row_bytes]
            for rows in GROWTH_BATCHES:
                interp.resize_tensor_input(self._in, [rows, self.n_inputs], strict=False)
                interp.allocate_tensors()
                sizes.append(tensor_bytes(interp))
        except (ValueError, RuntimeError):  # a graph with a fixed batch of 1 somewhere
            self._block_ok = False
            return
        per_row = sizes[1] - sizes[0]
        batches = (1, *GROWTH_BATCHES)
        linear = all(sizes[i] - sizes[0] == per_row * (batches[i] - 1) for i in range(2, len(sizes)))
        rows = min(BLOCK_ROWS, (budget - sizes[0]) // per_row + 1) if linear and per_row > 0 else 0
        if rows < MIN_BLOCK_ROWS:
            self._block_ok = False
            return
        try:
            interp.resize_tensor_input(self._in, [rows, self.n_inputs], strict=False)
            interp.allocate_tensors()
        except (ValueError, RuntimeError):
            self._block_ok = False
            return
        self._block, self.block_rows, self.block_bytes = interp, int(rows), tensor_bytes(interp)

    @property
    def scores_in_blocks(self) -> bool | None:
        return self._block_ok

    def info(self) -> dict[str, int]:
        return {
            "n_inputs": self.n_inputs,
            "one_row_bytes": self.one_row_bytes,
            "block_rows": self.block_rows,
            "block_bytes": self.block_bytes,
        }

    def score(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        if len(x) < 2 or self._block_ok is False:
            return self.one_by_one(x)
        if self._block_ok is None:
            self._block_ok = self._probe(x[:PROBE_ROWS])
            if not self._block_ok:
                return self.one_by_one(x)
        out = np.empty(len(x), np.float32)
        for start in range(0, len(x), self.block_rows):
            out[start : start + self.block_rows] = self._block_run(x[start : start + self.block_rows])
        return out

    def one_by_one(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """The reference: one invoke per row, as the device and Studio's classify job run it."""
        out = np.empty(len(x), np.float32)
        interp, i_in, i_out = self._single, self._in, self._out
        for i in range(len(x)):
            interp.set_tensor(i_in, x[i : i + 1])
            interp.invoke()
            out[i] = interp.get_tensor(i_out).reshape(-1)[0]
        return out

    def _probe(self, x: npt.NDArray[np.float32]) -> bool:
        """Does the block give each row's bits exactly? Tried once, on the first rows scored."""
        try:
            got = self._block_run(x)
        except (ValueError, RuntimeError):
            self._block = None
            return False
        want = self.one_by_one(x)
        if got.shape != want.shape or not np.array_equal(got.view(np.uint32), want.view(np.uint32)):
            self._block = None
            return False
        return True

    def _block_run(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """One block of at most `block_rows` rows; a short block is padded with copies of its first row."""
        n, rows = len(x), self.block_rows
        if n < rows:
            x = np.concatenate([x, np.broadcast_to(x[:1], (rows - n, x.shape[1]))])
        self._block.set_tensor(self._in, x)
        self._block.invoke()
        out = self._block.get_tensor(self._out)
        if out.shape[0] != rows or out.size != rows * (out.size // max(out.shape[0], 1)):
            raise ValueError(f"output of shape {out.shape} for a block of {rows} rows")
        scores: npt.NDArray[np.float32] = np.ascontiguousarray(out.reshape(rows, -1)[:n, 0], np.float32)
        return scores


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _allow_cpu(seconds: float) -> None:
    """From now, `seconds` more of CPU time; past it the kernel sends SIGXCPU, which ends the process."""
    soft = math.ceil(_cpu_used() + seconds)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _rows(payload: bytes, n_inputs: int) -> npt.NDArray[np.float32]:
    x = np.frombuffer(payload, np.float32)
    if n_inputs < 1 or x.size % n_inputs:
        raise ValueError(f"{x.size} values are not rows of {n_inputs}")
    return x.reshape(-1, n_inputs)


def _handle(engine: Engine | None, request: bytes, memory: int) -> tuple[Engine | None, bytes]:
    op, payload = request[:1], request[1:]
    if op == b"L":
        engine = Engine(payload, memory)
        return engine, b"K" + json.dumps(engine.info()).encode()
    if engine is None:
        raise ValueError("no model loaded")
    x = _rows(payload, engine.n_inputs)
    if op == b"S":
        scores = engine.score(x)
        return engine, b"K" + (b"B" if engine.scores_in_blocks else b"R") + scores.tobytes()
    if op == b"R":
        return engine, b"K" + b"R" + engine.one_by_one(x).tobytes()
    raise ValueError(f"unknown request {op!r}")


def main(argv: list[str]) -> int:
    fd, memory, cpu_seconds, idle_seconds = int(argv[0]), int(argv[1]), float(argv[2]), float(argv[3])
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from multiprocessing.connection import Connection

    conn = Connection(fd)
    engine: Engine | None = None
    _allow_cpu(cpu_seconds)  # the imports below count
    import ai_edge_litert.interpreter  # noqa: F401

    while conn.poll(idle_seconds):
        try:
            request = conn.recv_bytes()
        except EOFError:
            return 0
        _allow_cpu(cpu_seconds)
        try:
            engine, reply = _handle(engine, request, memory)
        except MemoryError:
            reply = b"E" + b"memory"
        except Exception as exc:  # reported to the server as text: the model's problem, not this script's
            reply = b"E" + f"{type(exc).__name__}: {exc}"[:2000].encode("utf-8", "replace")
        conn.send_bytes(reply)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
