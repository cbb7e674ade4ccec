"""Distributed dense matmul C = A B: SUMMA (2-D grid) and the 1-D all-gather algorithm."""
from jaxpar.workloads.matmul.problem import matmul_inputs, matmul_reference  # noqa: F401

from jaxpar.workloads.matmul.problem import PROBLEM as _PROBLEM

DEFAULT_PANEL = _PROBLEM.options["panel"].default
DEFAULT_LOOKAHEAD = _PROBLEM.options["lookahead"].default


def matmul(a, b, impl="c_mpi", algorithm=None, comm=None, devices=None, panel=DEFAULT_PANEL,
           lookahead=DEFAULT_LOOKAHEAD):
    """C = A @ B with the given implementation and algorithm (default summa); every rank gets C.

    Every rank passes the same global A and B. comm: the MPI communicator of the MPI
    implementations (default MPI.COMM_WORLD); devices: how many JAX devices (default all).
    panel: SUMMA's panel width; lookahead: how many panels ahead the c_mpi and mpi4py
    SUMMA broadcast (0: broadcast, then multiply).
    """
    from jaxpar import api

    return api.call("matmul", impl, a, b, algorithm=algorithm, comm=comm, devices=devices,
                    panel=panel, lookahead=lookahead)
