"""The collectives problem: an OSU / nccl-tests style measurement of the collectives
the workloads use, each run `iterations` times back to back.

Every rank passes the same x (count elements, `bytes` bytes); rank r's buffer is
x + r, so the ranks differ and every value is a small integer, exact in float32
and float64. The result, on every rank, is a (P, out_count) array whose row r
is what rank (or device) r holds after the last collective:

  allreduce: sum over r of (x + r) = P x + P(P - 1)/2 on every row
  allgather: the concatenation of x + 0, ..., x + P - 1 on every row (bytes is
             each rank's contribution, as OSU counts it)
  bcast:     x on every row (from root 0; the other ranks start with x + r)
  sendrecv:  the ring shift of lax.ppermute: rank r sends to (r + 1) mod P and
             receives from (r - 1) mod P, so row r is x + (r - 1) mod P

The record reports nccl-tests' algorithm and bus bandwidths; there are no FLOPs.
"""
from __future__ import annotations

import numpy as np

from jaxpar.core.problem import (DTYPES, Option, Problem, check_float_array, check_positive_int,
                                 describe_array)

INT_MAX = 2 ** 31 - 1
# nccl-tests' bus factors: busbw = algbw x factor is the bandwidth each link
# carries in the optimal algorithm, comparable across collectives and P.
BUS_FACTORS = {"allreduce": lambda p: 2 * (p - 1) / p, "allgather": lambda p: (p - 1) / p,
               "bcast": lambda p: 1.0, "sendrecv": lambda p: 1.0}


def collectives_inputs(nbytes: int, dtype: str = "float64", seed: int = 0):
    """x: bytes / itemsize seeded integers in [0, 8), as dtype."""
    itemsize = np.dtype(DTYPES[dtype]).itemsize
    if nbytes < 1:
        raise ValueError(f"--bytes must be positive, got {nbytes}")
    if nbytes % itemsize:
        raise ValueError(f"--bytes {nbytes} is not a multiple of {itemsize}, the size of one "
                         f"{dtype}")
    rng = np.random.default_rng(seed)
    return rng.integers(0, 8, nbytes // itemsize).astype(DTYPES[dtype])


def collectives_reference(x, algorithm: str, ranks: int):
    """The (ranks, out_count) result in float64: row r is what rank r holds."""
    x, r = np.asarray(x, dtype=np.float64), np.arange(ranks)[:, None]
    if algorithm == "sendrecv":
        return x + (r - 1) % ranks
    row = {"allreduce": ranks * x + ranks * (ranks - 1) / 2,
           "allgather": (x + r).reshape(-1), "bcast": x}[algorithm]
    return np.tile(row, (ranks, 1))


def check_mpi_counts(count: int, algorithm: str, ranks: int):
    """ValueError (the same on every rank) where a count of the C and mpi4py forms would
    not fit an int, the count type of classic MPI: the message, and the all-gathered buffer,
    whose P x count some MPI libraries form as an int inside their algorithms."""
    total = ranks * count if algorithm == "allgather" else count
    if total > INT_MAX:
        what = f"{ranks} ranks x {count} elements" if algorithm == "allgather" else f"{count} elements"
        raise ValueError(f"{algorithm} of {what} exceeds the int count of MPI ({INT_MAX})")


class Collectives(Problem):
    name = "collectives"
    sizes = {"bytes": "message size in bytes: each rank's buffer"}
    weak_size = "bytes"
    ladder = "bytes"
    algorithms = ("allreduce", "allgather", "bcast", "sendrecv")
    options = {"iterations": Option(20, int, "collectives per timed call; the time reported is "
                                              "per collective")}
    time_field, time_unit, flops_field = "time_s", "collective", "flops"
    error_fields = ("max_abs_error",)
    tolerance = {"float64": 0.0, "float32": 0.0}  # small integers: exact in both dtypes
    report_section = "jaxpar.workloads.collectives.report:section"  # latency tables, fits, plots

    def size_label(self, sizes):
        nbytes = sizes["bytes"]
        for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
            if nbytes >= scale:
                return f"{nbytes / scale:g} {unit}"
        return f"{nbytes} B"

    def time_divisor(self, sizes, options):
        return options["iterations"]

    def bus_factor(self, algorithm, ranks):
        return BUS_FACTORS[algorithm](ranks)

    def inputs(self, sizes, dtype, seed):
        return (collectives_inputs(sizes["bytes"], dtype, seed),)

    def arguments(self, sizes, options):
        return {"iterations": options["iterations"]}

    def describe(self, x, *, iterations):
        return describe_array(x), repr(iterations)

    def validate(self, x, *, iterations):
        check_float_array("x", x, 1, " (each rank's buffer)")
        check_positive_int("iterations", iterations)
        return (np.ascontiguousarray(x),), {"iterations": int(iterations)}

    def check(self, inputs, arguments, result, dtype):
        (x,), tolerance = inputs, self.tolerance[dtype]
        ranks = result.shape[0] if isinstance(result, np.ndarray) and result.ndim == 2 else 1
        reference = collectives_reference(x, arguments["algorithm"], ranks)
        if not isinstance(result, np.ndarray) or result.shape != reference.shape:
            error = float("inf")
        else:
            error = float(np.max(np.abs(result.astype(np.float64) - reference)))
        return {"max_abs_error": error, "tolerance": tolerance,
                "verified": bool(np.isfinite(error) and error <= tolerance)}

    def record(self, sizes, options, dtype, summary, result, algorithm, details):
        ranks = result.shape[0]
        total = ranks * sizes["bytes"] if algorithm == "allgather" else sizes["bytes"]
        algbw = total / summary["median"] / 1e9
        factor = self.bus_factor(algorithm, ranks)
        noop = details.get("noop_call_s")  # JAX: one call of the program running no collective
        # per collective without JAX's dispatch, paid once per call (once per run in a workload)
        net = None if noop is None else max(summary["median"] - noop / options["iterations"], 0.0)
        return {"bytes": sizes["bytes"], "iterations": options["iterations"], "total_bytes": total,
                "algbw_GBps": algbw, "busbw_GBps": algbw * factor, "bus_factor": factor,
                "flops": None, "gflops": None, "noop_call_s": noop, "net_median_s": net}


PROBLEM = Collectives()
