"""Timing protocol: warm-up excluded, a barrier before every repeat, and each
repeat's time is the maximum over ranks."""
from __future__ import annotations

import time

import numpy as np
from mpi4py import MPI


def time_repeats(run, comm, repeats: int, warmup: int = 1):
    """Call run() warmup + repeats times; return (times of the timed repeats, last output).

    run() must not return before its work is finished (JAX callers block on the result).
    """
    times, output = [], None
    for i in range(warmup + repeats):
        # the previous output is dropped before the next run: a JAX run allocates a new
        # one, which would otherwise sit beside the old (C writes into one buffer)
        output = None
        comm.Barrier()
        start = time.perf_counter()
        output = run()
        elapsed = comm.allreduce(time.perf_counter() - start, op=MPI.MAX)
        if i >= warmup:
            times.append(elapsed)
    return times, output


def summarize(times) -> dict:
    t = np.asarray(times, dtype=np.float64)
    q1, median, q3 = np.percentile(t, [25, 50, 75])
    return {"median": float(median), "min": float(t.min()), "max": float(t.max()),
            "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1)}
