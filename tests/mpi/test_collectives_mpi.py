"""The collectives workload (jaxpar.collectives) with real MPI, no mocks. Run as

    mpirun -n P python -m pytest --with-mpi --only-mpi tests/mpi     # P = 1..4

Every implementation x collective x dtype, at every device count (JAX in one
process: 1..4), on buffers of 1, 3 and a few thousand elements: the result on
every rank is the closed form exactly (rank r's buffer is x + r, small
integers), shape (P, out_count). Bad inputs are refused alike on every rank.
"""
import importlib.util

import numpy as np
import pytest
from mpi4py import MPI

import jaxpar
from jaxpar import api, registry
from jaxpar.core import clib
from jaxpar.workloads.collectives import c_mpi
from jaxpar.workloads.collectives import mpi4py as mpi4py_impl
from jaxpar.workloads.collectives.problem import PROBLEM, collectives_reference

from .conftest import JAX_DEVICE_COUNTS

pytestmark = pytest.mark.mpi

COMM = MPI.COMM_WORLD
ENTRIES = [e for e in registry.ENTRIES if e.workload == "collectives"]
COUNTS = (1, 3, 2999)
INT_MAX = 2 ** 31 - 1


def skip_if_missing(impl):
    """A skip mark where a module the implementation requires (mpi4jax) is not installed."""
    missing = [name for name in registry.entry("collectives", impl).requires
               if importlib.util.find_spec(name) is None]
    return [pytest.mark.skip(reason=f"needs {', '.join(missing)}")] if missing else []


# Each implementation x collective at every device count (JAX in one process: 1..4; else the world).
VARIANTS = [pytest.param(e.impl, algorithm, devices, marks=skip_if_missing(e.impl),
                         id=f"{e.impl}-{algorithm}-{devices or COMM.size}")
            for e in ENTRIES for algorithm in e.algorithms
            for devices in (JAX_DEVICE_COUNTS if e.runtime == registry.JAX_RUNTIME else [None])]
IMPLS = [pytest.param(e.impl, marks=skip_if_missing(e.impl)) for e in ENTRIES]
assert len(ENTRIES) == 5 and all(e.algorithms == PROBLEM.algorithms for e in ENTRIES)


def inputs(count, dtype, seed=0):
    (x,) = PROBLEM.inputs({"bytes": count * np.dtype(dtype).itemsize}, dtype, seed)
    return x


