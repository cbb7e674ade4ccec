"""The distributed dense matmul problem: C = A B, A m x k, B k x n.

Inputs are standard normal, seeded, rounded to the dtype of the run; the
reference is the float64 numpy product; the error is normwise
(jaxpar.core.accuracy). 2 m k n FLOPs per run. Weak scaling grows m with P.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from jaxpar.core.accuracy import max_relative_error
from jaxpar.core.layout import block_lo
from jaxpar.core.problem import (DTYPES, Option, Problem, check_float_matrix, describe_array,
                                 is_int)

# The deepest SUMMA look-ahead (c_mpi.h's JAXPAR_SUMMA_MAX_LOOKAHEAD): panel buffers
# are lookahead + 1 per operand.
MAX_LOOKAHEAD = 8
# Panels of up to 2048 columns: at N = 1024 and 4096, P = 2, the widest panel (a
# whole block) was the fastest or as fast for c_mpi, and the fastest for the JAX SUMMA,
# whose dot is slow at k = 256 (experiments/bench_kernels.toml, issue 10's note).
DEFAULT_PANEL = 2048
# One panel ahead: measured in experiments/bench_kernels.toml (docs/findings.md, "Kernels (issue 10)").
DEFAULT_LOOKAHEAD = 1


def matmul_inputs(m: int, k: int, n: int, dtype: str = "float64", seed: int = 0):
    """A (m x k) and B (k x n) with standard normal entries, rounded to dtype."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(DTYPES[dtype])
    b = rng.standard_normal((k, n)).astype(DTYPES[dtype])
    return a, b


def matmul_reference(a, b):
    return np.asarray(a, dtype=np.float64) @ np.asarray(b, dtype=np.float64)


