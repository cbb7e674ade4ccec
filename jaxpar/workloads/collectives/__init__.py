"""The collectives the workloads use (all-reduce, all-gather, broadcast, ring
send-receive), measured OSU-style: `iterations` back to back per timed call."""
from jaxpar.workloads.collectives.problem import (collectives_inputs,  # noqa: F401
                                                  collectives_reference)


def collectives(x, algorithm="allreduce", iterations=20, impl="c_mpi", comm=None, devices=None):
    """Run the collective `iterations` times on rank r's buffer x + r; every rank gets the
    (P, out_count) array whose row r is what rank (or JAX device) r holds after the last one.

    Every rank passes the same 1-D float64 or float32 x. comm: the MPI communicator
    (default MPI.COMM_WORLD); devices: how many JAX devices (default all).
    """
    from jaxpar import api

    return api.call("collectives", impl, x, algorithm=algorithm, comm=comm, devices=devices,
                    iterations=iterations)
