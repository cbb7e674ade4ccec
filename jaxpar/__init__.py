"""jaxpar: paired C/MPI, mpi4py and stateless JAX implementations of parallel
workloads, and the harness that compares them.

    jaxpar.matmul(a, b, impl="c_mpi", algorithm="summa")
    jaxpar.sgd(x, y, params, impl="jax", steps=100, batch=256, lr=0.1)
    jaxpar.collectives(x, algorithm="allreduce", iterations=20, impl="mpi4py")
    jaxpar.stencil(jaxpar.stencil_input(1000), radius=2, iterations=10, impl="jax")

The API is imported lazily so that `python -m jaxpar.run` can pin CPU
affinity and thread counts before numpy, OpenBLAS or XLA start any thread.
"""
__version__ = "0.1.0"
__all__ = ["IMPLEMENTATIONS", "WORKLOADS", "collectives", "collectives_inputs", "matmul",
           "matmul_inputs", "sgd", "sgd_problem", "stencil", "stencil_input", "__version__"]


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
    if name in ("stencil", "stencil_input"):
        from jaxpar.workloads import stencil
        return stencil.stencil if name == "stencil" else stencil.prk_input
    raise AttributeError(f"module 'jaxpar' has no attribute {name!r}")
