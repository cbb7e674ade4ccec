"""The one list of workloads x implementations x algorithms.

    python -m jaxpar.registry            # every entry: workload, implementation, algorithms
    python -m jaxpar.registry matmul     # one line per runnable (implementation, algorithm)

Layout rule: implementation IMPL of workload W is the file
jaxpar/workloads/W/IMPL.py (its prepare() is what jaxpar.api calls), with
the C source jaxpar/workloads/W/IMPL.c where the model is C; the problem
definition is jaxpar/workloads/W/problem.py (PROBLEM). Every CLI, sweep,
test, code-size count and plot reads this list. It imports neither MPI nor
JAX (the problem definitions import numpy only), so that the compare process
can read it.

Adding an implementation or a workload: its files, plus one line in ENTRIES
(see docs/architecture.md).
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass

MPI_RUNTIME, JAX_RUNTIME, JAX_MPI_RUNTIME = "mpi", "jax", "jax_mpi"
RUNTIMES = (MPI_RUNTIME, JAX_RUNTIME, JAX_MPI_RUNTIME)
JAX_RUNTIMES = (JAX_RUNTIME, JAX_MPI_RUNTIME)   # JAX computes: float64 and precision scoped

# mpi4jax is an sdist that pip cannot build in isolation; `python -m
# jaxpar.install_mpi4jax` installs it (README, Quick start).
MPI4JAX_REQUIREMENT = "mpi4jax==0.9.1.post2"


@dataclass(frozen=True)
class Entry:
    workload: str
    impl: str
    algorithms: tuple       # () where the workload has none, or the implementation chooses its own
    runtime: str            # "mpi": one process per rank, MPI transport;
                            # "jax": JAX devices, in one process (XLA's in-process
                            #   collectives) or one per rank under mpirun (gloo);
                            # "jax_mpi": JAX computes in one process per rank, one device
                            #   each, and mpi4jax carries the collectives over MPI
    kernel_library: str     # what its local compute calls, which the runner's local-kernel
                            #   probe times (jaxpar/rank/localkernel.py): "cblas" (the C
                            #   library's CBLAS), "numpy" or "xla" (jit)
    launches: tuple = ()    # launch modes; () means every mode its runtime allows
    requires: tuple = ()    # importable modules it needs beyond jaxpar's dependencies

    @property
    def module(self) -> str:
        return f"jaxpar.workloads.{self.workload}.{self.impl}"

    @property
    def launch_modes(self) -> tuple:
        return self.launches or (("mpirun", "single-process") if self.runtime == JAX_RUNTIME
                                 else ("mpirun",))

    def transport(self, launch: str) -> str:
        """What carries its collectives in this launch mode: "mpi" (MPI called from C or
        mpi4py), "mpi4jax" (MPI inside jit), "gloo" (JAX's multi-process CPU collectives;
        the record notes the backend actually configured) or "in-process" (XLA's
        collectives between the devices of one process)."""
        if self.runtime == JAX_RUNTIME:
            return "in-process" if launch == "single-process" else "gloo"
        return "mpi4jax" if self.runtime == JAX_MPI_RUNTIME else "mpi"


CBLAS, NUMPY, XLA = "cblas", "numpy", "xla"   # the kernel libraries localkernel can time
KERNEL_LIBRARIES = (CBLAS, NUMPY, XLA)
SUMMA_ALLGATHER = ("summa", "allgather")
MPI4JAX = ("mpi4jax",)
COLLECTIVES = ("allreduce", "allgather", "bcast", "sendrecv")

ENTRIES = (
    Entry("matmul", "c_mpi", SUMMA_ALLGATHER, MPI_RUNTIME, CBLAS),
    Entry("matmul", "mpi4py", SUMMA_ALLGATHER, MPI_RUNTIME, NUMPY),
    Entry("matmul", "jax", SUMMA_ALLGATHER, JAX_RUNTIME, XLA),
    Entry("matmul", "jax_pmap", SUMMA_ALLGATHER, JAX_RUNTIME, XLA),
    Entry("matmul", "jax_auto", (), JAX_RUNTIME, XLA),
    Entry("matmul", "jax_mpi4jax", ("summa", "summa_allreduce", "allgather"), JAX_MPI_RUNTIME, XLA,
          requires=MPI4JAX),
    Entry("sgd", "c_mpi", (), MPI_RUNTIME, CBLAS),
    Entry("sgd", "mpi4py", (), MPI_RUNTIME, NUMPY),
    Entry("sgd", "jax", (), JAX_RUNTIME, XLA),
    Entry("sgd", "jax_pmap", (), JAX_RUNTIME, XLA),
    Entry("sgd", "jax_auto", (), JAX_RUNTIME, XLA),
    Entry("sgd", "jax_mpi4jax", (), JAX_MPI_RUNTIME, XLA, requires=MPI4JAX),
    Entry("sgd", "keras", (), JAX_RUNTIME, XLA),
    Entry("stencil", "c_mpi", (), MPI_RUNTIME, CBLAS),
    Entry("stencil", "mpi4py", (), MPI_RUNTIME, NUMPY),
    Entry("stencil", "jax", (), JAX_RUNTIME, XLA),
    Entry("stencil", "jax_pmap", (), JAX_RUNTIME, XLA),
    Entry("stencil", "jax_auto", (), JAX_RUNTIME, XLA),
    Entry("stencil", "jax_mpi4jax", (), JAX_MPI_RUNTIME, XLA, requires=MPI4JAX),
    Entry("collectives", "c_mpi", COLLECTIVES, MPI_RUNTIME, CBLAS),
    Entry("collectives", "mpi4py", COLLECTIVES, MPI_RUNTIME, NUMPY),
    Entry("collectives", "jax", COLLECTIVES, JAX_RUNTIME, XLA),
    Entry("collectives", "jax_pmap", COLLECTIVES, JAX_RUNTIME, XLA),
    Entry("collectives", "jax_mpi4jax", COLLECTIVES, JAX_MPI_RUNTIME, XLA, requires=MPI4JAX),
)

# Every workload, and every implementation name, in the order of ENTRIES (tables, colours).
WORKLOADS = tuple(dict.fromkeys(e.workload for e in ENTRIES))
IMPLEMENTATIONS = tuple(dict.fromkeys(e.impl for e in ENTRIES))


def problem(workload: str):
    """The workload's problem definition (jaxpar/workloads/<workload>/problem.py)."""
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; choose one of: {', '.join(WORKLOADS)}")
    return importlib.import_module(f"jaxpar.workloads.{workload}.problem").PROBLEM


