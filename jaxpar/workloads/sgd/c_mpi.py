"""Python binding of c_mpi.c, the C/MPI data-parallel SGD kernel: cffi, with the
MPI_Comm passed by value. Not counted as code size: a C user writes the kernel,
not this.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from jaxpar.core import clib
from jaxpar.core.layout import block_sizes
from jaxpar.core.prepared import PreparedRun

CDEF = """
    int jaxpar_sgd_f64(MPI_Comm comm, int64_t n, int64_t d_in, int64_t h, int64_t d_out,
                       const double *x, const double *y, double *w1, double *b1, double *w2,
                       double *b2, int64_t steps, int64_t batch, double lr, double *losses);
    int jaxpar_sgd_f32(MPI_Comm comm, int64_t n, int64_t d_in, int64_t h, int64_t d_out,
                       const float *x, const float *y, float *w1, float *b1, float *w2,
                       float *b2, int64_t steps, int64_t batch, double lr, float *losses);
"""
SGD = {np.dtype(np.float64): "jaxpar_sgd_f64", np.dtype(np.float32): "jaxpar_sgd_f32"}
PARAM_NAMES = ("W1", "b1", "W2", "b2")


def check(code, name):
    """clib.check, but a failed allocation in the kernel (MPI_ERR_NO_MEM, whose MPI
    error string reads "MPI_Alloc_mem") says out of memory and what it allocated."""
    if code == MPI.ERR_NO_MEM:
        raise clib.CLibraryError(f"{name} failed: out of memory allocating its batch slice, "
                                 "activation and gradient buffers")
    clib.check(code, name)


def sgd(comm, x, y, params, steps, batch, lr):
    """(params, losses) after `steps` steps from a fresh copy of params (the kernel updates in place).

    x and y are the full C-contiguous data on every rank; params a dict W1, b1, W2, b2.
    """
    ffi, lib = clib.open_library(CDEF)
    out = {name: np.array(params[name], order="C") for name in PARAM_NAMES}
    losses = np.empty(steps, dtype=x.dtype)
    (n, d_in), (h, d_out) = x.shape, out["W2"].shape
    name = SGD[x.dtype]
    code = getattr(lib, name)(
        clib.comm_handle(ffi, comm), n, d_in, h, d_out, clib.pointer(ffi, x), clib.pointer(ffi, y),
        *(clib.pointer(ffi, out[p]) for p in PARAM_NAMES), steps, batch, lr,
        clib.pointer(ffi, losses))
    check(code, name)
    return out, losses


def prepare(x, y, params, *, steps, batch, lr, comm, devices=None) -> PreparedRun:
    """Every rank holds all of x and y; run returns the replicated params and losses."""
    clib.open_library(CDEF)  # a missing or mismatched library fails here, not in the timed run
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    return PreparedRun(run=lambda: sgd(comm, x, y, params, steps, batch, lr),
                       gather=lambda output: output, ranks=comm.size, grid=None,
                       launch="mpirun", details={"batch_rows": block_sizes(batch, comm.size)})
