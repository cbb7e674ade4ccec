"""The stencil's problem definition (jaxpar/workloads/stencil/problem.py): PRK's weights,
input and closed form, the exact float64 reference against a literal PRK loop, the
check's sensitivity, the refusals, and the record's rates. No MPI, no JAX."""
import math

import numpy as np
import pytest

from jaxpar.core.costmodel import CommModel, Line
from jaxpar.workloads.stencil.problem import (PROBLEM, l1_norm, prk_input, stencil_reference,
                                              stencil_weights)


def prk_loop(x, radius, iterations):
    """PRK's Stencil kernel as its serial code writes it, point by point, in float64."""
    n = x.shape[0]
    a, out, w = np.array(x, dtype=np.float64), np.zeros((n, n)), stencil_weights(radius)
    for _ in range(iterations):
        for r in range(radius, n - radius):
            for c in range(radius, n - radius):
                for k in range(-radius, radius + 1):
                    out[r, c] += w[radius + k] * a[r, c + k] + w[radius + k] * a[r + k, c]
        a += 1.0
    return out


def test_weights_are_prks():
    w = stencil_weights(3)
    assert w[3] == 0
    for k in (1, 2, 3):
        assert w[3 + k] == 1 / (2 * k * 3) and w[3 - k] == -1 / (2 * k * 3)
    assert abs(w.sum()) < 1e-15


@pytest.mark.parametrize("n,radius,iterations", [(7, 1, 3), (12, 2, 4), (13, 3, 2), (9, 4, 1)])
def test_reference_is_prks_loop(n, radius, iterations):
    rng = np.random.default_rng(n)
    for x in (rng.standard_normal((n, n)), prk_input(n), rng.standard_normal((n, n)).T.copy()):
        np.testing.assert_allclose(stencil_reference(x, radius, iterations), prk_loop(x, radius, iterations),
                                   rtol=0, atol=1e-12)


def test_prk_closed_form_norm():
    # PRK: the norm of OUT over the interior is iterations x (COEFX + COEFY)
    for n, radius, iterations in [(10, 1, 1), (33, 2, 7), (20, 3, 5)]:
        out = stencil_reference(prk_input(n), radius, iterations)
        assert l1_norm(out, radius) == pytest.approx(2.0 * iterations, abs=1e-12)
        assert not out[:radius].any() and not out[:, -radius:].any()  # the boundary band


def test_prk_input():
    x = prk_input(4, "float32")
    assert x.dtype == np.float32 and x[2, 3] == 5 and x[3, 0] == 3


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_check_passes_the_reference_and_fails_wrong_results(dtype):
    x, arguments = prk_input(24, dtype), {"radius": 2, "iterations": 3}
    good = stencil_reference(x, **arguments).astype(dtype)
    assert PROBLEM.check((x,), arguments, good, dtype)["verified"]
    stale = good.copy()
    stale[2:-2, 11] -= 0.25 * 3 / 2 * 0.5  # one column off by a stale halo's worth
    assert not PROBLEM.check((x,), arguments, stale, dtype)["verified"]
    missed = good.copy()
    missed[5, 5] = 0.0  # one point not updated
    result = PROBLEM.check((x,), arguments, missed, dtype)
    assert not result["verified"] and result["max_rel_error_out"] > PROBLEM.tolerance[dtype]
    band = good.copy()
    band[0, 7] = 1.0  # the boundary band must stay 0
    assert not PROBLEM.check((x,), arguments, band, dtype)["verified"]
    assert not PROBLEM.check((x,), arguments, np.full_like(good, np.nan), dtype)["verified"]


def test_check_on_any_input_uses_the_references_norm():
    x = np.random.default_rng(3).standard_normal((17, 17))
    arguments = {"radius": 1, "iterations": 2}
    result = PROBLEM.check((x,), arguments, stencil_reference(x, **arguments), "float64")
    assert result["verified"] and result["norm_error"] == 0.0


