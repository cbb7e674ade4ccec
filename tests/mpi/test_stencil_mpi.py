"""PRK's star stencil (jaxpar.stencil) with real MPI, no mocks. Run as

    mpirun -n P python -m pytest --with-mpi --only-mpi tests/mpi/test_stencil_mpi.py   # P = 1..4

Every implementation, at every JAX device count in one process (1..4) or at the world
size, against the float64 reference, measured as the runner's check does: on PRK's input
and on a random grid (PRK's input is linear in r and c, so a halo that is transposed or
shifted by a row can still give the right answer on it), at n prime or just large enough
for the process grid, radius 1, 2 and 3, three iterations, float64 and float32. Sizes are
tiny and the configurations few: every distinct (n, radius, iterations, dtype, devices)
compiles each JAX program again.
"""
import numpy as np
import pytest
from mpi4py import MPI

import jaxpar
from jaxpar import api, registry
from jaxpar.core.layout import process_grid
from jaxpar.workloads.stencil.problem import PROBLEM, prk_input

from .conftest import JAX_DEVICE_COUNTS

pytestmark = pytest.mark.mpi

COMM = MPI.COMM_WORLD
ITERATIONS = 3
IMPLEMENTATIONS = registry.implementations("stencil")
JAX_IMPLEMENTATIONS = tuple(e.impl for e in registry.ENTRIES
                            if e.workload == "stencil" and e.runtime == registry.JAX_RUNTIME)
# Each implementation at every device count (JAX in one process: 1..4; MPI: the world).
VARIANTS = [(impl, devices) for impl in IMPLEMENTATIONS
            for devices in (JAX_DEVICE_COUNTS if impl in JAX_IMPLEMENTATIONS else [None])]
# (n, radius, dtype); n None: the smallest n that the process grid accepts at that radius.
CASES = {"n=23 R=2": (23, 2, "float64"), "smallest n R=3": (None, 3, "float64"),
         "n=11 R=1 float32": (11, 1, "float32")}


def ranks_used(impl, devices):
    """The ranks of the process grid: JAX devices in one process, else the world size."""
    if impl in JAX_IMPLEMENTATIONS and COMM.size == 1:
        import jax
        return devices or len(jax.devices())
    return COMM.size


def accepted(n, radius, ranks):
    try:
        PROBLEM.check_ranks((np.empty((n, n)),), {"radius": radius}, ranks)
    except ValueError:
        return False
    return True


def smallest_n(radius, ranks):
    """The least n > 2R whose every block on the process grid has R rows and columns."""
    n = 2 * radius + 1
    while not accepted(n, radius, ranks):
        n += 1
    return n


def inputs(n, dtype):
    """PRK's input, and a random grid of the same shape (the same on every rank)."""
    rng = np.random.default_rng(n)
    return {"prk": prk_input(n, dtype), "random": rng.uniform(-1, 1, (n, n)).astype(dtype)}


def assert_same_on_every_rank(array):
    for other in COMM.allgather(array):
        np.testing.assert_array_equal(other, array)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("impl,devices", VARIANTS)
def test_matches_reference(impl, devices, case):
    n, radius, dtype = CASES[case]
    n = n or smallest_n(radius, ranks_used(impl, devices))
    for name, x in inputs(n, dtype).items():
        out = jaxpar.stencil(x, radius=radius, iterations=ITERATIONS, impl=impl, devices=devices)
        assert out.shape == (n, n) and out.dtype == x.dtype, (name, out.shape, out.dtype)
        check = PROBLEM.check((x,), {"radius": radius, "iterations": ITERATIONS}, out, dtype)
        assert check["verified"], (impl, devices, n, radius, name, check)
        assert all(check[field] <= check["tolerance"] for field in PROBLEM.error_fields), check
        # The boundary band is never updated: exactly zero.
        band = np.ones((n, n), bool)
        band[radius:-radius, radius:-radius] = False
        assert not out[band].any(), (impl, devices, n, radius, name)
        assert_same_on_every_rank(out)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_a_prepared_run_repeats(impl):
    """The runner calls run() for a warm-up and every repeat: each call starts again from
    the input and gives the same OUT, bit for bit."""
    x = inputs(13, "float64")["random"]
    prepared = api.prepare("stencil", impl, x, radius=2, iterations=ITERATIONS)
    first = prepared.gather(prepared.run())
    check = PROBLEM.check((x,), {"radius": 2, "iterations": ITERATIONS}, first, "float64")
    assert check["verified"], check
    for _ in range(2):
        np.testing.assert_array_equal(prepared.gather(prepared.run()), first)


def assert_refused_on_every_rank(impl, x, message, devices=None, **arguments):
    arguments = {"radius": 2, "iterations": ITERATIONS, **arguments}
    with pytest.raises(ValueError, match=message) as info:
        jaxpar.stencil(x, impl=impl, devices=devices, **arguments)
    messages = COMM.allgather(str(info.value))
    assert all(m == messages[0] for m in messages), messages


BAD_INPUTS = {
    "radius 0": (9, {"radius": 0}, "radius must be a positive integer"),
    "radius -1": (9, {"radius": -1}, "radius must be a positive integer"),
    "radius 1.5": (9, {"radius": 1.5}, "radius must be a positive integer"),
    "n <= 2R": (4, {"radius": 2}, r"n=4 must exceed 2 x radius = 4"),
    "iterations 0": (9, {"iterations": 0}, "iterations must be a positive integer"),
    "not square": ((9, 8), {}, "x must be a square n x n grid"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_bad_input_raises_on_every_rank(impl, case):
    shape, arguments, message = BAD_INPUTS[case]
    x = np.zeros(shape if isinstance(shape, tuple) else (shape, shape))
    assert_refused_on_every_rank(impl, x, message, **arguments)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_a_grid_too_small_for_the_process_grid(impl):
    """Only a process grid with three ranks along a side refuses some n > 2R: P = 3 (1 x 3)
    leaves blocks of n // 3 columns. P = 2 (1 x 2) and 4 (2 x 2) split n > 2R into blocks
    of at least R."""
    ranks = 3
    if impl in JAX_IMPLEMENTATIONS and COMM.size == 1:
        devices = ranks
    elif COMM.size == ranks:
        devices = None
    else:
        pytest.skip(f"needs {ranks} ranks: JAX devices in one process, or mpirun -n {ranks}")
    radius = 3
    assert process_grid(ranks) == (1, 3) and smallest_n(radius, ranks) == 9
    x = prk_input(8)  # blocks of 2, 3, 3 columns < R = 3, though n = 8 > 2R
    assert_refused_on_every_rank(impl, x, "n=8 is too small for 3 ranks with radius 3",
                                 devices=devices, radius=radius)
