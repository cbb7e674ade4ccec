"""The local-kernel probe: how long one rank's local work takes with the implementation's
own kernel library, measured by the runner in the same run as the configuration (after
its timed repeats, on every rank at once, so that the cores share caches, memory
bandwidth and clocks as they did in the run).

    seconds = measure("cblas", [("gemm", 512, 256, 1024, 4)], "float64", comm)

A work list is what Problem.local_work() returns: ("gemm", m, k, n, count), count
products of an m x k by a k x n matrix, and ("tanh", elements, count). The libraries
(registry.Entry.kernel_library):

  cblas  the C library's CBLAS gemm (jaxpar_gemm_f64/_f32 of libjaxpar_mpi.so, the call
         the c_mpi kernels make) and the SGD kernel's tanh (jaxpar_tanh_f64/_f32)
  numpy  np.matmul(a, b, out=c) and np.tanh(x, out=y)
  xla    one jitted program per item that runs it `count` times in a lax.fori_loop; the
         loop carry passes through lax.optimization_barrier, so that XLA can neither
         hoist the loop-invariant product out of the loop nor drop all but the last.
         With several devices in one process (launch "single-process") it runs on all of
         them at once in a jax.shard_map over a 1-D mesh (no collectives); in a process
         per rank, on that process's device.

Cost: each item is timed over enough executions to take about TARGET_SECONDS /
len(work) (one calibration run first; then the time is scaled to the item's count), so
one repeat takes about TARGET_SECONDS, or one execution of each item where that is
longer. A probe is a warm-up, a calibration and `repeats` (3) repeats: about 0.1 s at
the default sizes, plus for xla one compilation per distinct item (tens of ms each).
"""
from __future__ import annotations

import math
import statistics
import time

import numpy as np
from mpi4py import MPI

from jaxpar.registry import KERNEL_LIBRARIES as LIBRARIES  # "cblas", "numpy", "xla"

TARGET_SECONDS = 0.02   # the kernels of one repeat take about this long (or one execution each)

C_DECLARATIONS = """
    int jaxpar_gemm_f64(int64_t m, int64_t k, int64_t n, const double *a, const double *b,
                        double *c);
    int jaxpar_gemm_f32(int64_t m, int64_t k, int64_t n, const float *a, const float *b,
                        float *c);
    void jaxpar_tanh_f64(const double *x, double *out, int64_t count);
    void jaxpar_tanh_f32(const float *x, float *out, int64_t count);
"""


def measure(library: str, work, dtype: str, comm, devices=None, repeats: int = 3) -> float:
    """Seconds the work list takes, call on every rank of comm at once: a barrier before
    each repeat, the median over repeats, the maximum over ranks (every rank gets it).
    devices: the JAX devices of a single-process run (xla only; None: this process's)."""
    if library not in LIBRARIES:
        raise ValueError(f"unknown kernel library {library!r}; choose one of: {', '.join(LIBRARIES)}")
    items = [item for item in work if item[-1] > 0 and all(size > 0 for size in item[1:-1])]
    builder = {"cblas": _cblas, "numpy": _numpy, "xla": _xla}[library]
    kernels = [builder(item, np.dtype(dtype), devices) for item in items]
    for kernel in kernels:  # warm-up: first-touch page faults, XLA's first execution
        kernel(1)
    target = TARGET_SECONDS / max(len(kernels), 1)
    executions = [max(1, math.ceil(target / max(kernel(1), 1e-9))) for kernel in kernels]
    # every rank runs the same number, so that they compute side by side until the end
    executions = [comm.allreduce(e, op=MPI.MAX) for e in executions]
    totals = []
    for _ in range(repeats):
        comm.Barrier()
        totals.append(sum(kernel(e) * item[-1] / e for kernel, e, item in zip(kernels, executions, items)))
    return comm.allreduce(statistics.median(totals), op=MPI.MAX)


