"""The attribution of measured time (jaxpar/harness/attribution.py), the local work it
prices (Problem.local_work) and the report's sentences and plot built from it."""
import math

import matplotlib.image as mpimg
import numpy as np
import pytest

from jaxpar import registry
from jaxpar.core.costmodel import CommModel
from jaxpar.core.layout import block_lo
from jaxpar.harness import attribution, report
from jaxpar.workloads.matmul.problem import PROBLEM as MATMUL
from jaxpar.workloads.matmul.problem import summa_panel_widths
from jaxpar.workloads.sgd.problem import PROBLEM as SGD

# a ping-pong of 10 ms latency and infinite bandwidth: every message costs alpha per step
PINGPONG = {"alpha_s": 0.01, "beta_s_per_byte": 0.0}


def matmul_record(impl, measured, local, *, launch="mpirun", transport="mpi", algorithm="summa"):
    """A verified 4x4x4 matmul record at P = 2 (grid 1 x 2, panel 2: two panels)."""
    return {"id": f"{impl}-{launch}", "status": "ok", "workload": "matmul", "impl": impl,
            "algorithm": algorithm, "launch": launch, "transport": transport, "ranks": 2,
            "grid": [1, 2], "dtype": "float64", "sizes": {"m": 4, "k": 4, "n": 4}, "panel": 2,
            "details": {}, "pinned": True, "time_s": {"median": measured}, "local_s": local,
            "local_kernel": registry.entry("matmul", impl).kernel_library}


# ---------------------------------------------------------------- split

def test_split_sums_to_the_measured_time():
    record = matmul_record("c_mpi", measured=1.0, local=0.5)
    comm = MATMUL.comm_seconds(record, CommModel({}, (0.01, 0.0)))
    assert comm == pytest.approx(0.02)  # two panels, one broadcast over 2 ranks each
    parts = attribution.split(record, MATMUL, CommModel({}, (0.01, 0.0)))
    assert parts["local"] == 0.5 and parts["comm"] == comm
    assert parts["local"] + parts["comm"] + parts["rest"] == pytest.approx(parts["measured"], abs=1e-15)
    assert parts["rest"] == pytest.approx(0.48)
    assert parts["model"] == pytest.approx(0.52) and parts["of_model"] == pytest.approx(1.0 / 0.52)


def test_split_with_overlap_has_a_negative_rest():
    record = matmul_record("c_mpi", measured=0.5, local=0.49)  # comm 0.02 overlapped
    parts = attribution.split(record, MATMUL, CommModel({}, (0.01, 0.0)))
    assert parts["rest"] == pytest.approx(-0.01) and parts["rest"] < 0
    assert parts["local"] + parts["comm"] + parts["rest"] == pytest.approx(0.5, abs=1e-15)
    assert parts["of_model"] == pytest.approx(0.5 / 0.51)


def test_split_without_a_price_for_the_communication():
    parts = attribution.split(matmul_record("c_mpi", 1.0, 0.5), MATMUL, CommModel({}, None))
    assert parts["local"] == 0.5 and parts["comm"] is parts["rest"] is parts["of_model"] is None


def test_rows_skip_failures_records_without_local_time_and_ladders():
    records = [matmul_record("c_mpi", 1.0, 0.5), {**matmul_record("mpi4py", 1.0, 0.5), "status": "failed_check"},
               {**matmul_record("jax", 1.0, None)},
               {"status": "ok", "workload": "collectives", "local_s": 0.1}]
    rows = attribution.rows(records, {}, PINGPONG)
    assert [r["impl"] for r in rows] == ["c_mpi"] and rows[0]["comm_source"] == "ping-pong"


# ---------------------------------------------------------------- local work

def c_panel_widths(k, grid, panel):
    """c_mpi.c's panel_from(), step by step: from k0, up to `panel` columns, cut at the next
    block edge of A's columns (over pc) and of B's rows (over pr)."""
    pr, pc = grid
    wmax = min(panel, max(block_lo(k, pc, i + 1) - block_lo(k, pc, i) for i in range(pc)),
               max(block_lo(k, pr, i + 1) - block_lo(k, pr, i) for i in range(pr)))
    widths, k0 = [], 0
    while k0 < k:
        next_edge = min(next(block_lo(k, parts, i + 1) for i in range(parts) if block_lo(k, parts, i + 1) > k0)
                        for parts in (pc, pr))
        width = min(k0 + wmax, next_edge) - k0
        widths.append(width)
        k0 += width
    return widths


