"""The standalone C executable and the per-rank runner, launched with mpirun."""
import json
import sys

import pytest

from conftest import executable, last_json_line, run_mpi


@pytest.mark.parametrize("ranks", [1, 2, 3])
@pytest.mark.parametrize("extra", [[], ["--algorithm", "allgather"], ["--dtype", "float32"],
                                   ["--panel", "3"]])
def test_standalone_matmul_validates(ranks, extra):
    result = run_mpi(ranks, [executable("jaxpar-matmul"), 37, 23, 41, "--repeats", 2] + extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Solution validates" in result.stdout
    rate = [line for line in result.stdout.splitlines() if line.startswith("Rate (GFLOP/s):")]
    assert len(rate) == 1 and float(rate[0].split()[2]) > 0


@pytest.mark.parametrize("args", [["0", "4", "4"], ["4", "-2", "4"], ["4", "4"], ["4", "4", "x"],
                                  ["4", "4", "4", "--algorithm", "cannon"],
                                  ["4", "4", "4", "--dtype", "int8"], ["4", "4", "4", "--repeats", "0"]])
def test_standalone_matmul_rejects_bad_arguments(args):
    result = run_mpi(2, [executable("jaxpar-matmul")] + args, timeout=60)
    assert result.returncode == 2
    assert "invalid arguments" in result.stderr and "usage:" in result.stderr


RUNNER = [sys.executable, "-m", "jaxpar.run", "matmul"]


@pytest.mark.parametrize("impl,algorithm", [("c_mpi", "summa"), ("c_mpi", "allgather"),
                                            ("mpi4py", "summa"), ("jax", "summa"),
                                            ("jax_pmap", "allgather"), ("jax_auto", None)])
def test_runner_prints_a_verified_record(impl, algorithm, tmp_path):
    out = tmp_path / "records.jsonl"
    args = RUNNER + ["--impl", impl, "--m", 30, "--k", 20, "--n", 10, "--repeats", 3,
                     "--output", out]
    if algorithm:
        args += ["--algorithm", algorithm]
    result = run_mpi(2, args)
    assert result.returncode == 0, result.stderr
    record = last_json_line(result.stdout)
    assert record == json.loads(out.read_text().splitlines()[-1])
    assert record["workload"] == "matmul" and record["impl"] == impl
    assert record["ranks"] == 2 and record["processes"] == 2 and record["launch"] == "mpirun"
    assert record["sizes"] == {"m": 30, "k": 20, "n": 10}
    assert record["verified"] is True and record["max_rel_error"] <= 1e-10
    assert len(record["times_s"]) == 3 and all(t > 0 for t in record["times_s"])
    assert record["time_s"]["min"] <= record["time_s"]["median"] <= record["time_s"]["max"]
    assert record["gflops"] == pytest.approx(2 * 30 * 20 * 10 / record["time_s"]["median"] / 1e9)
    assert (record["compile_s"] is not None) == impl.startswith("jax")
    pins = record["pinning"]["per_rank"]
    assert [p["threads"] for p in pins] == [1, 1]
    assert len({tuple(p["cores"]) for p in pins}) == 2  # two ranks, two different cores
    assert record["environment"]["mpi_library"].startswith(("MPICH", "Open MPI", "Intel"))


def test_runner_single_process_jax_devices():
    result = run_mpi(1, RUNNER + ["--impl", "jax", "--devices", 2, "--m", 9, "--k", 8,
                                  "--n", 7, "--dtype", "float32"])
    assert result.returncode == 0, result.stderr
    record = last_json_line(result.stdout)
    assert record["launch"] == "single-process" and record["ranks"] == 2
    assert record["processes"] == 1 and record["grid"] == [1, 2]
    assert record["pinning"]["per_rank"][0]["threads"] == 2
    assert record["verified"] and record["max_rel_error"] <= 1e-4


@pytest.mark.parametrize("args,message", [
    (["--impl", "fortran", "--m", 3, "--k", 3, "--n", 3], "unknown implementation"),
    (["--impl", "c_mpi", "--algorithm", "cannon", "--m", 3, "--k", 3, "--n", 3], "unknown algorithm"),
    (["--impl", "c_mpi", "--m", 0, "--k", 3, "--n", 3], "must be a positive integer"),
    (["--impl", "c_mpi", "--m", -4, "--k", 3, "--n", 3], "must be a positive integer"),
    (["--impl", "jax_auto", "--algorithm", "summa", "--m", 3, "--k", 3, "--n", 3], "takes no algorithm"),
    (["--impl", "jax", "--devices", 3, "--m", 3, "--k", 3, "--n", 3], "each process contributes one device"),
    (["--impl", "c_mpi", "--m", 3, "--k", 3], "required"),
])
def test_runner_rejects_bad_input_without_hanging(args, message):
    result = run_mpi(2, RUNNER + args, timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert result.stderr.count(message) == 1  # reported once, by rank 0
