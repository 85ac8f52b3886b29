"""A GMM graph computed as a target computes it (`ei_anomaly.tflm`): the Linux arithmetic equals
LiteRT's reference kernels bit for bit; the Cortex-M arithmetic fuses FULLY_CONNECTED's multiply-adds
and calls newlib's expf/logf, whose values here were measured in QEMU (Cortex-M33, newlib 3.3.0);
graphs are read and written as .tflite, and anything but a GMM scorer's ops is refused."""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses

import numpy as np
import pytest

from ei_anomaly.errors import MetadataError
from ei_anomaly.litert_scoring import ReferenceScorer
from ei_anomaly.tflm import Arithmetic, check_gmm_scorer, read_tflite, run_graph, write_tflite
from ei_anomaly.tflm.floats import fma32_array, host_expf, host_logf, newlib_expf, newlib_logf
from ei_anomaly.tflm.interpreter import evaluate_tensor
from tests.support.constants import ROOT

GMM_TFLITE = ROOT / "ei_anomaly" / "data" / "demo" / "gmm" / "model.tflite"
LINUX = Arithmetic(fused_multiply_add=False, libm="host")
CORTEX_M = Arithmetic(fused_multiply_add=True, libm="newlib")


def f32(word: int) -> np.float32:
    return np.array([word], np.uint32).view(np.float32)[0]


def bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, np.float32).view(np.uint32)


@pytest.fixture(scope="module")
def libm():
    lib = ctypes.CDLL(ctypes.util.find_library("m"))
    lib.fmaf.restype, lib.fmaf.argtypes = ctypes.c_float, [ctypes.c_float] * 3
    return lib


def test_fma32_rounds_once_as_the_c_library_does(libm):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 20_000)).astype(np.float32)
    c = (rng.standard_normal(20_000) * rng.choice([1e-9, 1.0, 1e9], 20_000)).astype(np.float32)
    want = np.array([libm.fmaf(float(x), float(y), float(z)) for x, y, z in zip(a, b, c, strict=True)], np.float32)
    assert np.array_equal(bits(fma32_array(a, b, c)), bits(want))


def test_fma32_breaks_a_float64_tie_the_way_the_exact_sum_lies():
    # (1 + 2**-12)**2 = 1 + 2**-11 + 2**-24: exactly halfway between two float32 values. With c = 2**-60
    # the float64 sum is still that midpoint (c is lost in float64), so rounding it again would give
    # the even neighbour; the exact sum lies above the midpoint, so a fused multiply-add rounds up.
    a = np.float32(1 + 2**-12)
    got = fma32_array(np.array([a]), np.array([a]), np.array([2**-60], np.float32))[0]
    assert got == np.float32(1 + 2**-11 + 2**-23)
    naive = np.float32(np.float64(a) * np.float64(a) + 2**-60)
    assert naive == np.float32(1 + 2**-11)  # what double rounding gives: the test can fail


# Inputs where newlib's expf/logf differ from glibc's, with newlib's result, run on a Cortex-M33 in QEMU.
NEWLIB_EXPF = [
    (0xC12067FA, 0x3839A5EC),
    (0xBF78ACB6, 0x3EC1D262),
    (0x3EFC9E5C, 0x3FD1A5AC),
    (0xC29920FA, 0x083A39CE),
    (0xC27A2CA6, 0x125A123C),
    (0x3FA7EAE0, 0x406DA2B6),
]
NEWLIB_LOGF = [
    (0x3F2397AA, 0xBEE545F2),
    (0x432C64D1, 0x40A4CB02),
    (0x3EDD0F39, 0xBF570338),
    (0x431A9EB9, 0x40A14FA2),
    (0x4211FFBA, 0x40663A3E),
    (0x3F1F3E56, 0xBEF31182),
]


@pytest.mark.parametrize(
    ("function", "host", "pairs"), [(newlib_expf, host_expf, NEWLIB_EXPF), (newlib_logf, host_logf, NEWLIB_LOGF)]
)
def test_newlib_math_gives_the_bits_measured_on_a_cortex_m33(function, host, pairs):
    x = np.array([f32(i) for i, _ in pairs])
    want = np.array([o for _, o in pairs], np.uint32)
    assert np.array_equal(bits(function(x)), want)
    assert not np.array_equal(bits(host(x)), want)  # these are the inputs where the C libraries differ