@pytest.mark.parametrize("k", [1, 2, 5, 7, 16, 37])
@pytest.mark.parametrize("grid", [(1, 1), (1, 2), (2, 2), (1, 3), (2, 3), (3, 4)])
@pytest.mark.parametrize("panel", [1, 2, 3, 8, 100])
def test_summa_panel_widths_are_c_mpis(k, grid, panel):
    assert summa_panel_widths(k, grid, panel) == c_panel_widths(k, grid, panel)
    assert sum(summa_panel_widths(k, grid, panel)) == k


def matmul_work(impl, algorithm, ranks, grid, details=None, sizes=(10, 7, 9), panel=2):
    record = {"impl": impl, "algorithm": algorithm, "ranks": ranks, "grid": grid, "panel": panel,
              "sizes": dict(zip("mkn", sizes)), "details": details or {}}
    return MATMUL.local_work(record)


def test_matmul_local_work_summa_uneven_blocks():
    # P = 6, grid 2 x 3: K = 7 cut at 3 (rows of B) and 2, 4 (columns of A): pieces 2, 1, 1, 3;
    # panels of 2: 2 | 1 | 1 | 2, 1. The busiest rank has ceil(10/2) x ceil(9/3) of C.
    assert matmul_work("c_mpi", "summa", 6, [2, 3], {"panel": 2, "lookahead": 1}) == [
        ("gemm", 5, 2, 3, 2), ("gemm", 5, 1, 3, 3)]
    # mpi4py records no panel: the record's panel; at P = 1 one block, K in panels of 2
    assert matmul_work("mpi4py", "summa", 1, [1, 1]) == [("gemm", 10, 2, 9, 3), ("gemm", 10, 1, 9, 1)]
    assert matmul_work("jax_mpi4jax", "summa_allreduce", 4, [2, 2], {"panel": 2}) == [
        ("gemm", 5, 2, 5, 3), ("gemm", 5, 1, 5, 1)]


def test_matmul_local_work_uses_the_recorded_panel_and_padded_shape():
    # jax pads K to whole panels of the width it chose (recorded), M and N to the grid
    details = {"panel": 4, "padded_shape": [10, 8, 10], "devices": 4}
    assert matmul_work("jax", "summa", 4, [2, 2], details, panel=256) == [("gemm", 5, 4, 5, 2)]
    assert matmul_work("jax_pmap", "summa", 2, [1, 2], {"panel": 2, "padded_shape": [10, 8, 10]}) == [
        ("gemm", 10, 2, 5, 4)]


def test_matmul_local_work_allgather_and_jax_auto():
    assert matmul_work("c_mpi", "allgather", 4, [4, 1]) == [("gemm", 3, 7, 9, 1)]
    assert matmul_work("jax", "allgather", 4, [4, 1], {"padded_shape": [12, 8, 9]}) == [("gemm", 3, 8, 9, 1)]
    # XLA partitions jax_auto itself: priced as the 1-D split, whatever it recorded
    assert matmul_work("jax_auto", None, 4, [2, 2], {"padded_shape": [10, 8, 10]}) == [("gemm", 3, 7, 9, 1)]
    assert matmul_work("jax_auto", None, 1, [1, 1]) == [("gemm", 10, 7, 9, 1)]


@pytest.mark.parametrize("ranks,rows", [(1, 10), (2, 5), (3, 4), (4, 3)])
def test_sgd_local_work_per_step(ranks, rows):
    record = {"ranks": ranks, "sizes": {"n": 64, "d_in": 5, "hidden": 7, "d_out": 3, "batch": 10, "steps": 4}}
    assert SGD.local_work(record) == [("gemm", rows, 5, 7, 1), ("gemm", rows, 7, 3, 1),
                                      ("gemm", 7, rows, 3, 1), ("gemm", rows, 3, 7, 1),
                                      ("gemm", 5, rows, 7, 1), ("tanh", rows * 7, 1)]
    # the gemms are the FLOPs the record counts, split over P (exactly where P divides B)
    flops = sum(2 * m * k * n * count for kind, m, k, n, count in SGD.local_work(record)[:5])
    if 10 % ranks == 0:
        assert flops * ranks == 4 * 10 * 5 * 7 + 6 * 10 * 7 * 3


