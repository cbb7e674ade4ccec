"""The distributed dense matmul problem: C = A B, A m x k, B k x n.

Inputs are standard normal, seeded, rounded to the dtype of the run; the
reference is the float64 numpy product; the error is normwise
(jaxpar.core.accuracy). 2 m k n FLOPs per run. Weak scaling grows m with P.
"""
from __future__ import annotations

import math

import numpy as np

from jaxpar.core.accuracy import max_relative_error
from jaxpar.core.problem import (DTYPES, Option, Problem, check_float_matrix, describe_array,
                                 is_int)


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
    options = {"panel": Option(256, int, "SUMMA panel width: columns of A (rows of B) per broadcast")}
    time_field, time_unit, flops_field = "time_s", "run", "flops"
    error_fields = ("max_rel_error",)
    tolerance = {"float64": 1e-10, "float32": 1e-4}

    def size_label(self, sizes):
        return f"{sizes['m']}x{sizes['k']}x{sizes['n']}"

    def inputs(self, sizes, dtype, seed):
        return matmul_inputs(sizes["m"], sizes["k"], sizes["n"], dtype, seed)

    def arguments(self, sizes, options):
        return {"panel": options["panel"]}

    def describe(self, a, b, *, panel):
        return describe_array(a), describe_array(b), repr(panel)

    def validate(self, a, b, *, panel):
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
        # A panel wider than K is one panel of K: clamped, so that no size product
        # (panel x block rows) can overflow in any implementation.
        return (a, b), {"panel": min(int(panel), a.shape[1])}

    def check(self, inputs, arguments, result, dtype):
        error = max_relative_error(result, matmul_reference(*inputs))
        return {"max_rel_error": error, "tolerance": self.tolerance[dtype],
                "verified": bool(np.isfinite(error) and error <= self.tolerance[dtype])}

    def record(self, sizes, options, dtype, summary, result, algorithm, details):
        flops = 2.0 * sizes["m"] * sizes["k"] * sizes["n"]
        return {"panel": details.get("panel", options["panel"]) if algorithm != "allgather" else None,
                "flops": flops, "gflops": flops / summary["median"] / 1e9,
                "gflops_best": flops / summary["min"] / 1e9}

    def compute_seconds(self, record, core_gflops):
        """2mkn at P x the single-core rate."""
        return record["flops"] / (record["ranks"] * core_gflops * 1e9)

    def comm_seconds(self, record, comm):
        """The all-gather of B's row blocks, or SUMMA's two panel broadcasts per panel: one
        along each grid row (pc ranks), one down each grid column (pr ranks)."""
        m, k, n = (record["sizes"][key] for key in "mkn")
        ranks, grid = record["ranks"], record.get("grid") or [record["ranks"], 1]
        elem = np.dtype(record["dtype"]).itemsize
        if record["algorithm"] == "allgather":
            return comm.seconds("allgather", math.ceil(k / ranks) * n * elem, ranks)
        # jax_auto (no algorithm: XLA partitions a (row, col)-sharded product) is priced as SUMMA.
        collective = ("allreduce" if record["algorithm"] == "summa_allreduce"
                      or record["impl"] in ALLREDUCE_BROADCAST else "bcast")
        (pr, pc), panel = grid, record.get("panel") or self.options["panel"].default
        along_row = comm.seconds(collective, math.ceil(m / pr) * panel * elem, pc)
        down_col = comm.seconds(collective, panel * math.ceil(n / pc) * elem, pr)
        if along_row is None or down_col is None:
            return None
        return math.ceil(k / panel) * (along_row + down_col)


# The implementations whose SUMMA panel "broadcast" is an all-reduce of the panel masked to
# zero off its owner: lax has no one-to-all broadcast (summa_allreduce does the same on MPI).
ALLREDUCE_BROADCAST = ("jax", "jax_pmap", "jax_auto")


PROBLEM = Matmul()