def describe(library: str) -> str:
    """The library and its build, for the record's local_kernel."""
    if library == "cblas":
        from jaxpar.core import clib
        return f"cblas: {clib.blas_info()}"
    if library == "numpy":
        blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        return f"numpy: {blas.get('name', '?')} {blas.get('version', '')}".strip()
    if library == "xla":
        import jax
        import jaxlib
        return f"xla: jaxlib {jaxlib.__version__} on {jax.devices()[0].platform}"
    raise ValueError(f"unknown kernel library {library!r}")


# ---------------------------------------------------------------- one item per library
# Each builder returns run(executions) -> seconds: the item's operation that many times.

def _operands(item, dtype):
    """Seeded standard normal inputs and the output buffer of one work item."""
    rng = np.random.default_rng(0)
    if item[0] == "gemm":
        _, m, k, n, _ = item
        return (rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype),
                np.empty((m, n), dtype))
    if item[0] == "tanh":
        return rng.standard_normal(item[1]).astype(dtype), np.empty(item[1], dtype)
    raise ValueError(f"unknown local work {item[0]!r}: expected gemm or tanh")


def _timed(operation):
    def run(executions):
        start = time.perf_counter()
        for _ in range(executions):
            operation()
        return time.perf_counter() - start
    return run


def _numpy(item, dtype, devices):
    operands = _operands(item, dtype)
    if item[0] == "gemm":
        a, b, c = operands
        return _timed(lambda: np.matmul(a, b, out=c))
    x, y = operands
    return _timed(lambda: np.tanh(x, out=y))


def _cblas(item, dtype, devices):
    from jaxpar.core import clib

    ffi, lib = clib.open_library(C_DECLARATIONS)
    suffix = {np.dtype(np.float64): "f64", np.dtype(np.float32): "f32"}[dtype]
    pointers = [clib.pointer(ffi, array) for array in _operands(item, dtype)]
    if item[0] == "tanh":
        tanh = getattr(lib, f"jaxpar_tanh_{suffix}")
        return _timed(lambda: tanh(*pointers, item[1]))
    name = f"jaxpar_gemm_{suffix}"
    gemm, (m, k, n) = getattr(lib, name), item[1:4]
    clib.check(gemm(m, k, n, *pointers), name)  # dimensions CBLAS cannot take fail here
    return _timed(lambda: gemm(m, k, n, *pointers))


def _xla(item, dtype, devices):
    import jax
    import jax.numpy as jnp
    from jax import lax

    from jaxpar.core import jaxenv

    inputs = _operands(item, dtype)[:-1]  # XLA allocates its own output
    operation = (lambda a, b: a @ b) if item[0] == "gemm" else jnp.tanh

    def repeated(operands, executions, varying=lambda x: x):
        def body(_, carry):
            operands, _ = lax.optimization_barrier(carry)
            return operands, operation(*operands)

        out = varying(jnp.zeros(jax.eval_shape(operation, *operands).shape, operands[0].dtype))
        return lax.fori_loop(0, executions, body, (operands, out))[1]

    with jaxenv.precision():  # float64 stays float64
        if devices is not None:  # one process, several devices: all of them at once
            from jax.sharding import Mesh, NamedSharding
            from jax.sharding import PartitionSpec as P

            mesh = Mesh(np.array(devices), ("x",))
            sharded = NamedSharding(mesh, P("x"))
            # each device holds its own copy of the operands as its slice of a stacked array
            operands = tuple(jax.device_put(np.stack([x] * len(devices)), sharded) for x in inputs)
            kernel = jax.jit(jax.shard_map(
                lambda operands, executions: repeated(
                    tuple(x[0] for x in operands), executions,
                    lambda z: lax.pcast(z, "x", to="varying"))[None],
                mesh=mesh, in_specs=(P("x"), P()), out_specs=P("x")))
        else:
            device = jax.local_devices()[0]
            operands = tuple(jax.device_put(x, device) for x in inputs)
            kernel = jax.jit(repeated)

    def run(executions):
        with jaxenv.precision():
            start = time.perf_counter()
            jax.block_until_ready(kernel(operands, executions))
            return time.perf_counter() - start

    return run
