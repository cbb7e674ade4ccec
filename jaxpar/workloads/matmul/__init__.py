"""Distributed dense matmul C = A B: SUMMA (2-D grid) and the 1-D all-gather algorithm."""
from jaxpar.workloads.matmul.problem import matmul_inputs, matmul_reference  # noqa: F401

DEFAULT_PANEL = 256


def matmul(a, b, impl="c_mpi", algorithm=None, comm=None, devices=None, panel=DEFAULT_PANEL):
    """C = A @ B with the given implementation and algorithm (default summa); every rank gets C.

    Every rank passes the same global A and B. comm: the MPI communicator of the MPI
    implementations (default MPI.COMM_WORLD); devices: how many JAX devices (default all).
    """
    from jaxpar import api

    return api.call("matmul", impl, a, b, algorithm=algorithm, comm=comm, devices=devices,
                    panel=panel)
