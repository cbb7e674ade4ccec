"""The collectives the workloads use, in numpy with mpi4py, each run `iterations`
times back to back: the same loops as c_mpi.c, with mpi4py's buffer methods.

  allreduce: comm.Allreduce (sum) of every rank's buffer
  allgather: comm.Allgather of every rank's buffer
  bcast:     comm.Bcast from rank 0, in place
  sendrecv:  comm.Sendrecv around the ring, to rank + 1 and from rank - 1
"""
import numpy as np
from mpi4py import MPI

from jaxpar.core.prepared import PreparedRun
from jaxpar.workloads.collectives.problem import check_mpi_counts


def allreduce(comm, send, recv, iterations):
    for _ in range(iterations):
        comm.Allreduce(send, recv, op=MPI.SUM)


def allgather(comm, send, recv, iterations):
    for _ in range(iterations):
        comm.Allgather(send, recv)


def bcast(comm, send, recv, iterations):
    for _ in range(iterations):
        comm.Bcast(recv, root=0)  # recv starts as this rank's buffer


def sendrecv(comm, send, recv, iterations):
    right, left = (comm.rank + 1) % comm.size, (comm.rank - 1) % comm.size
    for _ in range(iterations):
        comm.Sendrecv(send, dest=right, recvbuf=recv, source=left)


KERNELS = {"allreduce": allreduce, "allgather": allgather, "bcast": bcast,
           "sendrecv": sendrecv}


def prepare(x, *, algorithm, iterations, comm, devices=None):
    """Rank r's buffer x + r and its receive buffer, allocated here, outside the timed loop."""
    check_mpi_counts(x.size, algorithm, comm.size)  # the same limit as the C form
    send = x + x.dtype.type(comm.rank)
    recv = send.copy() if algorithm == "bcast" else np.empty(
        comm.size * x.size if algorithm == "allgather" else x.size, x.dtype)
    kernel = KERNELS[algorithm]

    def run():
        kernel(comm, send, recv, iterations)
        return recv

    return PreparedRun(run=run, gather=lambda out: np.stack(comm.allgather(out)),
                       ranks=comm.size, grid=None, launch="mpirun", details={"count": x.size})
