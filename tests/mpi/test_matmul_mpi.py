"""Every matmul implementation x algorithm x dtype against float64 numpy, at the
world size this file is launched with (see tests/test_mpi_suites.py)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpi4py import MPI

import jaxpar
from jaxpar import registry
from jaxpar.core.accuracy import max_relative_error
from jaxpar.workloads.matmul.problem import PROBLEM, matmul_inputs, matmul_reference

from .conftest import JAX_DEVICE_COUNTS

COMM = MPI.COMM_WORLD
TOLERANCE = PROBLEM.tolerance
# Every implementation x algorithm of the registry: c_mpi, mpi4py, jax, jax_pmap with summa
# and allgather, jax_auto with none, jax_mpi4jax with summa, summa_allreduce and allgather.
VARIANTS = [(e.impl, algorithm) for e in registry.ENTRIES if e.workload == "matmul"
            for algorithm in e.algorithms or [None]]
assert len(VARIANTS) == 12
# The panel-wise ones: every SUMMA.
SUMMA_VARIANTS = [(impl, algorithm) for impl, algorithm in VARIANTS
                  if algorithm is not None and algorithm.startswith("summa")]
# Primes, 1x1x1, dimensions smaller than any grid up to 4 ranks, very rectangular.
SHAPES = [(1, 1, 1), (7, 13, 5), (2, 3, 1), (1, 97, 2), (61, 1, 3), (3, 2, 53), (24, 16, 32)]


def device_counts(impl):
    jax_runtime = registry.entry("matmul", impl).runtime == registry.JAX_RUNTIME
    return JAX_DEVICE_COUNTS if jax_runtime else [None]


def check(a, b, impl, algorithm, devices=None, panel=4):
    c = jaxpar.matmul(a, b, impl=impl, algorithm=algorithm, devices=devices, panel=panel)
    assert c.shape == (a.shape[0], b.shape[1])
    assert c.dtype == a.dtype
    error = max_relative_error(c, matmul_reference(a, b))
    assert error <= TOLERANCE[str(a.dtype)], (impl, algorithm, devices, a.shape, b.shape, error)


@pytest.mark.mpi
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("impl,algorithm", VARIANTS)
def test_matches_numpy(impl, algorithm, dtype):
    for m, k, n in SHAPES:
        a, b = matmul_inputs(m, k, n, dtype, seed=m * 10000 + k * 100 + n)
        for devices in device_counts(impl):
            check(a, b, impl, algorithm, devices)


@pytest.mark.mpi
@pytest.mark.parametrize("panel", [1, 3, 1000])
@pytest.mark.parametrize("impl,algorithm", SUMMA_VARIANTS)
def test_summa_panel_widths(impl, algorithm, panel):
    a, b = matmul_inputs(11, 29, 7, "float64", seed=panel)
    check(a, b, impl, algorithm, panel=panel)


@pytest.mark.mpi
@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(m=st.integers(1, 40), k=st.integers(1, 40), n=st.integers(1, 40),
       variant=st.sampled_from(VARIANTS), panel=st.integers(1, 9))
def test_random_shapes(m, k, n, variant, panel):
    # derandomize: every rank must draw the same example.
    a, b = matmul_inputs(m, k, n, "float64", seed=m + k + n)
    check(a, b, *variant, panel=panel)


@pytest.mark.mpi
@pytest.mark.parametrize("impl,algorithm", VARIANTS)
def test_a_prepared_run_repeats(impl, algorithm):
    """The runner calls run() for a warm-up and every repeat: each call gives the same C.
    (A jax.stages.Compiled with mpi4jax's ordered effects failed from its second call.)"""
    from jaxpar import api

    a, b = matmul_inputs(7, 13, 5, "float64", seed=4)
    prepared = api.prepare("matmul", impl, a, b, algorithm=algorithm, panel=4)
    first = prepared.gather(prepared.run())
    assert max_relative_error(first, matmul_reference(a, b)) <= TOLERANCE["float64"]
    for _ in range(2):
        np.testing.assert_array_equal(prepared.gather(prepared.run()), first)


@pytest.mark.mpi
def test_every_rank_gets_the_same_result():
    a, b = matmul_inputs(9, 10, 11, "float64", seed=3)
    c = jaxpar.matmul(a, b, impl="c_mpi", algorithm="summa")
    gathered = COMM.allgather(c)
    for other in gathered:
        np.testing.assert_array_equal(other, gathered[0])


def bad_call(**overrides):
    a, b = matmul_inputs(4, 3, 2, "float64", seed=1)
    kwargs = dict(a=a, b=b, impl="c_mpi", algorithm="summa")
    kwargs.update(overrides)
    return jaxpar.matmul(**kwargs)


@pytest.mark.mpi
@pytest.mark.parametrize("overrides,message", [
    ({"a": np.zeros((0, 3))}, "empty dimension"),
    ({"b": np.zeros((3, 0))}, "empty dimension"),
    ({"b": np.ones((4, 2))}, "inner dimensions do not match"),
    ({"a": np.ones(12)}, "must be 2-D"),
    ({"b": np.ones((3, 2, 1))}, "must be 2-D"),
    ({"a": [[1.0, 2.0, 3.0]]}, "must be a numpy array"),
    ({"a": np.ones((4, 3), dtype=np.int64)}, "use float64 or float32"),
    ({"a": np.ones((4, 3), dtype=np.float32)}, "different dtypes"),
    ({"impl": "fortran"}, "unknown implementation 'fortran'"),
    ({"algorithm": "cannon"}, "unknown algorithm 'cannon'"),
    ({"impl": "jax_auto", "algorithm": "summa"}, "jax_auto takes no algorithm"),
    ({"impl": "jax", "algorithm": "nope"}, "unknown algorithm"),
])
def test_bad_input_raises_on_every_rank(overrides, message):
    with pytest.raises(ValueError, match=message):
        bad_call(**overrides)
    COMM.Barrier()  # every rank got here: nobody is stuck in a collective


@pytest.mark.mpi
@pytest.mark.parametrize("impl", ["c_mpi", "mpi4py"])
@pytest.mark.parametrize("lookahead", [0, 1, 2, 8])
@pytest.mark.parametrize("panel", [1, 3])
def test_summa_lookahead(impl, lookahead, panel):
    """Every look-ahead depth, with more panels in flight than there are (K = 5, panel 1 or 3)
    and uneven blocks, gives the product: the panel buffers are reused in the right order."""
    a, b = matmul_inputs(7, 5, 6, "float64", seed=lookahead)
    c = jaxpar.matmul(a, b, impl=impl, algorithm="summa", panel=panel, lookahead=lookahead)
    np.testing.assert_allclose(c, a @ b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lookahead", [-1, 9, 2.5, "1"])
def test_bad_lookahead(lookahead):
    with pytest.raises(ValueError, match="lookahead must be an integer from 0 to 8"):
        bad_call(lookahead=lookahead)


@pytest.mark.parametrize("panel", [0, -3, 2.5])
def test_bad_panel(panel):
    with pytest.raises(ValueError, match="panel must be a positive integer"):
        bad_call(panel=panel)


@pytest.mark.mpi(min_size=2)
def test_ranks_that_disagree_all_raise():
    a, b = matmul_inputs(4 + COMM.rank, 3, 2, "float64", seed=1)
    with pytest.raises(ValueError, match="ranks disagree"):
        jaxpar.matmul(a, b, impl="mpi4py")
    COMM.Barrier()


@pytest.mark.mpi
@pytest.mark.parametrize("impl", ["jax", "jax_pmap"])
def test_jax_summa_refuses_an_unpadded_k_at_trace_time(impl):
    """The SUMMA kernels are wrong unless K is a multiple of panel x lcm(pr, pc): they say so."""
    if COMM.size != 1:
        pytest.skip("builds its own 2 x 2 mesh in one process")
    import jax
    import jax.numpy as jnp
    from jax.sharding import Mesh

    from jaxpar.workloads.matmul import jax as shard_map_form
    from jaxpar.workloads.matmul import jax_pmap as pmap_form

    devices = jax.devices()[:4]
    a, b = jnp.ones((4, 6)), jnp.ones((6, 4))  # K = 6, panel 2 x lcm(2, 2) = 4 does not divide it
    if impl == "jax":
        kernel = shard_map_form.summa(Mesh(np.array(devices).reshape(2, 2), ("row", "col")), 2)
        args = (a, b)
    else:
        kernel = pmap_form.summa(devices, (2, 2), 2)
        args = (jnp.ones((4, 2, 3)), jnp.ones((4, 3, 2)))
    with pytest.raises(ValueError, match="padded to a multiple of panel"):
        kernel.lower(*args)


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("impl", ["c_mpi", "jax"])
def test_ranks_that_pass_different_values_all_raise(impl):
    """Same shapes, different data (an unseeded generator, say): refused on every rank."""
    a, b = matmul_inputs(5, 4, 3, "float64", seed=COMM.rank)
    with pytest.raises(ValueError, match="ranks passed different values"):
        jaxpar.matmul(a, b, impl=impl)
    COMM.Barrier()


@pytest.mark.mpi
def test_a_panel_wider_than_k_is_one_panel():
    """A huge panel (2**61) must neither overflow a size product nor change the result."""
    a, b = matmul_inputs(6, 5, 4, "float64", seed=2)
    for impl, algorithm in SUMMA_VARIANTS:
        check(a, b, impl, algorithm, panel=2 ** 61)


@pytest.mark.mpi
def test_mpi4jax_summa_cuts_the_panels_of_c_mpi():
    """Its static panel runs, expanded, are c_mpi.c's panels: they tile K in order, each lies
    in one block of both partitions of K (pc for A, pr for B), and each is as wide as the
    panel allows, narrower only where it ends at a block edge."""
    from jaxpar.core.layout import block_lo
    from jaxpar.workloads.matmul.jax_mpi4jax import panel_runs

    for k in (1, 2, 3, 5, 29, 97):
        for grid in ((1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (3, 4)):
            edges = {block_lo(k, parts, i) for parts in grid for i in range(parts + 1)}
            for panel in (1, 2, 3, 4, 7, k):
                panels = [(k0 + t * width, width, owners) for k0, width, count, *owners
                          in panel_runs(k, grid, panel) for t in range(count)]
                assert [p[0] for p in panels] == [0] + [k0 + w for k0, w, _ in panels[:-1]], panels
                assert panels[-1][0] + panels[-1][1] == k
                for k0, width, (a_owner, b_owner) in panels:
                    assert 1 <= width <= panel and not edges & set(range(k0 + 1, k0 + width))
                    assert width == panel or k0 + width in edges, (k, grid, panel, k0, width)
                    assert block_lo(k, grid[1], a_owner) <= k0 < block_lo(k, grid[1], a_owner + 1)
                    assert block_lo(k, grid[0], b_owner) <= k0 < block_lo(k, grid[0], b_owner + 1)
