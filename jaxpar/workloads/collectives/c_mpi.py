"""Python binding of c_mpi.c, the C/MPI collectives loops: cffi, with the MPI_Comm
passed by value. Not counted as code size: a C user writes the kernel, not this.
"""
from __future__ import annotations

import numpy as np

from jaxpar.core import clib
from jaxpar.core.prepared import PreparedRun
from jaxpar.workloads.collectives.problem import check_mpi_counts

CDEF = "".join(f"""
    int jaxpar_collectives_allreduce_{s}(MPI_Comm comm, int64_t count, int64_t iterations,
                                         const {t} *send, {t} *recv);
    int jaxpar_collectives_allgather_{s}(MPI_Comm comm, int64_t count, int64_t iterations,
                                         const {t} *send, {t} *recv);
    int jaxpar_collectives_bcast_{s}(MPI_Comm comm, int64_t count, int64_t iterations, {t} *buffer);
    int jaxpar_collectives_sendrecv_{s}(MPI_Comm comm, int64_t count, int64_t iterations,
                                        const {t} *send, {t} *recv);
""" for s, t in (("f64", "double"), ("f32", "float")))
SUFFIX = {np.dtype(np.float64): "f64", np.dtype(np.float32): "f32"}


def collective(comm, algorithm, iterations, send, recv):
    """`iterations` of the collective from send into recv (bcast: in place in recv)."""
    ffi, lib = clib.open_library(CDEF)
    name = f"jaxpar_collectives_{algorithm}_{SUFFIX[send.dtype]}"
    buffers = [recv] if algorithm == "bcast" else [send, recv]
    code = getattr(lib, name)(clib.comm_handle(ffi, comm), send.size, iterations,
                              *(clib.pointer(ffi, b) for b in buffers))
    clib.check(code, name)
    return recv


def prepare(x, *, algorithm, iterations, comm, devices=None) -> PreparedRun:
    """Rank r's buffer x + r and its receive buffer, allocated here, outside the timed loop."""
    clib.open_library(CDEF)  # a missing or mismatched library fails here, not in the timed run
    check_mpi_counts(x.size, algorithm, comm.size)
    send = x + x.dtype.type(comm.rank)
    recv = send.copy() if algorithm == "bcast" else np.empty(
        comm.size * x.size if algorithm == "allgather" else x.size, x.dtype)
    return PreparedRun(run=lambda: collective(comm, algorithm, iterations, send, recv),
                       gather=lambda out: np.stack(comm.allgather(out)), ranks=comm.size,
                       grid=None, launch="mpirun", details={"count": x.size})
