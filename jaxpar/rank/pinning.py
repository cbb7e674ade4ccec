"""Equal resources for every implementation: one core per rank (or per JAX
device in a single-process run), enforced by CPU affinity and recorded.

XLA's CPU dot ignores its thread flags, so affinity is the only control that
binds every library; the thread variables are set as well, so that pools are
not oversized for the cores they get. Call pin() before numpy, OpenBLAS or
JAX are imported: threads inherit the affinity of the thread that creates them.
"""
from __future__ import annotations

import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
XLA_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false"


def pin(local_rank: int, cores_per_rank: int, single_process_devices: int | None = None) -> dict:
    """Restrict this process to its cores and set the thread variables; return what was set.

    single_process_devices: a one-process JAX run with that many devices gets
    that many cores (one per device) instead of cores_per_rank.
    """
    available = sorted(os.sched_getaffinity(0))
    want = single_process_devices or cores_per_rank
    first = (local_rank * want) % len(available)
    cores = [available[(first + i) % len(available)] for i in range(want)]
    os.sched_setaffinity(0, cores)
    threads = str(len(set(cores)))
    for name in THREAD_VARIABLES:
        os.environ[name] = threads
    if single_process_devices is None and cores_per_rank == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " " + XLA_THREAD_FLAGS).strip()
    return {
        "cores": sorted(set(cores)),
        "available_cores": available,
        "oversubscribed": want * (local_rank + 1) > len(available),
        "threads": int(threads),
        "env": {name: os.environ.get(name) for name in THREAD_VARIABLES + ("XLA_FLAGS",)},
    }


def current() -> dict:
    """The affinity and thread variables as launched (--no-pin), in pin()'s format."""
    cores = sorted(os.sched_getaffinity(0))
    return {"cores": cores, "available_cores": cores, "oversubscribed": None,
            "threads": None, "env": {name: os.environ.get(name) for name in THREAD_VARIABLES + ("XLA_FLAGS",)}}
