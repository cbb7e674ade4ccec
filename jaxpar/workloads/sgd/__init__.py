"""Data-parallel SGD of a one-hidden-layer MLP: one all-reduce of the gradients per step."""
from jaxpar.workloads.sgd.problem import PARAM_NAMES, sgd_problem, sgd_reference  # noqa: F401


def sgd(x, y, params, impl="jax", *, steps, batch, lr, comm=None, devices=None):
    """`steps` SGD steps of global batch `batch` from params; every rank gets (params, losses).

    Every rank passes the same global x, y and params (a dict of W1, b1, W2, b2).
    """
    from jaxpar import api

    return api.call("sgd", impl, x, y, params, steps=steps, batch=batch, lr=lr, comm=comm,
                    devices=devices)
