"""Scores from a block's own float32 TFLite file, run by LiteRT's reference interpreter.

A GMM anomaly block's score on a device is element 0 of its TFLite graph's output for the
window's axis values (`run_gmm_anomaly` in the SDK; see docs/gmm.md). This runs that file with
`ai-edge-litert` using its reference kernels (`OpResolverType.BUILTIN_REF`, no delegate): the
scores equal LiteRT's reference interpreter invoked on one row at a time, bit for bit. The
default (optimized) kernels give other float32 results on many rows, so they are never used.

Rows are scored in blocks when the graph allows it: the input is resized to `BLOCK_ROWS` rows,
and that is kept only if, on the first rows scored, the block's output equals the row-by-row
output bit for bit; otherwise (a graph with a fixed batch of 1 somewhere) every row is invoked
alone. One interpreter is not thread-safe: each scorer serialises its calls with a lock.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import MetadataError

__all__ = ["BLOCK_ROWS", "ReferenceScorer", "litert_available"]

BLOCK_ROWS = 4096  # rows per invoke when the graph takes a block: the tensors stay a few MB
_PROBE_ROWS = 64  # rows checked block-vs-row before block scoring is trusted


def litert_available() -> bool:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def _interpreter(model: bytes) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        raise MetadataError(
            "scoring a GMM block needs LiteRT: `pip install ai-edge-litert` (in requirements.txt)"
        ) from None
    try:
        return Interpreter(
            model_content=model,
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
            num_threads=1,
        )
    except (ValueError, RuntimeError) as exc:
        raise MetadataError(f"the block's TFLite file cannot be loaded: {str(exc)[:300]}") from None


class ReferenceScorer:
    """One TFLite file, scored with LiteRT's reference kernels; `score(rows)` -> float32 per row."""

    def __init__(self, model: bytes) -> None:
        self._model = bytes(model)
        self._lock = threading.Lock()
        self._single = _interpreter(self._model)
        inputs, outputs = self._single.get_input_details(), self._single.get_output_details()
        if len(inputs) != 1 or inputs[0]["dtype"] != np.float32:
            raise MetadataError("the block's TFLite file must take one float32 input (is it the float32 model?)")
        if not outputs or outputs[0]["dtype"] != np.float32:
            raise MetadataError("the block's TFLite file must give a float32 output (is it the float32 model?)")
        shape = [int(s) for s in inputs[0]["shape"]]
        if len(shape) != 2 or shape[0] != 1:
            raise MetadataError(f"the block's TFLite input has shape {shape}; a GMM block's is (1, axes)")
        self.n_inputs = shape[1]
        self._in, self._out = int(inputs[0]["index"]), int(outputs[0]["index"])
        self._single.allocate_tensors()
        self._block: Any = None
        self._block_ok: bool | None = None  # unknown until probed

    @property
    def scores_in_blocks(self) -> bool | None:
        """True when rows are scored a block at a time, False row by row, None before the first call."""
        return self._block_ok

    def score_rows_one_by_one(self, rows: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """The reference: one invoke per row, as the device and Studio's classify job run it."""
        x = self._as_rows(rows)
        with self._lock:
            return self._one_by_one(x)

    def score(self, rows: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Element 0 of the output per row (rows: float32 axis values, shape (n, axes))."""
        x = self._as_rows(rows)
        with self._lock:
            if len(x) < 2 or self._block_ok is False:
                return self._one_by_one(x)
            if self._block_ok is None:
                self._block_ok = self._probe(x[:_PROBE_ROWS])
                if not self._block_ok:
                    return self._one_by_one(x)
            return self._in_blocks(x)

    def _as_rows(self, rows: npt.ArrayLike) -> npt.NDArray[np.float32]:
        x = np.ascontiguousarray(rows, np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"expected rows of {self.n_inputs} values, got shape {x.shape}")
        return x

    def _one_by_one(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out = np.empty(len(x), np.float32)
        interp, i_in, i_out = self._single, self._in, self._out
        for i in range(len(x)):
            interp.set_tensor(i_in, x[i : i + 1])
            interp.invoke()
            out[i] = interp.get_tensor(i_out).reshape(-1)[0]
        return out

    def _probe(self, x: npt.NDArray[np.float32]) -> bool:
        """Can the graph take a block of rows, giving each row's bits exactly? Tried once."""
        try:
            block = _interpreter(self._model)
            block.resize_tensor_input(self._in, [BLOCK_ROWS, self.n_inputs], strict=False)
            block.allocate_tensors()
            self._block = block
            got = self._block_run(x)
        except (ValueError, RuntimeError):
            self._block = None
            return False
        want = self._one_by_one(x)
        if got.shape != want.shape or not np.array_equal(got.view(np.uint32), want.view(np.uint32)):
            self._block = None
            return False
        return True

    def _block_run(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """One block of at most BLOCK_ROWS rows; a short block is padded with copies of its first row."""
        n = len(x)
        if n < BLOCK_ROWS:
            x = np.concatenate([x, np.broadcast_to(x[:1], (BLOCK_ROWS - n, x.shape[1]))])
        self._block.set_tensor(self._in, x)
        self._block.invoke()
        out = self._block.get_tensor(self._out)
        if out.shape[0] != BLOCK_ROWS or out.size != BLOCK_ROWS * (out.size // max(out.shape[0], 1)):
            raise ValueError(f"output of shape {out.shape} for a block of {BLOCK_ROWS} rows")
        scores: npt.NDArray[np.float32] = np.ascontiguousarray(out.reshape(BLOCK_ROWS, -1)[:n, 0], np.float32)
        return scores

    def _in_blocks(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out = np.empty(len(x), np.float32)
        for start in range(0, len(x), BLOCK_ROWS):
            out[start : start + BLOCK_ROWS] = self._block_run(x[start : start + BLOCK_ROWS])
        return out