class Matmul(Problem):
    name = "matmul"
    sizes = {"m": "rows of A and C", "k": "columns of A, rows of B", "n": "columns of B and C"}
    weak_size = "m"
    algorithms = ("summa", "summa_allreduce", "allgather")
    options = {"panel": Option(DEFAULT_PANEL, int, "SUMMA panel width: columns of A (rows of B) per "
                               "broadcast, cut at the block edges (so a wide one is a block)"),
               "lookahead": Option(DEFAULT_LOOKAHEAD, int, "SUMMA look-ahead of c_mpi and mpi4py: panels whose "
                                   f"nonblocking broadcasts run ahead of the multiply, 0 to "
                                   f"{MAX_LOOKAHEAD} (0: broadcast, then multiply)", low=0)}
    time_field, time_unit, flops_field = "time_s", "run", "flops"
    error_fields = ("max_rel_error",)
    tolerance = {"float64": 1e-10, "float32": 1e-4}

    def size_label(self, sizes):
        return f"{sizes['m']}x{sizes['k']}x{sizes['n']}"

    def inputs(self, sizes, dtype, seed):
        return matmul_inputs(sizes["m"], sizes["k"], sizes["n"], dtype, seed)

    def arguments(self, sizes, options):
        return {"panel": options["panel"], "lookahead": options["lookahead"]}

    def describe(self, a, b, *, panel, lookahead=DEFAULT_LOOKAHEAD):
        return describe_array(a), describe_array(b), repr(panel), repr(lookahead)

    def validate(self, a, b, *, panel, lookahead=DEFAULT_LOOKAHEAD):
        check_float_matrix("A", a)
        check_float_matrix("B", b)
        if a.dtype != b.dtype:
            raise ValueError(f"A and B have different dtypes ({a.dtype} and {b.dtype}); "
                             "convert one so both sides compute in the same precision")
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"inner dimensions do not match: A is {a.shape[0]}x{a.shape[1]}, "
                             f"B is {b.shape[0]}x{b.shape[1]}")
        if not is_int(panel) or panel < 1:
            raise ValueError(f"panel must be a positive integer, got {panel!r}")
        if not is_int(lookahead) or not 0 <= lookahead <= MAX_LOOKAHEAD:
            raise ValueError(f"lookahead must be an integer from 0 to {MAX_LOOKAHEAD}, got {lookahead!r}")
        # A panel wider than K is one panel of K: clamped, so that no size product
        # (panel x block rows) can overflow in any implementation.
        return (a, b), {"panel": min(int(panel), a.shape[1]), "lookahead": int(lookahead)}

    def check(self, inputs, arguments, result, dtype):
        error = max_relative_error(result, matmul_reference(*inputs))
        return {"max_rel_error": error, "tolerance": self.tolerance[dtype],
                "verified": bool(np.isfinite(error) and error <= self.tolerance[dtype])}

    def record(self, sizes, options, dtype, summary, result, algorithm, details):
        flops = 2.0 * sizes["m"] * sizes["k"] * sizes["n"]
        return {"panel": details.get("panel", options["panel"]) if algorithm != "allgather" else None,
                "flops": flops, "gflops": flops / summary["median"] / 1e9,
                "gflops_best": flops / summary["min"] / 1e9}

    def compute_seconds(self, record, core_gflops, bandwidth_gbps=None):
        """2mkn at P x the single-core rate."""
        return record["flops"] / (record["ranks"] * core_gflops * 1e9)

    def comm_seconds(self, record, comm):
        """The all-gather of B's row blocks, or SUMMA's two panel broadcasts per panel: one
        along each grid row (pc ranks), one down each grid column (pr ranks), each an
        MPI_Bcast, an all-reduce (summa_allreduce; jax_auto, whose collectives XLA
        chooses), or for jax and jax_pmap a ring of size - 1 ppermute hops (sendrecv)."""
        m, k, n = (record["sizes"][key] for key in "mkn")
        ranks, grid = record["ranks"], record.get("grid") or [record["ranks"], 1]
        elem = np.dtype(record["dtype"]).itemsize
        if record["algorithm"] == "allgather":
            return comm.seconds("allgather", math.ceil(k / ranks) * n * elem, ranks)
        # jax_auto (no algorithm: XLA partitions a (row, col)-sharded product) is priced as SUMMA.
        (pr, pc) = grid
        panel = ((record.get("details") or {}).get("panel") or record.get("panel")
                 or self.options["panel"].default)

        def broadcast(nbytes, size):
            if record["algorithm"] == "summa_allreduce" or record["impl"] in ALLREDUCE_BROADCAST:
                return comm.seconds("allreduce", nbytes, size)
            if record["impl"] in RING_BROADCAST:
                hop = comm.seconds("sendrecv", nbytes, size) if size > 1 else 0.0
                return None if hop is None else (size - 1) * hop
            return comm.seconds("bcast", nbytes, size)

        along_row = broadcast(math.ceil(m / pr) * panel * elem, pc)
        down_col = broadcast(panel * math.ceil(n / pc) * elem, pr)
        if along_row is None or down_col is None:
            return None
        return math.ceil(k / panel) * (along_row + down_col)

    def local_work(self, record):
        """The products of the busiest rank per run. SUMMA: one gemm (mloc, width, nloc) per
        panel, on the largest block of the record's grid; with a padded shape (the JAX
        implementations zero-pad to whole panels) its blocks and every panel of the recorded
        width, else c_mpi.c's panels, cut at the block edges of K (summa_panel_widths).
        allgather: the rows of A by the whole (gathered) B once. jax_auto, whose partitioning
        XLA chooses (no algorithm), is priced as the 1-D split: (ceil(m/P), k, n) once."""
        m, k, n = (record["sizes"][key] for key in "mkn")
        ranks, details = record["ranks"], record.get("details") or {}
        padded = details.get("padded_shape")
        if record["algorithm"] is None:
            return [("gemm", math.ceil(m / ranks), k, n, 1)]
        if record["algorithm"] == "allgather":
            if padded:
                return [("gemm", padded[0] // ranks, padded[1], padded[2], 1)]
            return [("gemm", math.ceil(m / ranks), k, n, 1)]
        pr, pc = record["grid"]
        panel = details.get("panel") or record.get("panel") or self.options["panel"].default
        if padded:
            mp, kp, np_ = padded
            return [("gemm", mp // pr, panel, np_ // pc, kp // panel)]
        counts = Counter(summa_panel_widths(k, (pr, pc), panel))
        return [("gemm", math.ceil(m / pr), width, math.ceil(n / pc), count)
                for width, count in counts.items()]


def summa_panel_widths(k: int, grid, panel: int) -> list[int]:
    """The widths of c_mpi.c's SUMMA panels in order (also mpi4py's and jax_mpi4jax's): K
    cut at every block edge of both partitions (A's columns over pc, B's rows over pr),
    each piece into panels of `panel` and a narrower last one."""
    pr, pc = grid
    panel = min(panel, k)  # as validate() clamps it
    edges = sorted({block_lo(k, pc, i) for i in range(pc + 1)} | {block_lo(k, pr, i) for i in range(pr + 1)})
    widths = []
    for lo, hi in zip(edges, edges[1:]):
        whole, rest = divmod(hi - lo, panel)
        widths += [panel] * whole + ([rest] if rest else [])
    return widths


# jax_auto's panel traffic is priced as an all-reduce of a panel masked to zero off its
# owner, what XLA's partitioner emits for a (row, col)-sharded product (summa_allreduce
# does the same on MPI).
ALLREDUCE_BROADCAST = ("jax_auto",)
# Their SUMMA broadcasts a panel round a ring of lax.ppermute hops.
RING_BROADCAST = ("jax", "jax_pmap")


PROBLEM = Matmul()
