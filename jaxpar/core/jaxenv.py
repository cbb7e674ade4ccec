"""JAX runtime plumbing shared by the jax, jax_pmap and jax_auto implementations.

Two launch modes:
  single-process: one process, P CPU (or GPU) devices;
  mpirun:         P processes, one device each, joined by
                  jax.distributed.initialize(cluster_detection_method="mpi4py").
The global numpy arrays are padded with zeros up to a multiple of the mesh
shape (zero rows/columns change no entry of the product) and placed on the
mesh; the result is gathered back and cropped. None of this is timed.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

_distributed = False


def ensure_runtime(comm=MPI.COMM_WORLD):
    """Join the processes of an mpirun launch into one JAX runtime, once."""
    global _distributed
    import jax

    # float64 inputs must stay float64, and float32 products must not drop to
    # TF32/bf16 passes on accelerators: both sides compute in the stated dtype.
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_default_matmul_precision", "highest")
    if comm.size > 1 and not _distributed:
        if comm is not MPI.COMM_WORLD and comm.size != MPI.COMM_WORLD.size:
            raise ValueError("multi-process JAX spans MPI.COMM_WORLD; it cannot run on a sub-communicator")
        jax.distributed.initialize(cluster_detection_method="mpi4py")
        _distributed = True
    return jax


def launch_mode() -> str:
    return "mpirun" if _distributed else "single-process"


def select_devices(devices):
    """`devices`: None (all JAX sees), an int P (the first P), or a list of jax devices."""
    jax = ensure_runtime()
    available = jax.devices()
    if devices is None:
        return available
    if isinstance(devices, int):
        if not 1 <= devices <= len(available):
            raise ValueError(f"devices={devices} but JAX sees {len(available)} device(s) "
                             f"(set jax_num_cpu_devices, or launch with mpirun -n {devices})")
        if _distributed and devices != len(available):
            raise ValueError("under mpirun every process contributes its device; devices= must be "
                             f"{len(available)} or None")
        return available[:devices]
    return list(devices)


def put(x: np.ndarray, mesh, spec, padded_shape):
    """Place the global array x, zero-padded to padded_shape, on mesh with PartitionSpec spec."""
    import jax
    from jax.sharding import NamedSharding

    if tuple(padded_shape) != x.shape:
        x = np.pad(x, [(0, p - s) for s, p in zip(x.shape, padded_shape)])
    return jax.make_array_from_callback(x.shape, NamedSharding(mesh, spec), lambda index: x[index])


def compile_timed(kernel, args, comm):
    """Ahead-of-time compile kernel for args; return (compiled, seconds, maximum over ranks).

    Compiling here keeps JIT time out of every timed repeat and reports it apart.
    """
    import time

    start = time.perf_counter()
    compiled = kernel.lower(*args).compile()
    return compiled, comm.allreduce(time.perf_counter() - start, op=MPI.MAX)


def fetch(array, shape) -> np.ndarray:
    """The global value of a (possibly multi-process) jax.Array, cropped to shape."""
    if array.is_fully_addressable:
        full = np.asarray(array)
    else:
        from jax.experimental import multihost_utils
        full = np.asarray(multihost_utils.process_allgather(array, tiled=True))
    return full[tuple(slice(0, s) for s in shape)]
