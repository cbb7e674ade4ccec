"""The C SGD kernel's activation, jaxpar_tanh_{f64,f32}: vectorised with glibc's libmvec
(where the build has it), within a stated ulp bound of a more precise tanh, with IEEE
special values intact."""
import platform

import numpy as np
import pytest

from jaxpar.core import clib

pytestmark = pytest.mark.mpi

CDEF = """
    void jaxpar_tanh_f64(const double *x, double *out, int64_t count);
    void jaxpar_tanh_f32(const float *x, float *out, int64_t count);
"""
# The bound, in units in the last place of the result, against tanh in a wider type.
# Measured for libmvec (glibc 2.36, AVX-512) over these inputs and 2 M random ones:
# at most 2.13 ulp in float64 (numpy's tanh: 1.15) and 1.03 in float32 (numpy: 1.33).
ULP_BOUND = {np.float64: 3.0, np.float32: 2.0}


def c_tanh(x):
    ffi, lib = clib.open_library(CDEF)
    out = np.full_like(x, 7.0)
    name = "jaxpar_tanh_f64" if x.dtype == np.float64 else "jaxpar_tanh_f32"
    getattr(lib, name)(clib.pointer(ffi, x), clib.pointer(ffi, out), x.size)
    return out


def inputs(dtype):
    info = np.finfo(dtype)
    rng = np.random.default_rng(0)
    parts = [
        np.linspace(-25, 25, 100_003),                     # the whole curve, odd length
        rng.standard_normal(50_000) * 3,                    # where activations live
        np.geomspace(1e-30, 1, 20_000),                    # small |x|: tanh(x) ~ x
        -np.geomspace(1e-30, 1, 20_000),
        np.array([info.tiny, -info.tiny, info.tiny / 4, -info.tiny * 0.75,   # denormals
                  info.smallest_subnormal, -info.smallest_subnormal,
                  1e3, -1e3, info.max, -info.max, 19.0, 20.0, 22.0, -22.0, 0.55, -0.55]),
    ]
    return np.concatenate(parts).astype(dtype)


def ulp_error(out, x):
    if out.dtype == np.float64:
        exact = np.tanh(x.astype(np.longdouble))   # 64-bit mantissa on x86-64
    else:
        exact = np.tanh(x.astype(np.float64))
    rounded = exact.astype(out.dtype)
    ulp = np.spacing(np.abs(rounded)).astype(exact.dtype)
    return np.abs((out.astype(exact.dtype) - exact) / ulp)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_within_the_ulp_bound(dtype):
    x = inputs(dtype)
    out = c_tanh(x)
    errors = ulp_error(out, x)
    worst = int(np.argmax(errors))
    assert errors[worst] <= ULP_BOUND[dtype], (
        f"tanh({x[worst]!r}) = {out[worst]!r}: {errors[worst]:.2f} ulp > {ULP_BOUND[dtype]}")
    # and not merely within the bound: nearly all are within 1 ulp (float64: 94%)
    assert np.mean(errors <= 1.0) > 0.9


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_special_values(dtype):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1.0] * 5, dtype=dtype)
    out = c_tanh(x)
    assert np.array_equal(out[0::7], np.zeros(5, dtype)) and not np.signbit(out[0::7]).any()
    assert np.signbit(out[1::7]).all() and (out[1::7] == 0).all()        # tanh(-0) = -0
    assert (out[2::7] == 1).all() and (out[3::7] == -1).all()
    assert np.isnan(out[4::7]).all() and np.isnan(out[5::7]).all()       # NaN propagates
    assert np.allclose(out[6::7], np.tanh(dtype(1.0)))


@pytest.mark.parametrize("count", [0, 1, 3, 7, 8, 9, 15, 16, 17, 33])
def test_every_length_and_in_place(count):
    """Vector loops have a remainder: every length is computed, and nothing past it."""
    ffi, lib = clib.open_library(CDEF)
    x = np.linspace(-3, 3, 40)
    out = np.full(40, 7.0)
    lib.jaxpar_tanh_f64(clib.pointer(ffi, x), clib.pointer(ffi, out), count)
    assert np.allclose(out[:count], np.tanh(x[:count]), rtol=1e-15, atol=0)
    assert (out[count:] == 7.0).all()
    lib.jaxpar_tanh_f64(clib.pointer(ffi, x), clib.pointer(ffi, x), count)   # out = x
    assert np.allclose(x[:count], out[:count], rtol=1e-15, atol=0)


def test_the_build_says_how_tanh_is_computed():
    info = clib.tanh_info()
    assert info in ("libmvec", "scalar libm")
    if platform.machine() == "x86_64" and platform.libc_ver()[0] == "glibc":
        assert info == "libmvec", "glibc on x86-64 has libmvec: the build should have used it"
