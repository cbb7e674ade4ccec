"""Alpha-beta models of the collectives, for the ideal time of a run.

A collective of an implementation costs alpha + beta x bytes. Where the sweep
measured the collectives workload over the same transport at the same group
size, alpha and beta are that measurement's fit (jaxpar.harness.alphabeta):
the cost of the collective the implementation actually issues, on the wire it
actually uses. Otherwise the textbook algorithms below price it from the MPI
ping-pong's alpha (per-message latency, s) and beta (s/B).

Message sizes are each rank's buffer, as the collectives workload and OSU count
them: the all-reduced buffer, the broadcast buffer, each rank's contribution
to an all-gather.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


def bcast_seconds(nbytes: float, ranks: int, alpha: float, beta: float) -> float:
    """Binomial-tree broadcast: ceil(log2 p) rounds of one message each."""
    return math.ceil(math.log2(ranks)) * (alpha + nbytes * beta) if ranks > 1 else 0.0


def allgather_seconds(total_bytes: float, ranks: int, alpha: float, beta: float) -> float:
    """Ring all-gather: p - 1 steps, each rank receiving (p - 1)/p of the data."""
    return (ranks - 1) * alpha + (ranks - 1) / ranks * total_bytes * beta if ranks > 1 else 0.0


def allreduce_seconds(nbytes: float, ranks: int, alpha: float, beta: float) -> float:
    """Ring all-reduce (reduce-scatter + all-gather): 2(p - 1) steps, 2(p - 1)/p of the data."""
    return 2 * (ranks - 1) * alpha + 2 * (ranks - 1) / ranks * nbytes * beta if ranks > 1 else 0.0


PINGPONG_FORMULAS = {  # (each rank's bytes, ranks, alpha, beta) -> seconds
    "bcast": bcast_seconds,
    "allgather": lambda nbytes, ranks, a, b: allgather_seconds(nbytes * ranks, ranks, a, b),
    "allreduce": allreduce_seconds,
    "sendrecv": lambda nbytes, ranks, a, b: a + nbytes * b if ranks > 1 else 0.0,
}


@dataclass(frozen=True)
class Line:
    """t = alpha + beta x bytes, measured up to max_bytes: not extrapolated beyond."""
    alpha: float
    beta: float
    max_bytes: float = math.inf

    def seconds_at(self, nbytes: float) -> float:
        return self.alpha + self.beta * nbytes


class CommModel:
    """The time of one collective of one implementation: its transport's fitted lines
    (collective, group size) -> Line where measured (or anything with seconds_at(nbytes)
    and max_bytes), else the ping-pong formulas."""

    def __init__(self, fits: dict | None = None, pingpong: tuple | None = None):
        self.fits = fits or {}
        self.pingpong = pingpong  # (alpha, beta) of the MPI ping-pong, or None
        self.used = set()         # the sources seconds() has priced with: "fit", "ping-pong"

    def source(self, collective: str, nbytes: float, ranks: int) -> str | None:
        if ranks <= 1:
            return "none"
        line = self.fits.get((collective, ranks))
        if line is not None and nbytes <= line.max_bytes:
            return "fit"
        return "ping-pong" if self.pingpong else None

    def seconds(self, collective: str, nbytes: float, ranks: int) -> float | None:
        """None where neither a fit (within its measured sizes) nor the ping-pong prices it."""
        source = self.source(collective, nbytes, ranks)
        if source == "none":
            return 0.0
        if source is not None:
            self.used.add(source)
        if source == "fit":
            return self.fits[(collective, ranks)].seconds_at(nbytes)
        if source == "ping-pong":
            return PINGPONG_FORMULAS[collective](nbytes, ranks, *self.pingpong)
        return None
