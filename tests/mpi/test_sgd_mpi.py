"""Data-parallel SGD (jaxpar.sgd) with real MPI, no mocks. Run as

    mpirun -n P python -m pytest --with-mpi --only-mpi tests/mpi     # P = 1..4

Every rank passes the same inputs and must get the single-process float64
reference: matching it at every P (and, in one process, at every JAX device
count) with P not dividing B and batches that wrap past n is the test of
P-independence. keras is the exception: it refuses a batch that P does not divide
(keras.distribution.DataParallel), so it runs with one that P = 1..4 divide, and
the tests check that it refuses the others on every rank. Sizes are tiny and the
configurations few, because every distinct (shape, batch, steps, lr, devices)
compiles each JAX program again.
"""
import numpy as np
import pytest
from mpi4py import MPI

import jaxpar
from jaxpar import registry
from jaxpar.core.accuracy import max_relative_error
from jaxpar.workloads.sgd.problem import PROBLEM, sgd_problem, sgd_reference

from .conftest import JAX_DEVICE_COUNTS

pytestmark = pytest.mark.mpi

COMM = MPI.COMM_WORLD
SGD_TOLERANCE = PROBLEM.tolerance
IMPLEMENTATIONS = registry.implementations("sgd")
JAX_IMPLEMENTATIONS = tuple(e.impl for e in registry.ENTRIES
                            if e.workload == "sgd" and e.runtime == registry.JAX_RUNTIME)
SIZES = (37, 5, 7, 3)  # n, d_in, hidden, d_out
BATCH, STEPS, LR = 10, 9, 0.1  # 90 rows: wraps past n = 37 twice; P = 3, 4 do not divide B
KERAS_BATCH = 12  # P = 1..4 divide it; 108 rows still wrap past n = 37
# Each implementation at every device count (JAX in one process: 1..4; MPI: the world).
VARIANTS = [(impl, devices) for impl in IMPLEMENTATIONS
            for devices in (JAX_DEVICE_COUNTS if impl in JAX_IMPLEMENTATIONS else [None])]


def ranks_used(impl):
    """Ranks, or JAX devices in a single-process run, that split the batch by default."""
    if impl in JAX_IMPLEMENTATIONS and COMM.size == 1:
        import jax
        return len(jax.devices())
    return COMM.size


def batch_for(impl):
    """keras splits every batch evenly over P (DataParallel) and refuses any other batch;
    the others take BATCH, which P = 3, 4 do not divide."""
    return KERAS_BATCH if impl == "keras" else BATCH


def assert_keras_refuses(batch, devices, p):
    """keras's ValueError for a batch that P does not divide: the same on every rank."""
    x, y, params = sgd_problem(*SIZES, seed=1)
    with pytest.raises(ValueError, match=f"batch={batch} must be a multiple of P={p} ") as info:
        jaxpar.sgd(x, y, params, "keras", steps=STEPS, lr=LR, batch=batch, devices=devices)
    messages = COMM.allgather(str(info.value))
    assert all(m == messages[0] for m in messages)


def assert_matches_reference(impl, dtype, devices, batch, seed=1):
    x, y, params = sgd_problem(*SIZES, dtype=dtype, seed=seed)
    got_params, got_losses = jaxpar.sgd(x, y, params, impl, steps=STEPS, lr=LR, batch=batch,
                                        devices=devices)
    ref_params, ref_losses = sgd_reference(x, y, params, steps=STEPS, batch=batch, lr=LR)
    tolerance = SGD_TOLERANCE[dtype]
    assert sorted(got_params) == sorted(ref_params)
    for name, ref in ref_params.items():
        assert got_params[name].dtype == x.dtype and got_params[name].shape == ref.shape, name
        error = max_relative_error(got_params[name], ref)
        assert error <= tolerance, f"{impl} {name}: relative error {error:.3g} > {tolerance}"
    assert got_losses.dtype == x.dtype and got_losses.shape == (STEPS,)
    error = max_relative_error(got_losses, ref_losses)
    assert error <= tolerance, f"{impl} losses: relative error {error:.3g} > {tolerance}"
    return got_params, got_losses


@pytest.mark.parametrize("impl,devices", VARIANTS)
def test_float64_matches_single_process_reference(impl, devices):
    assert_matches_reference(impl, "float64", devices, batch_for(impl))


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_float32_matches_reference(impl):
    assert_matches_reference(impl, "float32", None, batch_for(impl))


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_batch_smaller_than_ranks(impl):
    """Ranks or devices with an empty slice of the batch contribute zeros; keras, which
    gives every device an equal slice, refuses such a batch instead."""
    ranks = ranks_used(impl)
    if ranks == 1:
        pytest.skip("needs more than one rank or device")
    batch = 1 if ranks == 2 else 2
    if impl == "keras":
        assert_keras_refuses(batch, None, ranks)
    else:
        assert_matches_reference(impl, "float64", None, batch)


