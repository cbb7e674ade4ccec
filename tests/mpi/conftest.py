"""Runs inside every rank of `mpirun -n P python -m pytest --with-mpi tests/mpi`.

With one rank, JAX gets 4 CPU devices so that the single-process multi-device
mode is tested with 1 to 4 devices; with P ranks, each process contributes
one device to a multi-process JAX runtime.

With P > 1 ranks that runtime is joined here, at import, before any test runs: a
jax_mpi4jax test (one JAX device per process, no jax.distributed) that ran first
would start JAX's backend without it, and every later multi-process JAX test
would then fail to initialize it. Joining first makes the order of the tests
irrelevant; the jax_mpi4jax implementations use their process's local device.
"""
import jax
from mpi4py import MPI

from jaxpar.core import jaxenv

if MPI.COMM_WORLD.size == 1:
    jax.config.update("jax_num_cpu_devices", 4)
else:
    jaxenv.ensure_runtime()

JAX_DEVICE_COUNTS = [1, 2, 3, 4] if MPI.COMM_WORLD.size == 1 else [None]