def assert_same_on_every_rank(value):
    values = COMM.allgather(value)
    for other in values:
        np.testing.assert_array_equal(other, values[0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("impl,algorithm,devices", VARIANTS)
def test_result_is_the_closed_form(impl, algorithm, devices, dtype):
    ranks = devices or COMM.size
    for count in COUNTS:
        x = inputs(count, dtype, seed=count)
        got = jaxpar.collectives(x, algorithm, iterations=3, impl=impl, devices=devices)
        expected = collectives_reference(x, algorithm, ranks)
        assert got.shape == (ranks, count * (ranks if algorithm == "allgather" else 1))
        assert got.dtype == x.dtype
        np.testing.assert_array_equal(got, expected, err_msg=f"{impl} {algorithm} {count}")
        assert_same_on_every_rank(got)


@pytest.mark.parametrize("impl", IMPLS)
def test_repeated_runs_keep_the_result(impl):
    """The harness calls run() for warm-up and every repeat: the in-place broadcast, and
    every other collective, must give the same result each time, which check() verifies."""
    runtime = registry.entry("collectives", impl).runtime
    devices = 3 if runtime == registry.JAX_RUNTIME and COMM.size == 1 else None
    x = inputs(5, "float64")
    for algorithm in PROBLEM.algorithms:
        prepared = api.prepare("collectives", impl, x, algorithm=algorithm, iterations=2,
                               devices=devices)
        for _ in range(3):
            result = prepared.gather(prepared.run())
        check = PROBLEM.check((x,), {"iterations": 2, "algorithm": algorithm}, result, "float64")
        assert check["verified"] and check["max_abs_error"] == 0.0, (impl, algorithm, check)
        assert result.shape[0] == prepared.ranks == (devices or COMM.size)
        if runtime != registry.MPI_RUNTIME:  # JAX's dispatch cost, measured beside the collective
            assert prepared.details["noop_call_s"] > 0


def test_check_refuses_a_wrong_result():
    x = inputs(4, "float32")
    good = collectives_reference(x, "allgather", 2).astype(np.float32)
    arguments = {"iterations": 1, "algorithm": "allgather"}
    assert PROBLEM.check((x,), arguments, good, "float32")["verified"]
    off = good.copy()
    off[1, 2] += 1
    assert PROBLEM.check((x,), arguments, off, "float32")["max_abs_error"] == 1.0
    assert not PROBLEM.check((x,), arguments, off, "float32")["verified"]
    assert not PROBLEM.check((x,), arguments, good[:, :-1], "float32")["verified"]
    assert not PROBLEM.check((x,), arguments, good.reshape(-1), "float32")["verified"]


def test_record_reports_nccl_tests_bandwidths():
    summary = {"median": 1e-3, "min": 1e-3}
    result = np.zeros((4, 8))
    record = PROBLEM.record({"bytes": 64}, {"iterations": 20}, "float64", summary, result,
                            "allreduce", {"noop_call_s": 2e-5})
    assert record["total_bytes"] == 64 and record["algbw_GBps"] == pytest.approx(64e-6)
    assert record["bus_factor"] == 1.5 and record["busbw_GBps"] == pytest.approx(1.5 * 64e-6)
    assert record["noop_call_s"] == 2e-5 and record["flops"] is None
    gathered = PROBLEM.record({"bytes": 64}, {"iterations": 20}, "float64", summary,
                              np.zeros((4, 32)), "allgather", {})
    assert gathered["total_bytes"] == 256 and gathered["bus_factor"] == 0.75
    assert [PROBLEM.size_label({"bytes": b}) for b in (8, 65536, 1536, 8 << 20)] == [
        "8 B", "64 KiB", "1.5 KiB", "8 MiB"]


def refused(call, message):
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert_same_on_every_rank(str(info.value))


@pytest.mark.parametrize("impl", IMPLS)
def test_bad_input_raises_on_every_rank(impl):
    x = inputs(4, "float64")
    call = lambda x, iterations=2: jaxpar.collectives(x, "allreduce", iterations, impl=impl)
    refused(lambda: call(x.reshape(2, 2)), r"x must be 1-D \(each rank's buffer\), got shape \(2, 2\)")
    refused(lambda: call(x[:0]), r"x has an empty dimension: shape \(0,\)")
    refused(lambda: call(x.astype(np.int64)), "x has dtype int64; use float64 or float32")
    refused(lambda: call(list(x)), "x must be a numpy array")
    refused(lambda: call(x, 0), "iterations must be a positive integer, got 0")
    refused(lambda: call(x, 2.0), "iterations must be a positive integer")
    refused(lambda: jaxpar.collectives(x, "reduce_scatter", impl=impl), "unknown algorithm")


def test_bytes_must_be_a_multiple_of_the_element_size():
    refused(lambda: PROBLEM.inputs({"bytes": 12}, "float64", 0),
            "--bytes 12 is not a multiple of 8, the size of one float64")
    refused(lambda: PROBLEM.inputs({"bytes": 6}, "float32", 0),
            "--bytes 6 is not a multiple of 4, the size of one float32")
    assert PROBLEM.inputs({"bytes": 12}, "float32", 0)[0].shape == (3,)


@pytest.mark.parametrize("module", [c_mpi, mpi4py_impl], ids=["c_mpi", "mpi4py"])
def test_counts_past_int_are_refused_before_communicating(module):
    # Zero-stride views: the refusal must come before anything is allocated or sent.
    huge = np.broadcast_to(np.float32(1), (INT_MAX + 1,))
    refused(lambda: module.prepare(huge, algorithm="allreduce", iterations=1, comm=COMM),
            rf"allreduce of {INT_MAX + 1} elements exceeds the int count of MPI")
    gathered = np.broadcast_to(np.float32(1), (INT_MAX // COMM.size + 1,))
    refused(lambda: module.prepare(gathered, algorithm="allgather", iterations=1, comm=COMM),
            rf"allgather of {COMM.size} ranks x {gathered.size} elements exceeds the int count")


@pytest.mark.parametrize("suffix,ctype", [("f64", "double"), ("f32", "float")])
def test_c_kernels_reject_bad_sizes_without_communicating(suffix, ctype):
    ffi, lib = clib.open_library(c_mpi.CDEF)
    comm, buf = clib.comm_handle(ffi, COMM), ffi.new(f"{ctype}[]", 4)
    for algorithm in PROBLEM.algorithms:
        kernel = getattr(lib, f"jaxpar_collectives_{algorithm}_{suffix}")
        buffers = [buf] if algorithm == "bcast" else [buf, buf]
        for count, iterations in ((0, 1), (1, 0), (INT_MAX + 1, 1), (2 ** 62, 1)):
            assert kernel(comm, count, iterations, *buffers) == clib.JAXPAR_EINVAL
    allgather = getattr(lib, f"jaxpar_collectives_allgather_{suffix}")
    # a count that fits an int, gathered from every rank into more than an int holds
    assert allgather(comm, INT_MAX // COMM.size + 1, 1, buf, buf) == clib.JAXPAR_EINVAL
