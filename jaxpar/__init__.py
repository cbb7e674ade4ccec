"""jaxpar: paired C/MPI, mpi4py and stateless JAX implementations of parallel
workloads, and the harness that compares them."""
from jaxpar.api import IMPLEMENTATIONS, matmul

__version__ = "0.1.0"
__all__ = ["IMPLEMENTATIONS", "matmul", "__version__"]