def test_newlib_math_edge_cases():
    e = newlib_expf(np.array([0.0, -0.0, np.inf, -np.inf, 89.0, -104.0, 88.72283], np.float32))
    assert e[0] == e[1] == 1 and e[2] == np.inf and e[3] == 0 and e[4] == np.inf and e[5] == 0 and np.isfinite(e[6])
    lg = newlib_logf(np.array([1.0, 0.0, -1.0, np.inf, 1e-40], np.float32))
    assert lg[0] == 0 and lg[1] == -np.inf and np.isnan(lg[2]) and lg[3] == np.inf
    assert lg[4] == pytest.approx(np.log(1e-40), rel=1e-6)  # a subnormal input is scaled up first


@pytest.fixture(scope="module")
def demo_graph():
    return read_tflite(GMM_TFLITE.read_bytes())


@pytest.fixture(scope="module")
def rows(demo_graph):
    rng = np.random.default_rng(0)
    scale = rng.choice([0.3, 1.0, 3.0, 30.0], (4000, 1))
    return (rng.standard_normal((4000, demo_graph.n_inputs)) * scale).astype(np.float32)


def test_the_linux_arithmetic_is_litert_reference_kernels_bit_for_bit(demo_graph, rows):
    want = ReferenceScorer(GMM_TFLITE.read_bytes()).score_rows_one_by_one(rows)
    assert np.array_equal(bits(run_graph(demo_graph, rows, LINUX)), bits(want))


def test_the_cortex_m_arithmetic_differs_from_linux_on_many_rows_and_only_slightly(demo_graph, rows):
    linux, device = run_graph(demo_graph, rows, LINUX), run_graph(demo_graph, rows, CORTEX_M)
    differ = bits(linux) != bits(device)
    assert 0.05 < differ.mean() < 0.95
    assert np.allclose(linux, device, rtol=1e-4, atol=1e-4)
    # the fused multiply-adds alone already change many rows
    fma_only = run_graph(demo_graph, rows, Arithmetic(True, "host"))
    assert (bits(fma_only) != bits(linux)).mean() > 0.05


def test_a_tensor_inside_the_graph_can_be_read(demo_graph, rows):
    last = demo_graph.ops[-1]
    inner = evaluate_tensor(demo_graph, rows[:10], LINUX, last.outputs[0])
    assert np.array_equal(bits(inner[:, 0]), bits(run_graph(demo_graph, rows[:10], LINUX)))


def test_a_graph_written_back_is_the_same_graph(demo_graph, rows):
    again = read_tflite(write_tflite(demo_graph, "test"))
    assert [op.kind for op in again.ops] == [op.kind for op in demo_graph.ops]
    assert np.array_equal(bits(run_graph(again, rows, CORTEX_M)), bits(run_graph(demo_graph, rows, CORTEX_M)))
    want = ReferenceScorer(GMM_TFLITE.read_bytes()).score_rows_one_by_one(rows[:200])
    assert np.array_equal(bits(ReferenceScorer(write_tflite(demo_graph)).score_rows_one_by_one(rows[:200])), bits(want))


def test_only_a_gmm_scorers_ops_are_accepted(demo_graph):
    check_gmm_scorer(demo_graph)
    conv = dataclasses.replace(demo_graph.ops[0], kind="CONV_2D")
    with pytest.raises(MetadataError, match="op 0 of the graph is CONV_2D: not one of a GMM scorer's ops"):
        check_gmm_scorer(dataclasses.replace(demo_graph, ops=(conv, *demo_graph.ops[1:])))
    relu = dataclasses.replace(demo_graph.ops[0], activation="RELU")
    with pytest.raises(MetadataError, match="fused RELU"):
        check_gmm_scorer(dataclasses.replace(demo_graph, ops=(relu, *demo_graph.ops[1:])))


@pytest.mark.parametrize("data", [b"", b"1234TFL3" + b"\x00" * 8, b"\x10\x00\x00\x00TFL3" + bytes(range(200))])
def test_a_broken_flatbuffer_is_a_clear_error(data):
    with pytest.raises(MetadataError, match="TFLite"):
        read_tflite(data)
