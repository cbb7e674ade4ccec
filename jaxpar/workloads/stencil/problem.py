"""The Parallel Research Kernels' Stencil: a star stencil of radius R on an n x n grid.

PRK's specification (ParRes/Kernels, MPI1/Stencil/stencil.c), reproduced:
  - input  IN[r, c] = COEFX c + COEFY r (COEFX = COEFY = 1), output OUT = 0;
  - weights of the star: w(0, +k) = w(+k, 0) = 1/(2 k R), w(0, -k) = w(-k, 0) = -1/(2 k R)
    for k = 1..R, and 0 at the centre;
  - each iteration adds the stencil of IN to OUT at every interior point (R <= r, c < n - R),
    then adds 1 to every point of IN;
  - validation: the L1 norm of OUT over the interior points, divided by their number,
    against the closed form iterations x (COEFX + COEFY).
OUT keeps zeros on the boundary band of width R.

jaxpar.stencil(x, radius, iterations) runs T = iterations such iterations from IN = x (any
n x n grid; the harness passes PRK's) and returns OUT. PRK's own driver runs one more,
untimed, first iteration; the standalone jaxpar-stencil does that too, and so validates
against (T + 1)(COEFX + COEFY) as PRK does.

The float64 reference is exact and cheap: the stencil S is linear and its weights sum to
zero, so S(IN + t) = S(IN) and OUT after T iterations is T S(x) on the interior. The
error of a result is max |OUT - reference| over the largest magnitude the computation
adds up, T x sum |w| x (max |x| + T): a float32 stencil of PRK's input at n = 8192 sums
terms near 4000 to get 2 a step, so an error relative to |OUT| would measure the input's
size, not the implementation.

Distribution: a 2-D process grid as square as P allows (jaxpar.core.layout.process_grid),
blocks that differ by at most one row or column, halos of width R from the four
neighbours only, so every block must be at least R wide and high.
"""
from __future__ import annotations

import math

import numpy as np

from jaxpar.core.layout import block_sizes, process_grid
from jaxpar.core.problem import DTYPES, Problem, check_float_array, check_positive_int, describe_array

COEFX = COEFY = 1.0
DEFAULT_RADIUS = 2


def prk_input(n: int, dtype: str = "float64"):
    """PRK's input grid: IN[r, c] = COEFX c + COEFY r."""
    r, c = np.indices((n, n), dtype=np.float64)
    return np.ascontiguousarray(COEFX * c + COEFY * r, dtype=DTYPES[dtype])


def stencil_weights(radius: int):
    """w[radius + k] for k = -radius..radius: PRK's weight of the star's points at offset k
    along either axis (w[radius], the centre, is 0)."""
    k = np.arange(1, radius + 1)
    w = np.zeros(2 * radius + 1)
    w[radius + k] = 1.0 / (2.0 * k * radius)
    w[radius - k] = -1.0 / (2.0 * k * radius)
    return w


def apply_stencil(x, radius: int):
    """S(x) on the interior (n - 2R square): sum over k of w_k (x[r, c + k] + x[r + k, c])."""
    n, w = x.shape[0], stencil_weights(radius)
    inner = slice(radius, n - radius)
    s = np.zeros((n - 2 * radius, n - 2 * radius))
    for k in range(-radius, radius + 1):
        if k:
            s += w[radius + k] * (x[inner, radius + k:n - radius + k] + x[radius + k:n - radius + k, inner])
    return s


def stencil_reference(x, radius: int, iterations: int):
    """OUT after `iterations` PRK iterations from IN = x, in float64: iterations x S(x) on
    the interior (exact, see the module docstring), 0 on the boundary band."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    out[radius:-radius, radius:-radius] = iterations * apply_stencil(x, radius)
    return out


def l1_norm(out, radius: int) -> float:
    """PRK's norm: sum |OUT| over the interior points, over their number."""
    interior = np.asarray(out, dtype=np.float64)[radius:-radius, radius:-radius]
    return float(np.abs(interior).sum() / interior.size)


def min_block(n: int, parts: int) -> int:
    return min(block_sizes(n, parts))


