"""Public Python API of the SGD workload: jaxpar.sgd (and the prepared form the runner times).

Data-parallel SGD of the MLP yhat = tanh(x W1 + b1) W2 + b2 on the loss
1/(2B) sum ||yhat - y||^2 of each step's batch: step t uses the global rows
(t B + i) mod n, i < B. Every rank passes the same global X, Y and initial
parameters. The parameters stay replicated, and every rank (MPI) or device
(JAX) holds the full X and Y but reads only its block_slice of each batch.
`prepare_sgd` places the data (not timed) and returns a PreparedRun whose
`run()` is the timed T-step loop and whose `gather()` returns (params, losses)
as numpy arrays in the input dtype.
"""
from __future__ import annotations

import functools
import math
import numbers

import numpy as np
from mpi4py import MPI

from jaxpar.api import (IMPLEMENTATIONS, JAX_IMPLEMENTATIONS, PreparedRun, _describe,
                        check_choice, check_float_matrix, check_same_on_all_ranks)
from jaxpar.harness.blocks import block_sizes

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def _describe_params(params):
    if not isinstance(params, dict):
        return _describe(params)
    return sorted((str(name), _describe(value)) for name, value in params.items())


def _finite(x):
    """Whether x is all finite (None if it is not a float array): compared across ranks."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return bool(np.isfinite(x).all())
    return None


def _is_int(x):
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def validate_sgd(X, Y, params, impl, steps, lr, batch):
    check_choice("implementation", impl, IMPLEMENTATIONS)
    check_float_matrix("X", X, " (samples x features)")
    check_float_matrix("Y", Y, " (samples x features)")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y must have the same number of rows (samples): "
                         f"X has {X.shape[0]}, Y has {Y.shape[0]}")
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict with keys {', '.join(PARAM_NAMES)}, "
                         f"got {type(params).__name__}")
    missing = [name for name in PARAM_NAMES if name not in params]
    extra = sorted(str(name) for name in params if name not in PARAM_NAMES)
    if missing or extra:
        raise ValueError(f"params must have exactly the keys {', '.join(PARAM_NAMES)}; "
                         f"missing: {missing or 'none'}, unexpected: {extra or 'none'}")
    for name in PARAM_NAMES:
        if not isinstance(params[name], np.ndarray):
            raise ValueError(f"params[{name!r}] must be a numpy array, got {type(params[name]).__name__}")
    if params["W1"].ndim != 2:
        raise ValueError(f"params['W1'] must be 2-D (d_in x hidden), got shape {params['W1'].shape}")
    (d_in, d_out), h = (X.shape[1], Y.shape[1]), params["W1"].shape[1]
    if h == 0:
        raise ValueError("params['W1'] has no columns: the hidden layer is empty")
    expected = {"W1": (d_in, h), "b1": (h,), "W2": (h, d_out), "b2": (d_out,)}
    for name, shape in expected.items():
        if params[name].shape != shape:
            raise ValueError(
                f"params[{name!r}] has shape {params[name].shape}, expected {shape} for X with "
                f"{d_in} columns, Y with {d_out} columns and {h} hidden units (the columns of W1)")
    arrays = {"X": X, "Y": Y, **{f"params[{name!r}]": params[name] for name in PARAM_NAMES}}
    if len({a.dtype for a in arrays.values()}) > 1:
        raise ValueError("mixed dtypes (" + ", ".join(f"{k} {a.dtype}" for k, a in arrays.items())
                         + "); convert all to float64 or all to float32")
    for name, value in (("steps", steps), ("batch", batch)):
        if not _is_int(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(lr, numbers.Real) or isinstance(lr, bool) or not math.isfinite(lr):
        raise ValueError(f"lr must be a finite number, got {lr!r}")
    for name, a in arrays.items():
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains non-finite values (NaN or inf)")


def prepare_sgd(X, Y, params, impl="jax", *, steps, lr, batch, comm=None,
                devices=None) -> PreparedRun:
    comm = MPI.COMM_WORLD if comm is None else comm
    arrays = (X, Y) + (tuple(params.get(n) for n in PARAM_NAMES) if isinstance(params, dict) else ())
    check_same_on_all_ranks(comm, "the sgd arguments", (
        _describe(X), _describe(Y), _describe_params(params), [_finite(a) for a in arrays],
        impl, repr(steps), repr(lr), repr(batch), devices))
    validate_sgd(X, Y, params, impl, steps, lr, batch)
    X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)
    params = {name: np.ascontiguousarray(params[name]) for name in PARAM_NAMES}
    steps, lr, batch = int(steps), float(lr), int(batch)
    if impl in JAX_IMPLEMENTATIONS:
        return _prepare_jax(X, Y, params, impl, steps, lr, batch, comm, devices)
    if devices is not None:
        raise ValueError("devices= applies to the JAX implementations; MPI ones use every rank of comm")
    return _prepare_mpi(X, Y, params, impl, steps, lr, batch, comm)


def sgd(X, Y, params, impl="jax", *, steps, lr, batch, comm=None, devices=None):
    """`steps` SGD steps of batch `batch` from params; every rank gets (params, losses)."""
    prepared = prepare_sgd(X, Y, params, impl, steps=steps, lr=lr, batch=batch, comm=comm,
                           devices=devices)
    return prepared.gather(prepared.run())


def _prepare_mpi(X, Y, params, impl, steps, lr, batch, comm):
    from jaxpar import c_mpi
    from jaxpar.impl.sgd import numpy_mpi4py

    if impl == "c_mpi":
        c_mpi.load()
        run = lambda: c_mpi.sgd(comm, X, Y, params, steps, batch, lr)
    else:
        run = lambda: numpy_mpi4py.sgd(comm, X, Y, params, steps, batch, lr)
    # Both return the replicated parameters and the summed losses on every rank.
    return PreparedRun(run=run, gather=lambda output: output, ranks=comm.size, grid=None,
                       launch="mpirun", details={"batch_rows": block_sizes(batch, comm.size)})


@functools.cache
def _kernel(factory, *config):
    """One jitted function per configuration: repeated calls reuse its compilation."""
    return factory(*config)


def _prepare_jax(X, Y, params, impl, steps, lr, batch, comm, devices):
    from jaxpar.harness import jaxenv

    jax = jaxenv.ensure_runtime(comm)
    from jax.sharding import Mesh
    from jax.sharding import PartitionSpec as P

    from jaxpar.impl.sgd import jax_auto, jax_pmap, jax_shard_map

    devices = jaxenv.select_devices(devices)
    ndev = len(devices)
    mesh = Mesh(np.array(devices), ("p" if impl == "jax_pmap" else "x",))
    replicate = lambda a: jaxenv.put(a, mesh, P(), a.shape)
    args = ({name: replicate(p) for name, p in params.items()}, replicate(X), replicate(Y))
    details = {"devices": ndev, "platform": devices[0].platform,
               "batch_rows": block_sizes(batch, ndev)}
    if impl == "jax_pmap":
        kernel = _kernel(jax_pmap.sgd, tuple(devices), batch, steps, lr)
        args = (jaxenv.put(np.arange(ndev), mesh, P("p"), (ndev,)),) + args
        # Every device returns the same values (stacked): read this process's copy.
        local = lambda a: np.array(a.addressable_shards[0].data)[0]
    else:
        factory = jax_shard_map.sgd if impl == "jax" else jax_auto.sgd
        kernel = _kernel(factory, mesh, batch, steps, lr)
        # The outputs are replicated: every process holds the global value.
        local = lambda a: np.array(a.addressable_data(0))
    if impl != "jax_auto":
        details["rows_per_device"] = -(-batch // ndev)  # fixed slice width, padding masked

    compiled, compile_seconds = jaxenv.compile_timed(kernel, args, comm)

    def gather(output):
        new_params, losses = output
        return {name: local(new_params[name]) for name in PARAM_NAMES}, local(losses)

    return PreparedRun(
        run=lambda: jax.block_until_ready(compiled(*args)),
        gather=gather, ranks=ndev, grid=None, launch=jaxenv.launch_mode(),
        compile_seconds=compile_seconds, details=details)
