"""python -m jaxpar.run against the launches and inputs that used to give a wrong
record or a late failure: a launcher that does not match the MPI library,
negative warm-up, an unwritable --output, a panel that overflows."""
import os
import sys

import pytest

from conftest import ROOT, run_mpi

RUNNER = [sys.executable, "-m", "jaxpar.run", "matmul", "--impl", "c_mpi", "--m", 8, "--k", 8,
          "--n", 8, "--repeats", 1]


def run_alone(args, env=None, timeout=120):
    """The runner started without mpirun: an MPI singleton, as a mismatched launcher starts it."""
    import subprocess
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env=dict(os.environ, **(env or {})))


@pytest.mark.parametrize("variable", ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"])
def test_a_launcher_that_does_not_match_the_mpi_library_is_refused(variable):
    # Open MPI's mpirun over MPICH (or srun --mpi=none) starts each process as its own
    # 1-rank world with the launcher's size in the environment: refuse, never record P = 1.
    result = run_alone(RUNNER, env={variable: "2"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "launcher and the MPI library differ" in result.stderr and f"{variable}=2" in result.stderr
    assert not any(line.startswith("{") for line in result.stdout.splitlines())


def test_a_matching_launch_inside_an_allocation_is_accepted():
    # mpirun -n 2 inside a Slurm step of another size: the MPI launcher's own count decides
    result = run_mpi(2, RUNNER, env=dict(os.environ, SLURM_STEP_NUM_TASKS="1"))
    assert result.returncode == 0, result.stderr


def test_negative_warmup_is_refused():
    result = run_mpi(2, RUNNER + ["--warmup", "-1"], timeout=120)
    assert result.returncode == 2 and "must be an integer >= 0" in result.stderr


def test_unwritable_output_is_found_before_the_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_mpi(2, RUNNER + ["--output", blocker / "sub" / "r.jsonl"], timeout=120,
                     env=dict(os.environ, JAXPAR_FAULT="hang:c_mpi"))  # a run would hang
    assert result.returncode == 2, result.stderr
    assert "cannot write --output" in result.stderr and result.stderr.count("cannot write") == 1


def test_a_panel_past_int64_products_runs_and_verifies():
    result = run_mpi(2, RUNNER + ["--panel", 2305843009213693952], timeout=120)
    assert result.returncode == 0, result.stderr


MISMATCH = """
repeats = 1
implementations = ["c_mpi", "mpi4py"]
launch = ["mpirun"]
[hardware]
gemm_n = 64
pingpong = false
[[sweep]]
name = "mismatch"
workload = "matmul"
sizes = [{ m = 16, k = 16, n = 16 }]
"""


@pytest.mark.parametrize("size_variable", ["", "OMPI_COMM_WORLD_SIZE"])
def test_compare_never_records_a_mismatched_launch_as_a_result(size_variable, tmp_path):
    """Each of P processes runs alone: compare must mark P > 1 as failed, never as a P = 1 row."""
    from jaxpar.harness import results

    config = tmp_path / "mismatch.toml"
    config.write_text(MISMATCH)
    out = tmp_path / "out"
    env = dict(JAXPAR_MPIRUN=str(ROOT / "tests" / "fixtures" / "mismatched_mpirun.sh"),
               MISMATCH_SIZE_VARIABLE=size_variable)
    proc = run_alone([sys.executable, "-m", "jaxpar.compare", "--config", config, "--output", out],
                     env=env, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # finished, with failures
    records = {(r["impl"], r["ranks"]): r for r in results.load(out / "results.jsonl")}
    assert records[("c_mpi", 1)]["status"] == "ok" and records[("mpi4py", 1)]["status"] == "ok"
    for impl in ("c_mpi", "mpi4py"):
        bad = records[(impl, 2)]
        assert bad["ranks"] == 2 and bad["status"] in ("failed_launch", "crashed"), bad
        if size_variable:  # the runner refuses, naming the cause
            assert "launcher and the MPI library differ" in bad["error"]
        else:  # nothing told the runner: compare's own check catches it
            assert bad["status"] == "failed_launch" and "reported 1 rank(s)" in bad["error"]
    report = (out / "report.md").read_text()
    assert "| mpirun | 2 |" not in report.split("## Failures")[1].split("## Code size")[0].split("## Sweep")[1]