class Stencil(Problem):
    name = "stencil"
    sizes = {"n": "grid points per side (n x n)", "radius": "stencil radius R",
             "iterations": "stencil iterations T per run"}
    weak_size = "n"
    time_field, time_unit, flops_field = "time_per_iteration_s", "iteration", "flops_per_iteration"
    error_fields = ("max_rel_error_out", "norm_error")
    tolerance = {"float64": 1e-8, "float32": 1e-4}  # PRK's EPSILON for double and float
    limit = "bandwidth"

    def size_label(self, sizes):
        return f"n={sizes['n']} R={sizes['radius']} T={sizes['iterations']}"

    def time_divisor(self, sizes, options):
        return sizes["iterations"]

    def weak_scaled(self, n, ranks):
        """Weak scaling keeps each rank's area: n grows with sqrt(P)."""
        return round(n * math.sqrt(ranks))

    def per_rank(self, n, ranks):
        return round(n / math.sqrt(ranks))  # inverts weak_scaled exactly

    def inputs(self, sizes, dtype, seed):
        return (prk_input(sizes["n"], dtype),)  # PRK's input is not random: seed unused

    def arguments(self, sizes, options):
        return {"radius": sizes["radius"], "iterations": sizes["iterations"]}

    def describe(self, x, *, radius, iterations):
        finite = bool(np.isfinite(x).all()) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else None
        return describe_array(x), finite, repr(radius), repr(iterations)

    def validate(self, x, *, radius, iterations):
        check_float_array("x", x, 2, " (an n x n grid)")
        if x.shape[0] != x.shape[1]:
            raise ValueError(f"x must be a square n x n grid, got shape {x.shape}")
        check_positive_int("radius", radius)
        check_positive_int("iterations", iterations)
        n = x.shape[0]
        if n <= 2 * radius:
            raise ValueError(f"n={n} must exceed 2 x radius = {2 * radius}: a grid of n <= 2R "
                             "has no interior point for the stencil to update")
        if not np.isfinite(x).all():
            raise ValueError("x contains non-finite values (NaN or inf)")
        return (np.ascontiguousarray(x),), {"radius": int(radius), "iterations": int(iterations)}

    def check_ranks(self, inputs, arguments, ranks):
        """Every block of the process grid must be at least R rows and R columns: halos
        come from the four neighbours only."""
        n, radius = inputs[0].shape[0], arguments["radius"]
        pr, pc = process_grid(ranks)
        smallest = min(min_block(n, pr), min_block(n, pc))
        if smallest < radius:
            raise ValueError(
                f"n={n} is too small for {ranks} ranks with radius {radius}: the {pr} x {pc} "
                f"process grid leaves blocks of {smallest} rows or columns, and every block "
                f"needs at least R = {radius} (its halo comes from its neighbours only); "
                f"use n >= {radius * max(pr, pc)} or fewer ranks")

    def check(self, inputs, arguments, result, dtype):
        (x,), radius, iterations = inputs, arguments["radius"], arguments["iterations"]
        reference = stencil_reference(x, radius, iterations)
        out = np.asarray(result, dtype=np.float64)
        if out.shape != reference.shape:
            raise ValueError(f"result shape {out.shape} != reference shape {reference.shape}")
        scale = iterations * np.abs(stencil_weights(radius)).sum() * (np.abs(x).max() + iterations)
        error = float(np.abs(out - reference).max() / scale)
        # PRK's validation: the L1 norm against its closed form for PRK's input, else the
        # reference's norm
        prk = np.array_equal(x, prk_input(x.shape[0], str(x.dtype)))
        expected = iterations * (COEFX + COEFY) if prk else l1_norm(reference, radius)
        norm_error = abs(l1_norm(out, radius) - expected)
        tolerance = self.tolerance[dtype]
        errors = {"max_rel_error_out": error if np.isfinite(error) else math.inf,
                  "norm_error": norm_error if np.isfinite(norm_error) else math.inf}
        return {**errors, "tolerance": tolerance,
                "verified": all(e <= tolerance for e in errors.values())}

    def record(self, sizes, options, dtype, summary, result, algorithm, details):
        n, radius = sizes["n"], sizes["radius"]
        active = (n - 2 * radius) ** 2
        # PRK's count: a multiply and an add per stencil point, and the update of IN
        flops = (2 * (4 * radius + 1) + 1) * active
        # The least traffic: IN read and written (all n^2 points), OUT read and written
        # (the interior), each once per iteration
        nbytes = np.dtype(dtype).itemsize * (2 * n * n + 2 * active)
        return {"flops_per_iteration": float(flops), "bytes_per_iteration": float(nbytes),
                "mflops": flops / summary["median"] / 1e6, "gflops": flops / summary["median"] / 1e9,
                "gbytes_per_s": nbytes / summary["median"] / 1e9,
                "gbytes_per_s_best": nbytes / summary["min"] / 1e9,
                "l1_norm": l1_norm(result, radius)}

    def compute_seconds(self, record, core_gflops, bandwidth_gbps=None):
        """The least bytes of an iteration at the memory bandwidth of P cores at once."""
        if not bandwidth_gbps:
            return None
        return record["bytes_per_iteration"] / (bandwidth_gbps * 1e9)

    def comm_seconds(self, record, comm):
        """The halos of the busiest rank per iteration: with a neighbour on both sides of
        a grid dimension, two sendrecvs along it (one with one neighbour), of R rows of a
        block (along the grid's columns) or R columns (along its rows)."""
        n, radius = record["sizes"]["n"], record["sizes"]["radius"]
        pr, pc = record.get("grid") or process_grid(record["ranks"])
        elem = np.dtype(record["dtype"]).itemsize
        total = 0.0
        for neighbours, nbytes in ((min(pr - 1, 2), radius * math.ceil(n / pc) * elem),
                                   (min(pc - 1, 2), math.ceil(n / pr) * radius * elem)):
            if neighbours:
                one = comm.seconds("sendrecv", nbytes, record["ranks"])
                if one is None:
                    return None
                total += neighbours * one
        return total

    def min_memory_bytes(self, record):
        """The least memory of the busiest rank: its IN block with halos, and its OUT block."""
        n, radius = record["sizes"]["n"], record["sizes"]["radius"]
        pr, pc = record.get("grid") or process_grid(record["ranks"])
        rows, cols = math.ceil(n / pr), math.ceil(n / pc)
        return np.dtype(record["dtype"]).itemsize * ((rows + 2 * radius) * (cols + 2 * radius) + rows * cols)


PROBLEM = Stencil()
