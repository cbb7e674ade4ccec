"""cffi binding of the C/MPI kernels in mpi_c/ (the `c_mpi` implementation).

The C functions take `const MPI_Comm *`; an mpi4py communicator's handle
address (MPI._addressof) is passed as `void *`, which is only valid when the
C library and mpi4py use the same libmpi. `load()` checks that first.
"""
from __future__ import annotations

import functools
import importlib.metadata
import os
from pathlib import Path

import numpy as np
from cffi import FFI
from mpi4py import MPI

LIBRARY_NAME = "libjaxpar_mpi.so"

ffi = FFI()
ffi.cdef(
    """
    int64_t jaxpar_block_lo(int64_t n, int parts, int index);
    int jaxpar_matmul_summa(const void *comm, int dtype, int64_t m, int64_t k,
                            int64_t n, int pr, int pc, int64_t panel,
                            const void *a, const void *b, void *c);
    int jaxpar_matmul_allgather(const void *comm, int dtype, int64_t m,
                                int64_t k, int64_t n, const void *a,
                                const void *b, void *c);
    int jaxpar_sgd(const void *comm, int dtype, int64_t n, int64_t d_in, int64_t h,
                   int64_t d_out, const void *x, const void *y, void *w1, void *b1,
                   void *w2, void *b2, int64_t steps, int64_t batch, double lr,
                   void *losses);
    int jaxpar_mpi_library_version(char *buf, int len);
    const char *jaxpar_blas_info(void);
    """
)

JAXPAR_EINVAL = -1
DTYPE_CODES = {np.dtype(np.float64): 0, np.dtype(np.float32): 1}


class CLibraryError(RuntimeError):
    pass


def library_path() -> Path:
    """The built library: $JAXPAR_C_LIBRARY, next to this file, or in the installed wheel.

    The last case matters when the source tree shadows the installed package
    (running pytest from a checkout).
    """
    if os.environ.get("JAXPAR_C_LIBRARY"):
        return Path(os.environ["JAXPAR_C_LIBRARY"])
    here = Path(__file__).with_name(LIBRARY_NAME)
    if here.exists():
        return here
    try:
        installed = Path(importlib.metadata.distribution("jaxpar").locate_file(f"jaxpar/{LIBRARY_NAME}"))
        if installed.exists():
            return installed
    except importlib.metadata.PackageNotFoundError:
        pass
    raise CLibraryError(
        f"{LIBRARY_NAME} not found: install jaxpar with `pip install .` (which builds mpi_c/ "
        "with CMake), or point JAXPAR_C_LIBRARY at a library built by hand"
    )


@functools.cache
def load():
    lib = ffi.dlopen(str(library_path()))
    buf = ffi.new("char[]", 8192)
    if lib.jaxpar_mpi_library_version(buf, 8192) != 0:
        raise CLibraryError("MPI_Get_library_version failed in the jaxpar C library")
    c_side = clean_version(ffi.string(buf).decode(errors="replace"))
    py_side = clean_version(MPI.Get_library_version())
    if c_side != py_side:
        raise CLibraryError(
            "the jaxpar C library and mpi4py use different MPI libraries, so communicators "
            "cannot be shared between them.\n"
            f"  C library ({library_path()}): {c_side.splitlines()[0]}\n"
            f"  mpi4py ({MPI.__file__}): {py_side.splitlines()[0]}\n"
            "Rebuild one of them against the other's MPI (see README, 'Using a system MPI')."
        )
    return lib


def clean_version(text: str) -> str:
    """Library version strings come with trailing NULs or blanks from some MPIs."""
    return text.replace("\x00", "").strip()


def blas_info() -> str:
    """The CBLAS the C library was linked against, as recorded by CMake."""
    return ffi.string(load().jaxpar_blas_info()).decode()


def _comm_ptr(comm):
    return ffi.cast("void *", MPI._addressof(comm))


def _ptr(array: np.ndarray):
    return ffi.from_buffer(array)


def _check(code: int, what: str):
    if code == JAXPAR_EINVAL:
        raise CLibraryError(f"{what} rejected its arguments")
    if code != 0:
        raise CLibraryError(f"{what} failed: {MPI.Get_error_string(code)} (MPI error {code})")


def summa(comm, a_block, b_block, c_block, shape, grid, panel):
    """C block of SUMMA; a_block, b_block and c_block are C-contiguous local blocks."""
    m, k, n = shape
    code = load().jaxpar_matmul_summa(
        _comm_ptr(comm), DTYPE_CODES[a_block.dtype], m, k, n, grid[0], grid[1], panel,
        _ptr(a_block), _ptr(b_block), _ptr(c_block))
    _check(code, "jaxpar_matmul_summa")
    return c_block


def allgather(comm, a_rows, b_rows, c_rows, shape):
    m, k, n = shape
    code = load().jaxpar_matmul_allgather(
        _comm_ptr(comm), DTYPE_CODES[a_rows.dtype], m, k, n,
        _ptr(a_rows), _ptr(b_rows), _ptr(c_rows))
    _check(code, "jaxpar_matmul_allgather")
    return c_rows


def sgd(comm, x, y, params, steps, batch, lr):
    """(params, losses) of jaxpar_sgd from a fresh copy of params (the C kernel updates in place).

    x and y are the full C-contiguous data on every rank; params a dict W1, b1, W2, b2.
    """
    out = {name: np.array(params[name], order="C") for name in ("W1", "b1", "W2", "b2")}
    losses = np.empty(steps, dtype=x.dtype)
    (n, d_in), (h, d_out) = x.shape, out["W2"].shape
    code = load().jaxpar_sgd(
        _comm_ptr(comm), DTYPE_CODES[x.dtype], n, d_in, h, d_out, _ptr(x), _ptr(y),
        _ptr(out["W1"]), _ptr(out["b1"]), _ptr(out["W2"]), _ptr(out["b2"]),
        steps, batch, lr, _ptr(losses))
    _check(code, "jaxpar_sgd")
    return out, losses
