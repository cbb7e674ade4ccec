"""The jax_mpi4jax implementations from the command line: `python -m jaxpar.run` under
mpirun, one process and one JAX device per rank, MPI inside the jitted program."""
import json
import statistics
import sys

import pytest

from conftest import last_json_line, run_mpi

RUNNER = [sys.executable, "-m", "jaxpar.run"]


def verified_record(ranks, args, tmp_path):
    out = tmp_path / "records.jsonl"
    result = run_mpi(ranks, RUNNER + args + ["--output", out])
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    record = last_json_line(result.stdout)
    assert record == json.loads(out.read_text().splitlines()[-1])
    assert record["impl"] == "jax_mpi4jax" and record["transport"] == "mpi4jax"
    assert record["ranks"] == record["processes"] == ranks and record["launch"] == "mpirun"
    assert record["verified"] is True
    assert record["compile_s"] is not None and record["compile_s"] > 0
    assert record["details"]["devices"] == 1  # one JAX device per rank
    assert all(t > 0 for t in record["times_s"])
    return record


@pytest.mark.parametrize("ranks,algorithm", [(2, "summa"), (2, "summa_allreduce"), (2, "allgather"),
                                             (3, "summa"), (4, "summa_allreduce")])
def test_matmul_runner_prints_a_verified_record(ranks, algorithm, tmp_path):
    # 31 x 23 x 10: uneven blocks on every grid; panel 3 cuts K into panels at block edges.
    record = verified_record(ranks, ["matmul", "--impl", "jax_mpi4jax", "--algorithm", algorithm,
                                     "--m", 31, "--k", 23, "--n", 10, "--panel", 3,
                                     "--repeats", 2], tmp_path)
    assert record["algorithm"] == algorithm and record["sizes"] == {"m": 31, "k": 23, "n": 10}
    assert record["max_rel_error"] <= 1e-10
    assert record["grid"] == ([ranks, 1] if algorithm == "allgather" else
                              {2: [1, 2], 3: [1, 3], 4: [2, 2]}[ranks])
    assert record["panel"] == (None if algorithm == "allgather" else 3)


@pytest.mark.parametrize("dtype,tolerance", [("float64", 1e-9), ("float32", 1e-4)])
def test_sgd_runner_prints_a_verified_record(dtype, tolerance, tmp_path):
    # B = 30 over 2 ranks, 12 steps that wrap past n = 64.
    record = verified_record(2, ["sgd", "--impl", "jax_mpi4jax", "--n", 64, "--d-in", 8,
                                 "--hidden", 16, "--d-out", 2, "--batch", 30, "--steps", 12,
                                 "--repeats", 2, "--dtype", dtype], tmp_path)
    assert record["tolerance"] == tolerance
    assert max(record["max_rel_error_params"], record["max_rel_error_losses"]) <= tolerance
    assert len(record["losses"]) == 12 and record["final_loss"] == record["losses"][-1]
    assert record["details"]["batch_rows"] == [15, 15]
    step = record["time_per_step_s"]
    assert step["median"] == pytest.approx(statistics.median(record["times_s"]) / 12)
