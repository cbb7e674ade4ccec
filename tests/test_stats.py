"""Summary statistics and the scaling metrics of jaxpar.harness.stats."""
import math

import pytest

from jaxpar.core.costmodel import CommModel

from jaxpar.harness import stats


def test_summarize_known_values():
    s = stats.summarize([5.0, 1.0, 4.0, 2.0, 3.0])
    assert s == {"median": 3.0, "min": 1.0, "max": 5.0, "q1": 2.0, "q3": 4.0, "iqr": 2.0}


def test_summarize_interpolates_quartiles_and_handles_one_value():
    s = stats.summarize([1.0, 2.0, 3.0, 4.0])
    assert s["median"] == 2.5 and s["q1"] == 1.75 and s["q3"] == 3.25 and s["iqr"] == 1.5
    assert stats.summarize([0.5]) == {"median": 0.5, "min": 0.5, "max": 0.5, "q1": 0.5, "q3": 0.5,
                                      "iqr": 0.0}


def test_strong_scaling_metrics():
    # T(1) = 4 s, T(2) = 2.5 s: speedup 1.6, efficiency 0.8; ideal T(2) = 2 s.
    assert stats.speedup(4.0, 2.5, 2) == pytest.approx(1.6)
    assert stats.parallel_efficiency(4.0, 2.5, 2) == pytest.approx(0.8)
    assert stats.ideal_time(4.0, 2) == 2.0
    # perfect scaling
    assert stats.parallel_efficiency(8.0, 2.0, 4) == pytest.approx(1.0)


def test_weak_scaling_metrics():
    # The work doubles with P = 2: the same time is perfect, 25% longer is 80% efficiency.
    assert stats.parallel_efficiency(1.0, 1.0, 2, "weak") == 1.0
    assert stats.parallel_efficiency(1.0, 1.25, 2, "weak") == pytest.approx(0.8)
    assert stats.speedup(1.0, 1.25, 2, "weak") == pytest.approx(1.6)
    assert stats.ideal_time(1.0, 4, "weak") == 1.0


def test_hardware_efficiency():
    assert stats.hardware_efficiency(30.0, 2, 20.0) == pytest.approx(0.75)
    assert stats.hardware_efficiency(20.0, 1, 20.0) == 1.0


def record(impl, ranks, median, launch="mpirun", status="ok", m=64, sweeps=("s",), gflops=10.0):
    times = {"median": median, "min": median * 0.9, "max": median * 1.2, "q1": median * 0.95,
             "q3": median * 1.05, "iqr": median * 0.1}
    return {"id": f"{impl}-{launch}-{ranks}-{m}", "label": "x", "status": status, "workload": "matmul",
            "impl": impl, "algorithm": None if impl == "jax_auto" else "summa", "launch": launch,
            "ranks": ranks, "dtype": "float64", "sizes": {"m": m, "k": 64, "n": 64},
            "sweeps": list(sweeps), "time_s": times, "gflops": gflops}


STRONG = {"name": "s", "workload": "matmul", "scaling": "strong"}


def test_scaling_rows_strong():
    records = [record("c_mpi", 1, 4.0), record("c_mpi", 2, 2.5, gflops=30.0),
               record("jax", 1, 3.0, launch="single-process"),
               record("jax", 2, 2.0), record("jax", 2, 1.5, launch="single-process"),
               record("mpi4py", 1, 4.0), record("mpi4py", 2, 1.0, status="failed_check"),
               record("mpi4py", 2, 3.0, sweeps=("other",))]
    rows = {r["id"]: r for r in stats.scaling_rows(records, STRONG, {"float64": 20.0})}
    # a failed check and another sweep's record are no data points
    assert set(rows) == {"c_mpi-mpirun-1-64", "c_mpi-mpirun-2-64", "jax-single-process-1-64",
                         "jax-mpirun-2-64", "jax-single-process-2-64", "mpi4py-mpirun-1-64"}
    c2 = rows["c_mpi-mpirun-2-64"]
    assert c2["baseline_id"] == "c_mpi-mpirun-1-64"
    assert c2["speedup"] == pytest.approx(1.6) and c2["efficiency"] == pytest.approx(0.8)
    assert c2["ideal_time"] == pytest.approx(2.0)
    assert c2["hw_efficiency"] == pytest.approx(30.0 / 40.0)
    # JAX under mpirun has no P = 1 of its own: its baseline is the single-process run
    j2 = rows["jax-mpirun-2-64"]
    assert j2["baseline_id"] == "jax-single-process-1-64" and j2["speedup"] == pytest.approx(1.5)
    assert rows["jax-single-process-2-64"]["efficiency"] == pytest.approx(1.0)
    assert rows["c_mpi-mpirun-1-64"]["speedup"] == 1.0


def test_scaling_rows_weak_matches_the_size_per_rank():
    weak = {"name": "s", "workload": "matmul", "scaling": "weak"}
    records = [record("c_mpi", 1, 1.0, m=64), record("c_mpi", 2, 1.25, m=128),
               record("c_mpi", 2, 0.6, m=64)]  # m = 32 per rank: no P = 1 run of that share
    rows = {r["id"]: r for r in stats.scaling_rows(records, weak, {})}
    scaled = rows["c_mpi-mpirun-2-128"]
    assert scaled["baseline_id"] == "c_mpi-mpirun-1-64"
    assert scaled["efficiency"] == pytest.approx(0.8) and scaled["speedup"] == pytest.approx(1.6)
    assert scaled["ideal_time"] == 1.0
    unmatched = rows["c_mpi-mpirun-2-64"]
    assert unmatched["baseline_id"] is None and unmatched["speedup"] is None
    assert unmatched["hw_efficiency"] is None  # no core rate for its dtype


