"""The SGD workload from the command line: the jaxpar-sgd executable and
`python -m jaxpar.run sgd`, each launched under its own mpirun."""
import json
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
