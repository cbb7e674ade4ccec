"""Alpha-beta models of the collectives, for the ideal time of a run.

alpha: per-message latency (s); beta: time per byte (s/B), both from an MPI
ping-pong measured at the start of a sweep. The workloads combine them with
their FLOP counts (see each workload's problem.py, ideal_seconds).
"""
from __future__ import annotations

import math


def bcast_seconds(nbytes: float, ranks: int, alpha: float, beta: float) -> float:
    """Binomial-tree broadcast: ceil(log2 p) rounds of one message each."""
    return math.ceil(math.log2(ranks)) * (alpha + nbytes * beta) if ranks > 1 else 0.0


def allgather_seconds(total_bytes: float, ranks: int, alpha: float, beta: float) -> float:
    """Ring all-gather: p - 1 steps, each rank receiving (p - 1)/p of the data."""
    return (ranks - 1) * alpha + (ranks - 1) / ranks * total_bytes * beta if ranks > 1 else 0.0


def allreduce_seconds(nbytes: float, ranks: int, alpha: float, beta: float) -> float:
    """Ring all-reduce (reduce-scatter + all-gather): 2(p - 1) steps, 2(p - 1)/p of the data."""
    return 2 * (ranks - 1) * alpha + 2 * (ranks - 1) / ranks * nbytes * beta if ranks > 1 else 0.0
