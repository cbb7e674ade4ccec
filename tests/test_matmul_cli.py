"""The standalone C executable and the per-rank runner, launched with mpirun."""
import json
import os
import re
import resource
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


def test_standalone_matmul_help():
    result = run_mpi(2, [executable("jaxpar-matmul"), "--help"], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("usage: jaxpar-matmul M K N") == 1  # printed once, by rank 0
    assert result.stderr == ""


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("algorithm", ["summa", "allgather"])
@pytest.mark.parametrize("m,k,n", [(5, 1, 1), (1, 1, 1), (3, 7, 1), (1, 1, 4), (2, 3, 5)])
def test_standalone_matmul_checksum_is_never_zero(ranks, algorithm, m, k, n):
    # A(i,j) = B(i,j) = j + 1 (0-based): sum(C) = M K(K+1)/2 N(N+1)/2 > 0 at every
    # shape, so an all-zero (or otherwise wrong) C cannot validate; with A(i,j) = j
    # it was 0 whenever K or N was 1.
    result = run_mpi(ranks, [executable("jaxpar-matmul"), m, k, n, "--repeats", 1,
                             "--algorithm", algorithm], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    checksum = re.search(r"Solution validates: checksum (\S+),", result.stdout)
    assert checksum, result.stdout
    assert float(checksum.group(1)) == m * (k * (k + 1) // 2) * (n * (n + 1) // 2) > 0


@pytest.mark.parametrize("extra", [[], ["--algorithm", "allgather"], ["--dtype", "float32"]])
def test_standalone_matmul_panel_wider_than_k(extra):
    # Was "double free or corruption": a panel wider than K is one panel of K.
    result = run_mpi(2, [executable("jaxpar-matmul"), 64, 64, 64, "--panel", 2 ** 61,
                         "--repeats", 1] + extra, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Solution validates" in result.stdout


PHYSICAL_MEMORY = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGESIZE")


@pytest.mark.parametrize("ranks,args,message", [
    (1, [2 ** 61, 1, 1], "overflow a 64-bit count"),  # was a segfault
    (2, [64, 64, 2 ** 61], "overflow a 64-bit count"),
    (2, [1, 2 ** 61, 1, "--algorithm", "allgather"], "overflow a 64-bit count"),
    (2, [2 ** 62, 2 ** 62, 2 ** 62], "overflow a 64-bit count"),
    (2, [200000, 200000, 200000], f"more than the {PHYSICAL_MEMORY} bytes of physical memory"),
    (1, [1, 2 ** 20, 2 ** 20, "--algorithm", "allgather"],
     f"more than the {PHYSICAL_MEMORY} bytes of physical memory"),
])
def test_standalone_matmul_refuses_sizes_before_allocating(ranks, args, message):
    result = run_mpi(ranks, [executable("jaxpar-matmul")] + args, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count(message) == 1, result.stderr  # reported once, by rank 0
    if "physical memory" in message:
        assert re.search(r"needs \d+ bytes per rank", result.stderr)
    assert "Solution" not in result.stdout


def limit_address_space(limit):
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_standalone_matmul_kernel_out_of_memory_says_so():
    # Each rank holds half of B (512 MiB) and the kernel gathers all of it (1 GiB):
    # within physical memory, but not within a 1.2 GB address space per process.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    result = run_mpi(2, [executable("jaxpar-matmul"), 1, 16384, 8192, "--algorithm", "allgather",
                         "--repeats", 1], timeout=120, env=env,
                     preexec_fn=limit_address_space(1_200_000_000))
    # Every rank failed alike, so no MPI_Abort: it may lose what the ranks printed.
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.count("kernel failed: out of memory") == 1, result.stderr  # rank 0
    assert "MPI_Alloc_mem" not in result.stderr
    assert "Abort" not in result.stderr


RUNNER = [sys.executable, "-m", "jaxpar.run", "matmul"]


def test_runner_times_several_algorithms_in_one_launch(tmp_path):
    out = tmp_path / "records.jsonl"
    result = run_mpi(2, RUNNER + ["--impl", "c_mpi", "--algorithm", "summa", "allgather", "--m", 30,
                                  "--k", 20, "--n", 10, "--repeats", 2, "--output", out])
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["algorithm"] for r in records] == ["summa", "allgather"]
    assert all(r["verified"] and len(r["times_s"]) == 2 for r in records)


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
