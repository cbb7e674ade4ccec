"""jaxpar: paired C/MPI, mpi4py and stateless JAX implementations of parallel
workloads, and the harness that compares them.

The API is imported lazily so that `python -m jaxpar.run` can pin CPU
affinity and thread counts before numpy, OpenBLAS or XLA start any thread.
"""
__version__ = "0.1.0"
__all__ = ["IMPLEMENTATIONS", "matmul", "sgd", "__version__"]


def __getattr__(name):
    if name in ("IMPLEMENTATIONS", "matmul"):
        from jaxpar import api
        return getattr(api, name)
    if name == "sgd":
        from jaxpar.sgd_api import sgd
        return sgd
    raise AttributeError(f"module 'jaxpar' has no attribute {name!r}")
