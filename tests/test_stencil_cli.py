"""The stencil workload from the command line: the jaxpar-stencil executable (PRK's
MPI1 Stencil driver) and `python -m jaxpar.run stencil`, each under its own mpirun."""
import json
import os
import statistics
import sys

import pytest

from conftest import executable, last_json_line, run_mpi

RUNNER = [sys.executable, "-m", "jaxpar.run", "stencil"]


def rates(stdout):
    """(MFlops/s, avg time, GB/s) from PRK's rate line and the bandwidth line."""
    prk = [line.split() for line in stdout.splitlines() if line.startswith("Rate (MFlops/s):")]
    gbs = [line.split() for line in stdout.splitlines() if line.startswith("Rate (GB/s):")]
    assert len(prk) == 1 and len(gbs) == 1, stdout  # printed once, by rank 0
    return float(prk[0][2]), float(prk[0][6]), float(gbs[0][2])


@pytest.mark.parametrize("ranks", [1, 2, 3])
@pytest.mark.parametrize("args", [
    [10, 50],                                # PRK's default radius 2
    [4, 47, "--dtype", "float32"],           # a prime N: uneven blocks
    [3, 53, "--radius", 3],
    [5, 41, "--radius", 1, "--dtype", "float32"],
])
def test_standalone_stencil_validates(ranks, args):
    result = run_mpi(ranks, [executable("jaxpar-stencil"), *args], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("Solution validates") == 1
    mflops, avg, gbs = rates(result.stdout)
    assert mflops > 0 and avg >= 0 and gbs > 0
    # Both rates from one time: their ratio is PRK's flop count against the bytes
    # moved, IN (N^2) and OUT ((N - 2R)^2) each read and written once.
    n, radius = args[1], args[args.index("--radius") + 1] if "--radius" in args else 2
    elem = 4 if "float32" in args else 8
    active = (n - 2 * radius) ** 2
    flops, nbytes = (2 * (4 * radius + 1) + 1) * active, elem * (2 * n * n + 2 * active)
    assert gbs / mflops == pytest.approx(1e-3 * nbytes / flops, rel=1e-3)


@pytest.mark.parametrize("ranks,args,message", [
    (2, [3, 10, "--radius", 0], "--radius must be a positive integer"),
    (2, [3, 10, "--radius", -1], "--radius must be a positive integer"),
    (2, [3, 4], "N=4 must exceed 2 x radius = 4"),
    (1, [3, 6, "--radius", 3], "N=6 must exceed 2 x radius = 6"),
    (2, [0, 10], "ITERATIONS must be a positive integer, got 0"),
    (2, ["ten", 10], "ITERATIONS must be a positive integer, got ten"),
    (2, [3, "1e3"], "N must be a positive integer, got 1e3"),
    (2, [3, 10, "--radius", "2.5"], "--radius must be a positive integer"),
    (2, [3, 10, "--dtype", "float16"], "--dtype must be float64 or float32, got float16"),
    (2, [3, 10, "--radius"], "--radius needs a value"),
    (2, [3], "ITERATIONS and N are required"),
    (2, [3, 10, 7], "unexpected argument 7"),
    (2, [3, 10, "--tiles", 2], "unexpected argument --tiles"),
    # N just below R x pc: the 1 x 3 grid leaves blocks of 2 < R = 3, as Stencil.check_ranks
    (3, [3, 8, "--radius", 3], "N=8 is too small for 3 ranks with radius 3"),
    (3, [3, 5], "N=5 is too small for 3 ranks with radius 2"),
])
def test_standalone_stencil_rejects_bad_input(ranks, args, message):
    result = run_mpi(ranks, [executable("jaxpar-stencil"), *args], timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count(message) == 1, result.stderr  # reported once, by rank 0
    assert "usage:" in result.stderr
    assert "Solution" not in result.stdout


def test_standalone_stencil_names_the_smallest_grid():
    result = run_mpi(3, [executable("jaxpar-stencil"), 3, 8, "--radius", 3], timeout=60)
    assert "blocks of 2 rows or columns" in result.stderr and "use N >= 9" in result.stderr
    ok = run_mpi(3, [executable("jaxpar-stencil"), 3, 9, "--radius", 3], timeout=60)
    assert ok.returncode == 0 and "Solution validates" in ok.stdout, ok.stdout + ok.stderr


def test_standalone_stencil_refuses_sizes_before_allocating():
    result = run_mpi(2, [executable("jaxpar-stencil"), 1, 2 ** 62], timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("overflow a 64-bit count") == 1, result.stderr
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGESIZE")
    result = run_mpi(1, [executable("jaxpar-stencil"), 1, 2 ** 20], timeout=60)  # 32 TiB
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count(f"more than the {physical} bytes of physical memory") == 1
    assert "Solution" not in result.stdout


def test_standalone_stencil_help():
    result = run_mpi(2, [executable("jaxpar-stencil"), "--help"], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("usage: jaxpar-stencil ITERATIONS N") == 1  # once, by rank 0
    assert result.stderr == ""


def test_runner_prints_a_verified_record(tmp_path):
    out = tmp_path / "records.jsonl"
    result = run_mpi(2, RUNNER + ["--impl", "c_mpi", "--n", 31, "--radius", 2, "--iterations", 3,
                                  "--repeats", 2, "--output", out])
    assert result.returncode == 0, result.stdout + result.stderr
    record = last_json_line(result.stdout)
    assert record == json.loads(out.read_text().splitlines()[-1])
    assert record["workload"] == "stencil" and record["impl"] == "c_mpi"
    assert record["ranks"] == 2 and record["processes"] == 2 and record["launch"] == "mpirun"
    assert record["grid"] == [1, 2] and record["sizes"] == {"n": 31, "radius": 2, "iterations": 3}
    assert record["details"] == {"block_rows": [31], "block_cols": [15, 16]}
    assert record["verified"] is True and record["tolerance"] == 1e-8
    assert record["max_rel_error_out"] <= 1e-8 and record["norm_error"] <= 1e-8
    assert record["l1_norm"] == pytest.approx(3 * 2.0)  # T (COEFX + COEFY) on PRK's input
    assert len(record["times_s"]) == 2 and all(t > 0 for t in record["times_s"])
    per_iteration = record["time_per_iteration_s"]["median"]
    assert per_iteration == pytest.approx(statistics.median(record["times_s"]) / 3)
    assert record["bytes_per_iteration"] == 8 * (2 * 31 ** 2 + 2 * 27 ** 2)
    assert record["gbytes_per_s"] == pytest.approx(record["bytes_per_iteration"] / per_iteration / 1e9)
    assert record["compile_s"] is None
    # the bandwidth limit, probed on both ranks' cores right after the timed repeats
    assert 0.5 < record["bandwidth_gbps"] < 2000
