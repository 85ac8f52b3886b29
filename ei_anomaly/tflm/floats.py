"""Float32 arithmetic as a named target's C library and compiler compute it (numba).

- `fma32`: a fused multiply-add rounded once to float32, as `vfma.f32` computes it. Emulated in
  float64: the product of two float32 values is exact there; the sum is rounded once to float64 and
  its error kept (TwoSum); the float64 sum rounds to the same float32 as the exact sum except when
  it lands exactly halfway between two float32 values, where the error says which way to go.
- `newlib_expf`, `newlib_logf`: newlib's `expf` and `logf` as the arm-none-eabi build of newlib
  shipped with GCC runs them on a Cortex-M with a single-precision FPU (multilibs `v7e-m+fp`,
  `v8-m.main+fp`). There newlib uses its single-precision fdlibm code (`ef_exp.c`, `ef_log.c`,
  `__OBSOLETE_MATH`), and GCC contracts its polynomials into fused multiply-adds. Each operation
  below, fused or not, is the one the disassembled library (`libm.a`, newlib 3.3.0, GCC 12.2) executes,
  in its order; its `expf`/`logf` wrappers run in IEEE mode (they return the core's result as it is).
  `scripts/device_parity.py` checks the result against that library run in QEMU.
- `host_expf`, `host_logf`: the C library of this process (glibc on Linux), as the SDK built for a
  Linux/x86 runner calls it (numba calls `expf`/`logf`; numpy's own `exp` differs on many inputs).

The fdlibm algorithms are Sun Microsystems' (1993): "Developed at SunPro, a Sun Microsystems, Inc.
business. Permission to use, copy, modify, and distribute this software is freely granted, provided
that this notice is preserved." This module is a description of their float32 arithmetic, with the
constants as the library holds them (hexadecimal words).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
import numpy.typing as npt

__all__ = [
    "fma32",
    "fma32_array",
    "fully_connected",
    "host_expf",
    "host_logf",
    "newlib_expf",
    "newlib_logf",
]

_F32 = npt.NDArray[np.float32]


@numba.njit(inline="always", cache=True)
def fma32(a: np.float32, b: np.float32, c: np.float32) -> np.float32:  # pragma: no cover - compiled
    """a * b + c, rounded once to float32 (round to nearest, ties to even)."""
    p = np.float64(a) * np.float64(b)  # exact: 24 + 24 bits
    cc = np.float64(c)
    s = p + cc
    bb = s - p
    err = (p - (s - bb)) + (cc - bb)  # s + err == p + cc exactly (TwoSum)
    f = np.float32(s)
    fd = np.float64(f)
    if fd == s or err == 0.0 or not np.isfinite(s):
        return f
    if fd < s:
        lo, hi = f, np.float32(np.nextafter(f, np.float32(np.inf)))
    else:
        lo, hi = np.float32(np.nextafter(f, np.float32(-np.inf))), f
    if s != (np.float64(lo) + np.float64(hi)) * 0.5:
        return f  # not a tie in float64: the exact sum lies on the same side of every float32 midpoint
    return hi if err > 0.0 else lo


@numba.njit(cache=True)
def fma32_array(a: _F32, b: _F32, c: _F32) -> _F32:  # pragma: no cover - compiled
    """`fma32` element by element over three float32 arrays of one shape."""
    out = np.empty(a.shape, np.float32)
    fa, fb, fc, fo = a.reshape(-1), b.reshape(-1), c.reshape(-1), out.reshape(-1)
    for i in range(fo.size):
        fo[i] = fma32(fa[i], fb[i], fc[i])
    return out


@numba.njit(cache=True)
def _fully_connected(x: _F32, weights: _F32, fused: bool, out: _F32) -> None:  # pragma: no cover - compiled
    rows, depth = x.shape
    units = weights.shape[0]
    for r in range(rows):
        for u in range(units):
            total = np.float32(0.0)
            if fused:
                for d in range(depth):
                    total = fma32(x[r, d], weights[u, d], total)
            else:
                for d in range(depth):
                    total = np.float32(total + np.float32(x[r, d] * weights[u, d]))
            out[r, u] = total


def fully_connected(x: npt.ArrayLike, weights: npt.ArrayLike, fused: bool) -> _F32:
    """`total += x[d] * w[u, d]` for d in order, from 0, per row and unit (TFLite Micro's float
    FULLY_CONNECTED before its bias): each step rounded twice, or once when `fused` (vfma.f32)."""
    rows = np.ascontiguousarray(x, np.float32)
    w = np.ascontiguousarray(weights, np.float32)
    out = np.empty((rows.shape[0], w.shape[0]), np.float32)
    _fully_connected(rows, w, fused, out)
    return out


def _f(word: int) -> np.float32:
    """The float32 whose bits are `word`."""
    value: np.float32 = np.array([word], np.uint32).view(np.float32)[0]
    return value


# ef_exp.c
_HALF = (_f(0x3F000000), _f(0xBF000000))
_LN2_HI = (_f(0x3F317180), _f(0xBF317180))
_LN2_LO = (_f(0x3717F7D1), _f(0xB717F7D1))
_INV_LN2 = _f(0x3FB8AA3B)
_P1, _P2, _P3, _P4, _P5 = (_f(w) for w in (0x3E2AAAAB, 0xBB360B61, 0x388AB355, 0xB5DDEA0E, 0x3331BB4C))
_HUGE = _f(0x7149F2CA)  # 1e30
_TWO_M100 = _f(0x0D800000)
_ONE, _TWO, _ZERO = np.float32(1.0), np.float32(2.0), np.float32(0.0)
# ef_log.c
_LG1, _LG2, _LG3, _LG4, _LG5, _LG6, _LG7 = (
    _f(w) for w in (0x3F2AAAAB, 0x3ECCCCCD, 0x3E924925, 0x3E638E29, 0x3E3A3325, 0x3E1CD04F, 0x3E178897)
)
_TWO25 = _f(0x4C000000)
_THIRD = _f(0x3EAAAAAB)
_HALF_F = np.float32(0.5)


@numba.njit(cache=True)
def _exp_rows(x: _F32, out: _F32) -> None:  # pragma: no cover - compiled
    xi = x.view(np.int32)
    word = np.empty(1, np.int32)
    as_float = word.view(np.float32)
    for i in range(x.size):
        v = x[i]
        hx = int(xi[i])
        xsb = (hx >> 31) & 1
        ax = hx & 0x7FFFFFFF
        if ax > 0x7F800000:  # NaN
            out[i] = v + v
            continue
        if ax == 0x7F800000:  # exp(+inf) = inf, exp(-inf) = 0
            out[i] = _ZERO if xsb else v
            continue
        if hx > 0x42B17217:  # x > log(FLT_MAX): overflow (huge * huge)
            out[i] = np.float32(np.inf)
            continue
        if xsb and ax > 0x42CFF1B5:  # x < log(the smallest subnormal): underflow
            out[i] = _ZERO
            continue
        k = 0
        hi = _ZERO
        lo = _ZERO
        if ax > 0x3EB17218:  # |x| > 0.5 ln2: reduce
            if ax <= 0x3F851591:  # and |x| < 1.5 ln2
                hi = v - _LN2_HI[xsb]
                lo = _LN2_LO[xsb]
                k = 1 - xsb - xsb
            else:
                k = int(fma32(_INV_LN2, v, _HALF[xsb]))  # vfma, then vcvt (toward zero)
                t = np.float32(k)
                hi = fma32(-t, _LN2_HI[0], v)  # vfms: x - t * ln2HI
                lo = t * _LN2_LO[0]
            v = hi - lo
        elif ax < 0x31800000 and _HUGE + v > _ONE:  # |x| < 2**-28 (and not in inexact mode)
            out[i] = _ONE + v
            continue
        t = v * v
        poly = fma32(fma32(fma32(fma32(_P5, t, _P4), t, _P3), t, _P2), t, _P1)
        c = fma32(-poly, t, v)  # vfms: x - t * P(t)
        if k == 0:
            out[i] = _ONE - ((v * c) / (c - _TWO) - v)
            continue
        y = _ONE - ((lo - (v * c) / (_TWO - c)) - hi)
        as_float[0] = y
        if k >= -125:
            word[0] = word[0] + np.int32(k << 23)
            out[i] = as_float[0]
        else:
            word[0] = word[0] + np.int32((k + 100) << 23)
            out[i] = as_float[0] * _TWO_M100


@numba.njit(cache=True)
def _log_rows(x: _F32, out: _F32) -> None:  # pragma: no cover - compiled
    xi = x.view(np.int32)
    word = np.empty(1, np.int32)
    as_float = word.view(np.float32)
    for i in range(x.size):
        v = x[i]
        ix = int(xi[i])
        if (ix & 0x7FFFFFFF) == 0:  # log(+-0): -inf (the wrapper: errno ERANGE)
            out[i] = np.float32(-np.inf)
            continue
        if ix < 0:  # log(negative): NaN (the wrapper returns nanf(""))
            out[i] = np.float32(np.nan)
            continue
        if ix >= 0x7F800000:  # inf or NaN
            out[i] = v + v
            continue
        k = 0
        if ix < 0x00800000:  # subnormal: scale up
            k -= 25
            as_float[0] = v * _TWO25
            ix = int(word[0])
        k += (ix >> 23) - 127
        ix &= 0x007FFFFF
        j = (ix + 0x4AFB20) & 0x800000
        word[0] = ix | (j ^ 0x3F800000)  # normalize x or x/2
        k += j >> 23
        f = as_float[0] - _ONE
        dk = np.float32(k)
        if ((15 + ix) & 0x007FFFFF) < 16:  # |f| < 2**-20
            if f == _ZERO:
                out[i] = _ZERO if k == 0 else fma32(dk, _LN2_HI[0], dk * _LN2_LO[0])
                continue
            r = (f * f) * fma32(-f, _THIRD, _HALF_F)  # vfms: 0.5 - f/3
            if k == 0:
                out[i] = f - r
            else:
                out[i] = fma32(dk, _LN2_HI[0], -(fma32(-dk, _LN2_LO[0], r) - f))  # vfms, then vfnms
            continue
        s = f / (_TWO + f)
        z = s * s
        w = z * z
        t1_inner = fma32(fma32(w, _LG6, _LG4), w, _LG2)  # Lg2 + w * (Lg4 + w * Lg6)
        t2 = fma32(fma32(fma32(w, _LG7, _LG5), w, _LG3), w, _LG1) * z
        r = fma32(t1_inner, w, t2)  # R = t2 + w * (...), fused
        if ((ix - 0x30A3D0) | (0x35C288 - ix)) > 0:
            hfsq = (f * _HALF_F) * f
            if k == 0:
                out[i] = f - fma32(-(hfsq + r), s, hfsq)  # vfms: hfsq - s * (hfsq + R)
            else:
                inner = fma32(hfsq + r, s, dk * _LN2_LO[0])  # s * (hfsq + R) + dk * ln2_lo
                out[i] = fma32(dk, _LN2_HI[0], -((hfsq - inner) - f))  # vfnms
        elif k == 0:
            out[i] = fma32(-(f - r), s, f)  # vfms: f - s * (f - R)
        else:
            inner = fma32(f - r, s, -(_LN2_LO[0] * dk))  # s * (f - R) - dk * ln2_lo (vnmul, vfma)
            out[i] = fma32(dk, _LN2_HI[0], -(inner - f))  # vfnms


@numba.njit(cache=True)
def _host_exp_rows(x: _F32, out: _F32) -> None:  # pragma: no cover - compiled
    for i in range(x.size):
        out[i] = np.exp(x[i])  # numba calls the C library's expf for a float32


@numba.njit(cache=True)
def _host_log_rows(x: _F32, out: _F32) -> None:  # pragma: no cover - compiled
    for i in range(x.size):
        out[i] = np.log(x[i])


def _elementwise(kernel: Callable[[_F32, _F32], None], x: npt.ArrayLike) -> _F32:
    flat = np.ascontiguousarray(x, np.float32).reshape(-1)
    out = np.empty_like(flat)
    kernel(flat, out)
    shaped: _F32 = out.reshape(np.shape(x))
    return shaped


def newlib_expf(x: npt.ArrayLike) -> _F32:
    """newlib's `expf` (Cortex-M, single-precision FPU) of every element."""
    return _elementwise(_exp_rows, x)


def newlib_logf(x: npt.ArrayLike) -> _F32:
    """newlib's `logf` (Cortex-M, single-precision FPU) of every element."""
    return _elementwise(_log_rows, x)


def host_expf(x: npt.ArrayLike) -> _F32:
    """This process's C library `expf` of every element (glibc on Linux)."""
    return _elementwise(_host_exp_rows, x)


def host_logf(x: npt.ArrayLike) -> _F32:
    """This process's C library `logf` of every element."""
    return _elementwise(_host_log_rows, x)
