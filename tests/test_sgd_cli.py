"""The SGD workload from the command line: the jaxpar-sgd executable and
`python -m jaxpar.run sgd`, each launched under its own mpirun."""
import json
import os
import re
import resource
import statistics
import sys

import pytest

from conftest import executable, last_json_line, run_mpi

SMALL = ["--n", 512, "--d-in", 8, "--hidden", 16, "--d-out", 2, "--batch", 30]
RUNNER = [sys.executable, "-m", "jaxpar.run", "sgd"]


@pytest.mark.parametrize("ranks", [1, 2, 3])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_standalone_sgd_validates(ranks, dtype):
    result = run_mpi(ranks, [executable("jaxpar-sgd"), *SMALL, "--steps", 60, "--print-every", 20, "--dtype", dtype])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Solution validates" in result.stdout
    assert f"identical on all {ranks} ranks" in result.stdout
    rate = [line for line in result.stdout.splitlines() if line.startswith("Avg time per step (s):")]
    assert len(rate) == 1 and float(rate[0].split()[5]) > 0


@pytest.mark.parametrize("args,message", [
    (["--batch", "0"], "invalid argument --batch 0"),
    (["--steps", "-2"], "invalid argument --steps -2"),
    (["--hidden", "12x"], "invalid argument --hidden 12x"),
    (["--lr", "nan"], "invalid argument --lr nan"),
    (["--dtype", "float16"], "invalid argument --dtype float16"),
    (["--d-in"], "--d-in needs a value"),
    (["--frobnicate", "3"], "unknown option --frobnicate"),
])
def test_standalone_sgd_rejects_bad_arguments(args, message):
    result = run_mpi(2, [executable("jaxpar-sgd"), *args], timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "usage:" in result.stderr
    assert result.stderr.count(message) == 1  # reported once, by rank 0


def test_standalone_sgd_help():
    result = run_mpi(2, [executable("jaxpar-sgd"), "--help"], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("usage: jaxpar-sgd") == 1  # printed once, by rank 0
    assert result.stderr == ""


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_standalone_sgd_one_step_validates(ranks, dtype):
    # The first and last loss are then the same step: the check evaluates the
    # trained parameters on that step's batch instead.
    result = run_mpi(ranks, [executable("jaxpar-sgd"), *SMALL, "--steps", 1, "--dtype", dtype],
                     timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    line = re.search(r"Solution validates: loss (\S+) -> (\S+) on the step's batch", result.stdout)
    assert line, result.stdout
    assert float(line.group(2)) < float(line.group(1))


PHYSICAL_MEMORY = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGESIZE")


@pytest.mark.parametrize("args,message", [
    (["--n", 2 ** 61, "--d-in", 8], "invalid argument --n 2305843009213693952"),  # was a segfault
    (["--hidden", 2 ** 31], "invalid argument --hidden 2147483648"),
    (["--n", 2 ** 31 - 1, "--d-in", 2 ** 31 - 1], "overflow a 64-bit count"),
    (["--steps", 2 ** 62], "overflow a 64-bit count"),
    # was a minute of swapping, then the OOM killer
    (["--hidden", 100000, "--d-in", 30000, "--d-out", 1, "--n", 16],
     f"more than the {PHYSICAL_MEMORY} bytes of physical memory"),
    (["--n", 16, "--batch", 2 ** 31 - 1], f"more than the {PHYSICAL_MEMORY} bytes of physical memory"),
])
def test_standalone_sgd_refuses_sizes_before_allocating(args, message):
    result = run_mpi(2, [executable("jaxpar-sgd"), *args], timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count(message) == 1, result.stderr  # reported once, by rank 0
    if "physical memory" in message:
        assert re.search(r"needs \d+ bytes per rank", result.stderr)
    assert "Solution" not in result.stdout


def test_standalone_sgd_kernel_out_of_memory_says_so():
    # The kernel's buffers for a batch of 2^22 rows take 1.5 GB: within physical
    # memory, but not within a 1 GB address space.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    result = run_mpi(1, [executable("jaxpar-sgd"), "--n", 16, "--d-in", 8, "--hidden", 16,
                         "--d-out", 2, "--batch", 2 ** 22, "--steps", 2], timeout=120, env=env,
                     preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (10 ** 9, 10 ** 9)))
    # Every rank failed alike, so no MPI_Abort: it may lose what the ranks printed.
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.count("kernel failed: out of memory") == 1, result.stderr  # rank 0
    assert "MPI_Alloc_mem" not in result.stderr
    assert "Abort" not in result.stderr


@pytest.mark.parametrize("impl", ["c_mpi", "jax"])
def test_runner_prints_a_verified_record(impl, tmp_path):
    out = tmp_path / "records.jsonl"
    result = run_mpi(2, RUNNER + ["--impl", impl, *SMALL, "--steps", 12, "--repeats", 2,
                                  "--output", out])
    assert result.returncode == 0, result.stdout + result.stderr
    record = last_json_line(result.stdout)
    assert record == json.loads(out.read_text().splitlines()[-1])
    assert record["workload"] == "sgd" and record["impl"] == impl
    assert record["ranks"] == 2 and record["processes"] == 2 and record["launch"] == "mpirun"
    assert record["verified"] is True and record["tolerance"] == 1e-9
    assert record["max_rel_error_params"] <= 1e-9 and record["max_rel_error_losses"] <= 1e-9
    assert len(record["losses"]) == 12 and record["final_loss"] == record["losses"][-1]
    assert len(record["times_s"]) == 2 and all(t > 0 for t in record["times_s"])
    step = record["time_per_step_s"]
    assert step["median"] == pytest.approx(statistics.median(record["times_s"]) / 12)  # per step
    assert record["samples_per_s"] == pytest.approx(30 / step["median"])
    assert (record["compile_s"] is not None) == impl.startswith("jax")


@pytest.mark.parametrize("args,message", [
    (["--impl", "fortran", *SMALL, "--steps", 3], "unknown implementation"),
    (["--impl", "mpi4py", *SMALL[:-1], 0, "--steps", 3], "must be a positive integer"),
    (["--impl", "mpi4py", *SMALL, "--steps", 3, "--lr", "nan"], "lr must be a finite number"),
    (["--impl", "c_mpi", *SMALL], "required"),
])
def test_runner_rejects_bad_input_without_hanging(args, message):
    result = run_mpi(2, RUNNER + args, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert result.stderr.count(message) == 1  # reported once, by rank 0
