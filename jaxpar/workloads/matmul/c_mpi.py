"""Python binding of c_mpi.c, the C/MPI matmul kernels: cffi, with the MPI_Comm
passed by value. Not counted as code size: a C user writes the kernel, not this.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from jaxpar.core import clib
from jaxpar.core.layout import block_slice, gather_blocks, process_grid
from jaxpar.core.prepared import PreparedRun
from jaxpar.workloads.matmul.problem import DEFAULT_LOOKAHEAD

CDEF = """
    int jaxpar_matmul_summa_f64(MPI_Comm comm, int64_t m, int64_t k, int64_t n, int pr, int pc,
                                int64_t panel, int lookahead, const double *a, const double *b,
                                double *c);
    int jaxpar_matmul_summa_f32(MPI_Comm comm, int64_t m, int64_t k, int64_t n, int pr, int pc,
                                int64_t panel, int lookahead, const float *a, const float *b,
                                float *c);
    int jaxpar_matmul_allgather_f64(MPI_Comm comm, int64_t m, int64_t k, int64_t n,
                                    const double *a, const double *b, double *c);
    int jaxpar_matmul_allgather_f32(MPI_Comm comm, int64_t m, int64_t k, int64_t n,
                                    const float *a, const float *b, float *c);
"""
SUMMA = {np.dtype(np.float64): "jaxpar_matmul_summa_f64",
         np.dtype(np.float32): "jaxpar_matmul_summa_f32"}
ALLGATHER = {np.dtype(np.float64): "jaxpar_matmul_allgather_f64",
             np.dtype(np.float32): "jaxpar_matmul_allgather_f32"}


def check(code, name, buffers):
    """clib.check, but a failed allocation in the kernel (MPI_ERR_NO_MEM, whose MPI
    error string reads "MPI_Alloc_mem") says out of memory and what it allocated."""
    if code == MPI.ERR_NO_MEM:
        raise clib.CLibraryError(f"{name} failed: out of memory allocating {buffers}")
    clib.check(code, name)


def summa(comm, a, b, c, shape, grid, panel, lookahead=DEFAULT_LOOKAHEAD):
    """This rank's C block into c; a, b and c are this rank's C-contiguous blocks."""
    ffi, lib = clib.open_library(CDEF)
    name = SUMMA[a.dtype]
    code = getattr(lib, name)(clib.comm_handle(ffi, comm), *shape, *grid, panel, lookahead,
                              clib.pointer(ffi, a), clib.pointer(ffi, b), clib.pointer(ffi, c))
    check(code, name, "its A and B panels")
    return c


def allgather(comm, a, b, c, shape):
    """This rank's rows of C into c, from its rows of A and B."""
    ffi, lib = clib.open_library(CDEF)
    name = ALLGATHER[a.dtype]
    code = getattr(lib, name)(clib.comm_handle(ffi, comm), *shape,
                              clib.pointer(ffi, a), clib.pointer(ffi, b), clib.pointer(ffi, c))
    check(code, name, "the all-gathered B (K x N)")
    return c


def prepare(a, b, *, algorithm, panel, lookahead=DEFAULT_LOOKAHEAD, comm, devices=None) -> PreparedRun:
    """Slice this rank's blocks of the global a and b; gather assembles C on every rank."""
    clib.open_library(CDEF)  # a missing or mismatched library fails here, not in the timed run
    (m, k), n, size, rank = a.shape, b.shape[1], comm.size, comm.rank
    if algorithm == "summa":
        grid = process_grid(size)
        row, col = divmod(rank, grid[1])
        a_local = np.ascontiguousarray(a[block_slice(m, grid[0], row), block_slice(k, grid[1], col)])
        b_local = np.ascontiguousarray(b[block_slice(k, grid[0], row), block_slice(n, grid[1], col)])
        c_local = np.empty((a_local.shape[0], b_local.shape[1]), a.dtype)
        run = lambda: summa(comm, a_local, b_local, c_local, (m, k, n), grid, panel, lookahead)
        c_slices = [(block_slice(m, grid[0], r // grid[1]), block_slice(n, grid[1], r % grid[1]))
                    for r in range(size)]
    else:
        grid = (size, 1)
        a_local = np.ascontiguousarray(a[block_slice(m, size, rank)])
        b_local = np.ascontiguousarray(b[block_slice(k, size, rank)])
        c_local = np.empty((a_local.shape[0], n), a.dtype)
        run = lambda: allgather(comm, a_local, b_local, c_local, (m, k, n))
        c_slices = [(block_slice(m, size, r), slice(0, n)) for r in range(size)]
    details = {"panel": panel, "lookahead": lookahead} if algorithm == "summa" else {}
    return PreparedRun(run=run, gather=lambda c: gather_blocks(comm, c, c_slices, (m, n), a.dtype),
                       ranks=size, grid=grid, launch="mpirun", details=details)
