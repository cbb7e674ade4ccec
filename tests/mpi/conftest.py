"""Runs inside every rank of `mpirun -n P python -m pytest --with-mpi tests/mpi`.

With one rank, JAX gets 4 CPU devices so that the single-process multi-device
mode is tested with 1 to 4 devices; with P ranks, each process contributes
one device to a multi-process JAX runtime.
"""
import jax
from mpi4py import MPI

if MPI.COMM_WORLD.size == 1:
    jax.config.update("jax_num_cpu_devices", 4)

JAX_DEVICE_COUNTS = [1, 2, 3, 4] if MPI.COMM_WORLD.size == 1 else [None]
