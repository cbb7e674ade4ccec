"""Python binding of c_mpi.c, the C/MPI PRK stencil kernel: cffi, with the MPI_Comm
passed by value. Not counted as code size: a C user writes the kernel, not this.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from jaxpar.core import clib
from jaxpar.core.layout import block_sizes, block_slice, gather_blocks, process_grid
from jaxpar.core.prepared import PreparedRun

CDEF = """
    int jaxpar_stencil_f64(MPI_Comm comm, int64_t n, int radius, int64_t iterations, int pr,
                           int pc, const double *in_block, double *out_block);
    int jaxpar_stencil_f32(MPI_Comm comm, int64_t n, int radius, int64_t iterations, int pr,
                           int pc, const float *in_block, float *out_block);
"""
STENCIL = {np.dtype(np.float64): "jaxpar_stencil_f64", np.dtype(np.float32): "jaxpar_stencil_f32"}


def check(code, name):
    """clib.check, but a failed allocation in the kernel (MPI_ERR_NO_MEM, whose MPI
    error string reads "MPI_Alloc_mem") says out of memory and what it allocated."""
    if code == MPI.ERR_NO_MEM:
        raise clib.CLibraryError(f"{name} failed: out of memory allocating its block of IN "
                                 "with halos")
    clib.check(code, name)


def stencil(comm, in_block, out_block, n, radius, iterations, grid):
    """This rank's block of OUT into out_block, from its C-contiguous block of x."""
    ffi, lib = clib.open_library(CDEF)
    name = STENCIL[in_block.dtype]
    code = getattr(lib, name)(clib.comm_handle(ffi, comm), n, radius, iterations, *grid,
                              clib.pointer(ffi, in_block), clib.pointer(ffi, out_block))
    check(code, name)
    return out_block


def prepare(x, *, radius, iterations, comm, devices=None) -> PreparedRun:
    """Slice this rank's block of the global x; gather assembles OUT on every rank."""
    clib.open_library(CDEF)  # a missing or mismatched library fails here, not in the timed run
    n, size = x.shape[0], comm.size
    grid = process_grid(size)
    slices = [(block_slice(n, grid[0], r // grid[1]), block_slice(n, grid[1], r % grid[1]))
              for r in range(size)]
    in_block = np.ascontiguousarray(x[slices[comm.rank]])
    out_block = np.empty_like(in_block)
    return PreparedRun(run=lambda: stencil(comm, in_block, out_block, n, radius, iterations, grid),
                       gather=lambda out: gather_blocks(comm, out, slices, (n, n), x.dtype),
                       ranks=size, grid=grid, launch="mpirun",
                       details={"block_rows": block_sizes(n, grid[0]),
                                "block_cols": block_sizes(n, grid[1])})