def test_scaling_rows_without_a_verified_baseline():
    records = [record("c_mpi", 1, 4.0, status="crashed"), record("c_mpi", 2, 2.0)]
    (row,) = stats.scaling_rows(records, STRONG, {"float64": 10.0})
    assert row["speedup"] is None and row["efficiency"] is None and row["ideal_time"] is None
    assert math.isclose(row["hw_efficiency"], 0.5)


def test_alpha_beta_ideal_time_of_each_workload():
    """The α-β ideal by hand: FLOPs at P x the core rate plus the algorithm's messages."""
    from jaxpar import registry

    alpha, beta, rate = 1e-5, 1e-9, 10.0  # s, s/byte, GFLOP/s per core
    ping = {"alpha_s": alpha, "beta_s_per_byte": beta}
    summa = {**record("c_mpi", 4, 1.0), "sizes": {"m": 100, "k": 60, "n": 80}, "grid": [2, 2],
             "panel": 32, "flops": 2.0 * 100 * 60 * 80}
    # 2 panels of K (32 + 28 -> ceil(60 / 32)); each: a broadcast of 50 x 32 doubles over 2 ranks
    # (one round) along the row and of 32 x 40 doubles down the column
    compute = summa["flops"] / (4 * rate * 1e9)
    expected = compute + 2 * ((alpha + 50 * 32 * 8 * beta) + (alpha + 32 * 40 * 8 * beta))
    (row,) = stats.scaling_rows([summa], {**STRONG}, {"float64": rate}, ping)
    assert row["model_time"] == pytest.approx(expected)
    assert row["of_model"] == pytest.approx(expected / 1.0)
    allgather = {**summa, "algorithm": "allgather", "grid": [4, 1]}
    # ring all-gather of B (60 x 80 doubles) over 4 ranks: 3 alpha + 3/4 of the bytes
    assert registry.problem("matmul").ideal_seconds(allgather, rate, CommModel(pingpong=(alpha, beta))) == pytest.approx(
        compute + 3 * alpha + 0.75 * 60 * 80 * 8 * beta)
    sgd = {"ranks": 2, "dtype": "float64", "flops_per_step": 4e6, "allreduce_bytes": 8000}
    # ring all-reduce over 2 ranks: 2 alpha + the bytes once
    assert registry.problem("sgd").ideal_seconds(sgd, rate, CommModel(pingpong=(alpha, beta))) == pytest.approx(
        4e6 / (2 * rate * 1e9) + 2 * alpha + 8000 * beta)
    (no_ping,) = stats.scaling_rows([summa], STRONG, {"float64": rate})
    assert no_ping["model_time"] is None and no_ping["of_model"] is None


def test_fitted_collectives_price_the_collective_each_implementation_issues():
    """Measured collectives of the same transport replace the ping-pong formulas: the JAX
    SUMMA's panel broadcast is priced as the ppermute hop (sendrecv) it is, jax_auto's as
    an all-reduce, C's as MPI_Bcast."""
    from jaxpar import registry
    from jaxpar.harness import alphabeta

    def collective(impl, launch, algorithm, alpha, beta):
        return [{"workload": "collectives", "impl": impl, "launch": launch, "algorithm": algorithm,
                 "ranks": 2, "dtype": "float64", "status": "ok", "sizes": {"bytes": m},
                 "time_s": {"median": alpha + beta * m}} for m in (8, 1024, 1 << 20)]
    fits = alphabeta.fits(collective("c_mpi", "mpirun", "bcast", 5e-6, 1e-10)
                          + collective("c_mpi", "mpirun", "allreduce", 7e-6, 2e-10)
                          + collective("jax", "mpirun", "allreduce", 3e-3, 4e-9)
                          + collective("jax", "mpirun", "sendrecv", 2e-3, 3e-9))
    rate = 10.0
    summa = {**record("c_mpi", 2, 1.0), "sizes": {"m": 64, "k": 64, "n": 64}, "grid": [1, 2],
             "panel": 32, "flops": 2.0 * 64 ** 3, "launch": "mpirun"}
    compute = summa["flops"] / (2 * rate * 1e9)
    a_panel = 64 * 32 * 8   # grid 1 x 2: the A panel goes along the row (2 ranks); B stays
    (c_row,) = stats.scaling_rows([summa], STRONG, {"float64": rate}, None, fits)
    assert c_row["model_source"] == "fit"
    assert c_row["model_time"] == pytest.approx(compute + 2 * (5e-6 + 1e-10 * a_panel))
    jax = {**summa, "id": "j", "impl": "jax"}
    (jax_row,) = stats.scaling_rows([jax], STRONG, {"float64": rate}, None, fits)
    assert jax_row["model_time"] == pytest.approx(compute + 2 * (2e-3 + 3e-9 * a_panel))
    # jax_auto has no collectives row of its own: it is priced with jax's, its transport,
    # as the all-reduce XLA's partitioner emits
    auto = {**jax, "impl": "jax_auto", "algorithm": None}
    assert registry.problem("matmul").comm_seconds(auto, alphabeta.comm_model(auto, fits, None)) \
        == pytest.approx(2 * (3e-3 + 4e-9 * a_panel))
    # no fit of that transport and no ping-pong: no model, not a guess
    single = {**jax, "launch": "single-process"}
    (none_row,) = stats.scaling_rows([single], STRONG, {"float64": rate}, None, fits)
    assert none_row["model_time"] is None
