"""What every implementation's prepare() returns: the timed kernel and the untimed gather."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class PreparedRun:
    """A configuration whose inputs are already distributed (not timed).

    run():     the timed kernel on the distributed inputs; it returns only when
               the work is finished (JAX callers block on the result).
    gather(o): the global result from run()'s output, on every rank (not timed).
    op_by_op(): for a JAX kernel (set by jaxenv.scoped, never by an implementation), the
               same kernel on the same arguments run un-jitted: under jax.disable_jit()
               lax.scan and fori_loop run as Python loops and every primitive dispatches
               on its own (eager mode compiles each primitive on first use, and JAX
               0.10's eager shard_map, which pmap is too, on every call). It blocks on
               the result, which gather() takes as it takes run()'s. None elsewhere
               (Keras compiles inside fit; C and mpi4py have no jit).
    """
    run: Callable[[], Any]
    gather: Callable[[Any], Any]
    ranks: int                      # MPI ranks, or JAX devices
    grid: tuple[int, int] | None    # the process grid, where the algorithm has one
    launch: str                     # "mpirun" or "single-process"
    compile_seconds: float | None = None
    details: dict = field(default_factory=dict)
    op_by_op: Callable[[], Any] | None = None
