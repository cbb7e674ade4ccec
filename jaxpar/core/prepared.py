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
    """
    run: Callable[[], Any]
    gather: Callable[[Any], Any]
    ranks: int                      # MPI ranks, or JAX devices
    grid: tuple[int, int] | None    # the process grid, where the algorithm has one
    launch: str                     # "mpirun" or "single-process"
    compile_seconds: float | None = None
    details: dict = field(default_factory=dict)
