"""The Parallel Research Kernels' star stencil on a 2-D process grid, with halo exchange."""
from jaxpar.workloads.stencil.problem import prk_input, stencil_reference  # noqa: F401

from jaxpar.workloads.stencil.problem import DEFAULT_RADIUS


def stencil(x, radius=DEFAULT_RADIUS, iterations=1, impl="c_mpi", comm=None, devices=None):
    """PRK's OUT after `iterations` star-stencil iterations of radius `radius` from IN = x.

    Every rank passes the same global n x n grid x (float64 or float32; PRK's input is
    jaxpar.stencil_input(n)) and gets the global OUT back: each iteration adds the stencil
    of IN to OUT at every point at least `radius` from the edge, then adds 1 to all of IN.
    comm: the MPI communicator of the MPI implementations (default MPI.COMM_WORLD);
    devices: how many JAX devices (default all).
    """
    from jaxpar import api

    return api.call("stencil", impl, x, radius=radius, iterations=iterations, comm=comm,
                    devices=devices)