def implementations(workload: str) -> tuple:
    return tuple(e.impl for e in ENTRIES if e.workload == workload)


def entry(workload: str, impl) -> Entry:
    for e in ENTRIES:
        if e.workload == workload and e.impl == impl:
            return e
    raise ValueError(f"unknown implementation {impl!r} of {workload}; choose one of: "
                     f"{', '.join(implementations(workload))}")


def resolve_algorithm(e: Entry, algorithm):
    """The algorithm a call runs: the given one, the workload's first by default, or None
    for an implementation that takes none. ValueError for one it does not have."""
    workload_algorithms = problem(e.workload).algorithms
    if not e.algorithms:
        if algorithm not in (None, "auto"):
            reason = ("it chooses its own partitioning" if workload_algorithms
                      else f"{e.workload} has no algorithms")
            raise ValueError(f"{e.impl} takes no algorithm: {reason} (got algorithm={algorithm!r})")
        return None
    if algorithm is None:
        return e.algorithms[0]
    if algorithm not in e.algorithms:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of: {', '.join(e.algorithms)}")
    return algorithm


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    for e in ENTRIES:
        if args and e.workload not in args:
            continue
        if args:  # one runnable variant per line, for shell loops (experiments/mpirun_matmul.sh)
            for algorithm in e.algorithms or [""]:
                print(e.impl, algorithm)
        else:
            print(e.workload, e.impl, ",".join(e.algorithms) or "-", e.runtime)


if __name__ == "__main__":
    main()