@pytest.mark.parametrize("p", [3, 4])
def test_keras_refuses_a_batch_that_p_does_not_divide(p):
    """BATCH = 10, which every other implementation takes at P = 3 and 4."""
    if COMM.size == 1:
        devices = p
    elif COMM.size == p:
        devices = None  # under mpirun every process contributes its one device
    else:
        pytest.skip(f"needs {p} devices: one process, or mpirun -n {p}")
    assert_keras_refuses(BATCH, devices, p)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_loss_goes_down(impl):
    """45 steps in five calls of 9 (the same compiled program), each from the last's parameters."""
    x, y, params = sgd_problem(*SIZES, seed=2)
    curves = []
    for _ in range(5):
        params, losses = jaxpar.sgd(x, y, params, impl, steps=STEPS, lr=LR,
                                    batch=batch_for(impl))
        curves.append(losses)
    assert np.all(np.isfinite(curves))
    assert np.mean(curves[-1]) < 0.3 * np.mean(curves[0]), np.round(np.concatenate(curves), 3)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_a_prepared_run_repeats(impl):
    """The runner calls run() for a warm-up and every repeat: each call trains from the same
    initial parameters to the same result. (A jax.stages.Compiled with mpi4jax's ordered
    effects failed from its second call.)"""
    from jaxpar import api

    x, y, params = sgd_problem(*SIZES, seed=3)
    prepared = api.prepare("sgd", impl, x, y, params, steps=STEPS, batch=batch_for(impl), lr=LR)
    first = prepared.gather(prepared.run())
    for _ in range(2):
        again = prepared.gather(prepared.run())
        for name in first[0]:
            np.testing.assert_array_equal(again[0][name], first[0][name])
        np.testing.assert_array_equal(again[1], first[1])


def _valid():
    x, y, params = sgd_problem(8, 3, 4, 2, seed=0)
    return {"x": x, "y": y, "params": params, "steps": 2, "lr": 0.1, "batch": 4}


def _with_param(name, value):
    def change(kw):
        kw["params"] = {**kw["params"], name: value}
    return change


def _set(key, value):
    def change(kw):
        kw[key] = value(kw) if callable(value) else value
    return change


def _poison(where):
    def change(kw):
        if where in ("x", "y"):
            kw[where] = kw[where].copy()
            kw[where][1, 1] = np.nan
        else:
            kw["params"] = {**kw["params"], where: kw["params"][where].copy()}
            kw["params"][where].flat[0] = np.inf
    return change


BAD_INPUTS = {
    "x not 2-D": (_set("x", lambda kw: kw["x"].ravel()), "x must be 2-D"),
    "y not 2-D": (_set("y", lambda kw: kw["y"][:, 0]), "y must be 2-D"),
    "row counts differ": (_set("y", lambda kw: kw["y"][:-1]), "same number of rows"),
    "W1 rows != d_in": (_with_param("W1", np.zeros((4, 4))), r"params\['W1'\] has shape"),
    "b1 length": (_with_param("b1", np.zeros(5)), r"params\['b1'\] has shape"),
    "W2 cols != d_out": (_with_param("W2", np.zeros((4, 3))), r"params\['W2'\] has shape"),
    "b2 length": (_with_param("b2", np.zeros(3)), r"params\['b2'\] has shape"),
    "missing key": (_set("params", lambda kw: {k: v for k, v in kw["params"].items() if k != "b2"}),
                    r"missing: \['b2'\]"),
    "extra key": (_with_param("W3", np.zeros((2, 2))), r"unexpected: \['W3'\]"),
    "batch 0": (_set("batch", 0), "batch must be a positive integer"),
    "batch negative": (_set("batch", -3), "batch must be a positive integer"),
    "batch not int": (_set("batch", 2.5), "batch must be a positive integer"),
    "steps 0": (_set("steps", 0), "steps must be a positive integer"),
    "steps negative": (_set("steps", -1), "steps must be a positive integer"),
    "lr nan": (_set("lr", float("nan")), "lr must be a finite number"),
    "lr inf": (_set("lr", float("inf")), "lr must be a finite number"),
    "NaN in x": (_poison("x"), "x contains non-finite"),
    "NaN in y": (_poison("y"), "y contains non-finite"),
    "inf in W2": (_poison("W2"), r"params\['W2'\] contains non-finite"),
    "mixed dtypes": (_set("y", lambda kw: kw["y"].astype(np.float32)), "mixed dtypes"),
    "int data": (_set("x", lambda kw: kw["x"].astype(np.int64)), "dtype int64"),
    "unknown impl": (None, "unknown implementation"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_raises_on_every_rank(case):
    change, message = BAD_INPUTS[case]
    kw = _valid()
    impl = "mpi4py"
    if change is None:
        impl = "no_such_impl"
    else:
        change(kw)
    with pytest.raises(ValueError, match=message) as info:
        jaxpar.sgd(kw.pop("x"), kw.pop("y"), kw.pop("params"), impl, **kw)
    messages = COMM.allgather(str(info.value))
    assert all(m == messages[0] for m in messages)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_bad_batch_rejected_by_every_impl(impl):
    kw = _valid()
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        jaxpar.sgd(kw["x"], kw["y"], kw["params"], impl, steps=2, lr=0.1, batch=0)


def test_ranks_that_disagree_all_raise():
    if COMM.size == 1:
        pytest.skip("needs two ranks")
    kw = _valid()
    with pytest.raises(ValueError, match="ranks disagree"):
        jaxpar.sgd(kw["x"], kw["y"], kw["params"], "c_mpi", steps=2, lr=0.1 * (1 + COMM.rank),
                   batch=4)


def test_c_kernel_rejects_bad_arguments_without_communicating():
    from jaxpar.core.clib import CLibraryError
    from jaxpar.workloads.sgd import c_mpi

    kw = _valid()
    with pytest.raises(CLibraryError):
        c_mpi.sgd(COMM, kw["x"], kw["y"], kw["params"], steps=2, batch=0, lr=0.1)


def test_ranks_that_pass_different_values_all_raise():
    if COMM.size == 1:
        pytest.skip("needs two ranks")
    kw = _valid()
    kw["params"] = {**kw["params"], "W2": kw["params"]["W2"] + 1e-12 * COMM.rank}
    with pytest.raises(ValueError, match="ranks passed different values") as info:
        jaxpar.sgd(kw["x"], kw["y"], kw["params"], "mpi4py", steps=2, lr=0.1, batch=4)
    messages = COMM.allgather(str(info.value))
    assert all(m == messages[0] for m in messages)
