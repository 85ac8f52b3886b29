"""A GMM block's float32 TFLite graph, as data and as a named target computes it.

graph        `Graph` (tensors, constants, ops in order), read from and written to `.tflite`
             flatbuffers; `check_gmm_scorer`, the op allowlist a model file from outside must pass
interpreter  `run_graph`: TensorFlow Lite Micro's float reference kernels, row by row exactly,
             on a target's `Arithmetic` (fused multiply-adds or not, whose `expf`/`logf`)
floats       float32 as a target computes it: `fma32`, newlib's `expf`/`logf` on a Cortex-M with
             a single-precision FPU, this process's C library's
"""

from __future__ import annotations

from .graph import GMM_SCORER_OPS, Graph, Op, Tensor, check_gmm_scorer, read_tflite, write_tflite
from .interpreter import Arithmetic, run_graph

__all__ = [
    "GMM_SCORER_OPS",
    "Arithmetic",
    "Graph",
    "Op",
    "Tensor",
    "check_gmm_scorer",
    "read_tflite",
    "run_graph",
    "write_tflite",
]
