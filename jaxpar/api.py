"""The Python API behind jaxpar.matmul, jaxpar.sgd and every other workload.

Every rank passes the same global inputs and gets the global result. prepare()
checks that the ranks agree, validates the inputs (the workload's problem
definition), and calls the implementation's own prepare(), which distributes
the inputs (not timed) and returns a PreparedRun: run() is the timed kernel,
gather() returns the global result (not timed). The runner times run().
"""
from __future__ import annotations

import importlib
import importlib.util
import zlib

import numpy as np
from mpi4py import MPI

from jaxpar import registry


def check_same_on_all_ranks(comm, what: str, value):
    """Raise the same ValueError on every rank if ranks disagree on value.

    Runs before any other validation, so that a rank that would fail alone
    cannot leave the others waiting in a collective.
    """
    values = comm.allgather(value)
    if any(v != values[0] for v in values):
        raise ValueError(f"ranks disagree on {what}: " + "; ".join(
            f"rank {r}: {v}" for r, v in enumerate(values)))


def checksums(inputs) -> list:
    """A CRC-32 of the bytes of every numpy array among the inputs (dicts walked in key
    order): cheap, untimed, and enough to tell ranks that passed different data apart."""
    out = []
    for x in inputs:
        if isinstance(x, dict):
            out += checksums([x[k] for k in sorted(x, key=str)])
        elif isinstance(x, np.ndarray):
            out.append(zlib.crc32(np.ascontiguousarray(x).view(np.uint8).reshape(-1)))
    return out


def prepare(workload: str, impl: str, *inputs, algorithm=None, comm=None, devices=None,
            **arguments):
    """Validate and distribute; return the implementation's PreparedRun.

    inputs and arguments are the workload's public function's: (a, b) and panel
    for matmul, (x, y, params) and steps, batch, lr for sgd.
    """
    problem = registry.problem(workload)
    comm = MPI.COMM_WORLD if comm is None else comm
    check_same_on_all_ranks(comm, f"the {workload} arguments", (
        problem.describe(*inputs, **arguments), impl, algorithm, devices))
    values = checksums(inputs)
    if comm.size > 1 and any(v != values for v in comm.allgather(values)):
        raise ValueError(f"ranks passed different values for the {workload} inputs (CRC-32 of "
                         "each array differs): every rank must pass the same global arrays, e.g. "
                         "generated from the same seed")
    entry = registry.entry(workload, impl)
    algorithm = registry.resolve_algorithm(entry, algorithm)
    inputs, arguments = problem.validate(*inputs, **arguments)
    if problem.algorithms:
        arguments["algorithm"] = algorithm
    module = import_implementation(entry)
    if entry.runtime != registry.JAX_RUNTIME:
        if devices is not None:
            raise ValueError(f"devices= applies to the JAX implementations that run in one process; {impl} "
                             "uses one device in every rank of comm")
        problem.check_ranks(inputs, arguments, comm.size)
        if entry.runtime == registry.MPI_RUNTIME:
            return module.prepare(*inputs, comm=comm, **arguments)
    from jaxpar.core import jaxenv

    if entry.runtime == registry.JAX_RUNTIME:
        problem.check_ranks(inputs, arguments, len(jaxenv.select_devices(devices, comm)))

    with jaxenv.precision():
        if entry.runtime == registry.JAX_MPI_RUNTIME:
            prepared = module.prepare(*inputs, comm=comm, **arguments)
        else:
            prepared = module.prepare(*inputs, comm=comm, devices=devices, **arguments)
    return jaxenv.scoped(prepared)


def import_implementation(entry):
    """The implementation's module; ValueError (the same on every rank) naming the fix when
    a module it requires beyond jaxpar's dependencies is missing."""
    for name in entry.requires:
        if importlib.util.find_spec(name) is None:
            raise ValueError(f"{entry.impl} needs {name}, which is not installed in this Python; "
                             f"install it with `python -m jaxpar.install_mpi4jax` (README, Quick start)")
    return importlib.import_module(entry.module)


def call(workload: str, impl: str, *inputs, **keywords):
    """Run once and return the global result on every rank."""
    prepared = prepare(workload, impl, *inputs, **keywords)
    return prepared.gather(prepared.run())
