"""Peak memory per rank: the runner's window around the repeats (jaxpar/rank/memory.py),
the record it writes under mpirun and in one JAX process, XLA's memory analysis kept by
jaxpar.core.jaxenv, and the report's table (jaxpar/harness/report/)."""
import sys

import jsonschema
import numpy as np
import pytest

from conftest import last_json_line, run_mpi

from jaxpar.harness import report
from jaxpar.rank import memory
from jaxpar.harness.schema import record_schema

MiB = 2 ** 20


def test_window_sees_an_allocation_and_resets_between_windows():
    window = memory.Window().start()
    block = np.ones(64 * MiB // 8)  # touched: 64 MiB resident
    first = window.stop()
    assert first["method"] == memory.PROC
    assert first["peak_rss_run_bytes"] - first["rss_before_run_bytes"] >= 60 * MiB
    assert first["rss_after_run_bytes"] - first["rss_before_run_bytes"] >= 60 * MiB
    del block
    second = memory.Window().start().stop()  # nothing allocated: the old peak must not count
    assert second["method"] == memory.PROC
    assert second["peak_rss_run_bytes"] - second["rss_before_run_bytes"] < 16 * MiB
    assert second["peak_rss_run_bytes"] < first["peak_rss_run_bytes"] - 40 * MiB
    assert second["peak_rss_process_bytes"] >= first["peak_rss_run_bytes"]  # survives the reset


def test_window_falls_back_to_getrusage(tmp_path):
    # the reset refused (no clear_refs to write): the process's peak, an upper bound
    unreset = memory.Window(clear_refs=tmp_path / "none" / "clear_refs").start().stop()
    assert unreset["method"] == memory.RUSAGE
    assert unreset["peak_rss_run_bytes"] == unreset["peak_rss_process_bytes"] >= unreset["rss_before_run_bytes"] > 0
    # no /proc at all: no RSS before the run either
    blind = memory.Window(status=tmp_path / "status").start().stop()
    assert blind["method"] == memory.RUSAGE and blind["rss_before_run_bytes"] is None
    assert blind["rss_after_run_bytes"] is None and blind["peak_rss_run_bytes"] >= 10 * MiB
    summary = memory.record([blind, unreset], 1, None, [None, None])
    assert summary["method"] == memory.RUSAGE and summary["max_run_growth_bytes"] is None


def check_memory(record, processes, devices_per_process):
    """The record's memory fields: per process, positive, peak >= before; valid schema."""
    schema = record_schema()
    for part in ("memory", "details"):
        jsonschema.validate(record[part], {**schema["properties"][part], "$defs": schema["$defs"]})
    m = record["memory"]
    assert m["method"] == memory.PROC and len(m["per_rank"]) == processes
    for rank in m["per_rank"]:
        assert rank["rss_before_run_bytes"] > 10 * MiB
        assert rank["peak_rss_run_bytes"] >= rank["rss_before_run_bytes"]
        assert rank["peak_rss_run_bytes"] >= rank["rss_after_run_bytes"] > 0
        assert rank["peak_rss_process_bytes"] >= rank["peak_rss_run_bytes"]
    assert m["max_peak_rss_run_bytes"] == max(r["peak_rss_run_bytes"] for r in m["per_rank"])
    assert m["max_run_growth_bytes"] == max(r["peak_rss_run_bytes"] - r["rss_before_run_bytes"]
                                            for r in m["per_rank"])
    assert m["devices_per_process"] == devices_per_process
    assert m["min_bytes_per_rank"] is None  # matmul and sgd give no minimum
    assert m["xla_device_stats"] is None    # CPU devices report none


def check_xla_memory(record):
    xla = record["details"]["xla_memory"]
    assert set(xla) >= {"argument_size_in_bytes", "output_size_in_bytes", "alias_size_in_bytes",
                        "temp_size_in_bytes", "generated_code_size_in_bytes"}
    assert all(isinstance(v, int) and v >= 0 for v in xla.values())
    return xla


RUNNER = [sys.executable, "-m", "jaxpar.run"]
MATMUL = RUNNER + ["matmul", "--m", 64, "--k", 48, "--n", 32, "--repeats", 2, "--no-local-probe"]
SGD = RUNNER + ["sgd", "--n", 256, "--d-in", 8, "--hidden", 16, "--d-out", 2, "--batch", 30,
                "--steps", 4, "--repeats", 2, "--no-local-probe"]


@pytest.mark.parametrize("command", [MATMUL + ["--impl", "c_mpi"], SGD + ["--impl", "mpi4py"]],
                         ids=["matmul-c_mpi", "sgd-mpi4py"])
def test_runner_records_memory_per_rank_under_mpirun(command):
    result = run_mpi(2, command, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    record = last_json_line(result.stdout)
    assert record["schema_version"] >= 4  # the version that added memory
    check_memory(record, processes=2, devices_per_process=1)
    assert "xla_memory" not in record["details"]  # no JAX in a C or numpy run


def test_single_process_jax_records_xla_memory_per_device():
    # one process holding both devices; XLA's analysis is of one device's program
    result = run_mpi(1, MATMUL + ["--impl", "jax", "--algorithm", "allgather", "--devices", 2],
                     timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    record = last_json_line(result.stdout)
    check_memory(record, processes=1, devices_per_process=2)
    xla = check_xla_memory(record)
    # allgather on 2 devices: A's 32 rows and B's 24 rows in, 32 rows of C out (float64)
    assert xla["argument_size_in_bytes"] == 8 * (32 * 48 + 24 * 32)
    assert xla["output_size_in_bytes"] == 8 * 32 * 32 and xla["alias_size_in_bytes"] == 0


def test_jaxenv_hands_each_compile_to_one_prepared_run():
    import jax
    from mpi4py import MPI

    from jaxpar.core import jaxenv
    from jaxpar.core.prepared import PreparedRun

    comm = MPI.COMM_WORLD
    x = jax.numpy.ones((256, 128), dtype=jax.numpy.float32)
    compiled, _ = jaxenv.compile_timed(jax.jit(lambda a: (a @ a.T).sum(axis=0)), (x,), comm)
    prepared = lambda: jaxenv.scoped(PreparedRun(run=compiled, gather=lambda o: o, ranks=1, grid=None,
                                                 launch="single-process", details={"devices": 1}))
    first = prepared().details
    assert first["devices"] == 1
    assert first["xla_memory"]["argument_size_in_bytes"] == 256 * 128 * 4
    assert first["xla_memory"]["output_size_in_bytes"] == 256 * 4
    assert prepared().details["xla_memory"] is None  # taken by the first: never a stale one
    # a framework compiling inside its own loop (Keras's fit) leaves none, even after a
    # compile_timed whose PreparedRun never came (a prepare() that failed)
    jaxenv.compile_timed(jax.jit(lambda a: a + 1), (x,), comm)
    jaxenv.compile_seconds_during(lambda: jax.jit(lambda a: a * 3)(x).block_until_ready(), comm)
    assert prepared().details["xla_memory"] is None


# ---------------------------------------------------------------- the report's table

def memory_record(impl, launch="mpirun", ranks=2, peak=300 * MiB, before=280 * MiB, method="proc_clear_refs",
                  devices=1, minimum=None, xla=None, workload="matmul", sizes=None, status="ok",
                  algorithm="summa"):
    per_rank = [{"method": method, "rss_before_run_bytes": before, "peak_rss_run_bytes": peak,
                 "rss_after_run_bytes": before, "peak_rss_process_bytes": peak}] * (ranks // devices)
    details = {} if xla is None else {"xla_memory": xla}
    return {"status": status, "workload": workload, "impl": impl, "algorithm": algorithm,
            "launch": launch, "ranks": ranks, "dtype": "float64",
            "sizes": sizes or {"m": 64, "k": 64, "n": 64}, "details": details,
            "memory": memory.record(per_rank, devices, minimum, [None] * len(per_rank))}


XLA = {"argument_size_in_bytes": 2 * MiB, "output_size_in_bytes": MiB, "alias_size_in_bytes": MiB // 2,
       "temp_size_in_bytes": 3 * MiB, "generated_code_size_in_bytes": 0}


def test_memory_table_from_records():
    stencil = {"n": 1024, "radius": 2, "iterations": 10}
    records = [
        memory_record("c_mpi", workload="stencil", sizes=stencil, algorithm=None, minimum=10 * MiB,
                      peak=60 * MiB, before=50 * MiB),
        memory_record("jax", launch="single-process", devices=2, workload="stencil", sizes=stencil,
                      algorithm=None, minimum=10 * MiB, peak=500 * MiB, before=380 * MiB, xla=XLA),
        memory_record("mpi4py", workload="stencil", sizes=stencil, algorithm=None, minimum=10 * MiB,
                      method="getrusage", peak=90 * MiB, before=70 * MiB),
        memory_record("jax_pmap", workload="stencil", sizes=stencil, algorithm=None, minimum=10 * MiB,
                      status="failed_check", xla=XLA),
        {**memory_record("jax_auto", workload="stencil", sizes=stencil, algorithm=None), "memory": None},
        memory_record("c_mpi"),  # another workload
    ]
    table = report.memory_table("stencil", records)
    rows = {row[0]: dict(zip(table.header, row)) for row in table.rows}
    assert set(rows) == {"c_mpi", "jax", "mpi4py"}  # verified runs with a memory record only
    c, jax_row, numpy_row = rows["c_mpi"], rows["jax"], rows["mpi4py"]
    assert (c["peak RSS"], c["growth"], c["minimum"], c["peak / min"]) == ("60 MiB", "10 MiB", "10 MiB", "6")
    assert c["XLA temp"] == c["XLA args + outputs"] == "—" and c["alg."] == "—"
    # one process, two devices: the minimum is twice one device's; XLA per device, alias once
    assert jax_row["launch"] == "single-process" and jax_row["P"] == 2
    assert (jax_row["peak RSS"], jax_row["growth"]) == ("500 MiB", "120 MiB")
    assert (jax_row["minimum"], jax_row["peak / min"]) == ("2 x 10 MiB", "25")
    assert (jax_row["XLA temp"], jax_row["XLA args + outputs"]) == ("3 MiB", "2.5 MiB")
    # no reset of the high-water mark: an upper bound, marked
    assert (numpy_row["peak RSS"], numpy_row["growth"], numpy_row["peak / min"]) == ("≤ 90 MiB", "≤ 20 MiB", "≤ 9")
    assert "min_memory_bytes" in table.note and "P x" in table.note


def test_memory_section_keeps_each_ladder_series_at_its_largest_size():
    records = [memory_record("c_mpi", workload="collectives", algorithm="allreduce", sizes={"bytes": b},
                             peak=(100 + b // MiB) * MiB) for b in (8, 4 * MiB, MiB)]
    records.append(memory_record("c_mpi", algorithm="summa", peak=200 * MiB))
    md, tables = report.memory_section(["matmul", "collectives"], records)
    assert [t.title for t in tables] == ["matmul: peak memory per rank", "collectives: peak memory per rank"]
    ladder = tables[1]
    assert len(ladder.rows) == 1 and ladder.rows[0][6] == "104 MiB" and ladder.rows[0][8] == "—"
    text = "\n".join(md)
    assert text.startswith("## Peak memory per rank") and "### collectives" in text
    assert "largest bytes only" in text and "| 200 MiB |" in text
    assert report.memory_section(["matmul"], [{**records[-1], "memory": None}]) == ([], [])


def test_fmt_bytes():
    assert report.fmt_bytes(None) == "—" and report.fmt_bytes(512) == "512 B"
    assert report.fmt_bytes(1536) == "1.5 KiB" and report.fmt_bytes(3 * 2 ** 30, "≤ ") == "≤ 3 GiB"