@pytest.mark.parametrize("x,arguments,match", [
    (prk_input(10), {"radius": 0, "iterations": 1}, "radius must be a positive integer"),
    (prk_input(10), {"radius": -2, "iterations": 1}, "radius must be a positive integer"),
    (prk_input(10), {"radius": 1.5, "iterations": 1}, "radius must be a positive integer"),
    (prk_input(10), {"radius": 2, "iterations": 0}, "iterations must be a positive integer"),
    (prk_input(4), {"radius": 2, "iterations": 1}, "no interior point"),
    (prk_input(5)[:, :4].copy(), {"radius": 1, "iterations": 1}, "square"),
    (np.zeros((6, 6), dtype=np.int64), {"radius": 1, "iterations": 1}, "float64 or float32"),
    (np.full((6, 6), np.inf), {"radius": 1, "iterations": 1}, "non-finite"),
])
def test_validate_refuses(x, arguments, match):
    with pytest.raises(ValueError, match=match):
        PROBLEM.validate(x, **arguments)


def test_check_ranks_refuses_blocks_smaller_than_the_radius():
    inputs, arguments = (prk_input(7),), {"radius": 3, "iterations": 1}
    PROBLEM.check_ranks(inputs, arguments, 2)  # 1 x 2 grid: blocks of 3 and 4 columns
    with pytest.raises(ValueError, match="too small for 3 ranks with radius 3"):
        PROBLEM.check_ranks(inputs, arguments, 3)  # 1 x 3: blocks of 2 columns
    PROBLEM.check_ranks((prk_input(6),), {"radius": 3, "iterations": 1}, 4)  # 2 x 2: blocks of 3


def test_weak_scaling_keeps_the_area_per_rank():
    for n in (100, 1024, 4096, 777):
        for ranks in (1, 2, 3, 4, 8):
            scaled = PROBLEM.weak_scaled(n, ranks)
            assert abs(scaled ** 2 / ranks - n ** 2) <= scaled  # one row of rounding
            assert PROBLEM.per_rank(scaled, ranks) == n


def test_record_uses_prks_flop_count_and_the_least_bytes():
    sizes = {"n": 100, "radius": 2, "iterations": 10}
    summary = {"median": 0.01, "min": 0.008}
    out = stencil_reference(prk_input(100), 2, 10)
    record = PROBLEM.record(sizes, {}, "float64", summary, out, None, {})
    assert record["flops_per_iteration"] == (2 * 9 + 1) * 96 ** 2
    assert record["bytes_per_iteration"] == 8 * (2 * 100 ** 2 + 2 * 96 ** 2)
    assert record["mflops"] == pytest.approx(record["flops_per_iteration"] / 0.01 / 1e6)
    assert record["gbytes_per_s"] == pytest.approx(record["bytes_per_iteration"] / 0.01 / 1e9)
    assert record["l1_norm"] == pytest.approx(20.0)


def test_ideal_time_and_minimum_memory():
    record = {"sizes": {"n": 1000, "radius": 2, "iterations": 5}, "ranks": 4, "grid": [2, 2],
              "dtype": "float64", "bytes_per_iteration": 8e9}
    assert PROBLEM.compute_seconds(record, 50.0, 20.0) == pytest.approx(0.4)
    assert PROBLEM.compute_seconds(record, 50.0) is None
    # 2 x 2: one neighbour along each grid dimension, halos of 2 x 500 doubles
    comm = CommModel({("sendrecv", 4): Line(1e-6, 1e-9)})
    assert PROBLEM.comm_seconds(record, comm) == pytest.approx(2 * (1e-6 + 8000 * 1e-9))
    assert PROBLEM.min_memory_bytes(record) == 8 * (504 * 504 + 500 * 500)
    one = {**record, "ranks": 1, "grid": [1, 1]}
    assert PROBLEM.comm_seconds(one, CommModel()) == 0.0
    assert math.isclose(PROBLEM.min_memory_bytes(one), 8 * (1004 ** 2 + 1000 ** 2))
