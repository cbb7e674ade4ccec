"""jaxpar: paired C/MPI, mpi4py and stateless JAX implementations of parallel
workloads, and the harness that compares them.

    jaxpar.matmul(a, b, impl="c_mpi", algorithm="summa")
    jaxpar.sgd(x, y, params, impl="jax", steps=100, batch=256, lr=0.1)
    jaxpar.collectives(x, algorithm="allreduce", iterations=20, impl="mpi4py")

The API is imported lazily so that `python -m jaxpar.run` can pin CPU
affinity and thread counts before numpy, OpenBLAS or XLA start any thread.
"""
__version__ = "0.1.0"
__all__ = ["IMPLEMENTATIONS", "WORKLOADS", "collectives", "collectives_inputs", "matmul",
           "matmul_inputs", "sgd", "sgd_problem", "__version__"]


def __getattr__(name):
    if name in ("IMPLEMENTATIONS", "WORKLOADS"):
        from jaxpar import registry
        return getattr(registry, name)
    if name in ("matmul", "matmul_inputs"):
        from jaxpar.workloads import matmul
        return getattr(matmul, name)
    if name in ("sgd", "sgd_problem"):
        from jaxpar.workloads import sgd
        return getattr(sgd, name)
    if name in ("collectives", "collectives_inputs"):
        from jaxpar.workloads import collectives
        return getattr(collectives, name)
    raise AttributeError(f"module 'jaxpar' has no attribute {name!r}")