def test_collectives_have_no_local_work():
    record = {"ranks": 2, "sizes": {"bytes": 8}, "algorithm": "allreduce", "impl": "c_mpi"}
    assert registry.problem("collectives").local_work(record) == []


def test_every_entry_names_a_probed_library():
    for e in registry.ENTRIES:
        assert e.kernel_library in registry.KERNEL_LIBRARIES, e
        assert (e.kernel_library == "xla") == (e.runtime in registry.JAX_RUNTIMES), e


# ---------------------------------------------------------------- report

def test_gap_sentences_split_the_gap_into_points():
    records = [matmul_record("c_mpi", measured=1.0, local=0.5),
               matmul_record("jax", measured=1.36, local=0.68, transport="gloo"),
               matmul_record("mpi4py", measured=0.9, local=0.45)]
    rows = attribution.rows(records, {}, PINGPONG)
    comm = {r["impl"]: r["comm"] for r in rows}
    # c_mpi broadcasts each of the 2 panels over 2 ranks (alpha each); jax passes each
    # panel one ppermute hop (alpha each): the same transport cost in this model
    assert comm["c_mpi"] == pytest.approx(0.02) and comm["jax"] == pytest.approx(0.02)
    assert comm["mpi4py"] == pytest.approx(0.02)
    assert report.gap_sentences(rows) == [  # in the registry's order of implementations
        "mpi4py's 10% lead over C/MPI in matmul (summa, P = 2, float64, 4x4x4; mpirun, mpi) is 5 points "
        "of local kernel, 0 of transport and 5 of overhead.",
        "jax's 36% gap to C/MPI in matmul (summa, P = 2, float64, 4x4x4; mpirun, gloo) is 18 points "
        "of local kernel, 0 of transport and 18 of overhead."]
    g = attribution.gap(next(r for r in rows if r["impl"] == "jax"), rows[0])
    assert g["local"] + g["comm"] + g["rest"] == pytest.approx(g["gap"])


def test_gap_sentences_compare_only_the_same_configuration():
    records = [matmul_record("c_mpi", 1.0, 0.5, algorithm="allgather"),
               matmul_record("jax", 1.2, 0.5, transport="gloo", algorithm="summa"),  # c_mpi's summa missing
               {**matmul_record("jax_auto", 2.0, 1.0, transport="gloo", algorithm=None), "id": "auto"},
               {**matmul_record("c_mpi", 1.0, 0.5), "id": "c-summa", "dtype": "float32"}]
    sentences = report.gap_sentences(attribution.rows(records, {}, PINGPONG))
    assert sentences == []  # jax_auto falls back to c_mpi's summa, which ran only in float32
    records[3]["dtype"] = "float64"
    sentences = report.gap_sentences(attribution.rows(records, {}, PINGPONG))
    assert len(sentences) == 2 and sentences[1].startswith("jax's 20% gap to C/MPI in matmul (summa, P = 2")
    assert sentences[0].startswith("jax_auto's 100% gap to C/MPI in matmul (no algorithm against "
                                   "c_mpi's summa, P = 2")


def test_attribution_plot_draws_a_negative_rest(tmp_path):
    records = [matmul_record("c_mpi", measured=1.0, local=0.5),
               matmul_record("mpi4py", measured=0.5, local=0.49)]  # rest -0.01
    rows = attribution.rows(records, {}, PINGPONG)
    assert min(r["rest"] for r in rows) < 0
    stem = report.plot_attribution("matmul", rows, tmp_path)
    image = mpimg.imread(tmp_path / f"{stem}.png")
    assert image.ndim == 3 and float(np.var(image[..., :3])) > 1e-3
    assert "<svg" in (tmp_path / f"{stem}.svg").read_text()[:2000]
    table = report.attribution_table("matmul", rows)
    assert [row[9] for row in table.rows] == ["480 ms (48%)", "-10 ms (-2%)"]
    assert not math.isnan(sum(r["of_model"] for r in rows))
