"""jaxpar under a real Slurm: experiments/slurm_matmul.sbatch with sbatch, the runner
with srun (--mpi=pmi2, and --mpi=none refused) and mpirun inside an allocation.

    .ci/slurm.sh                                   # a one-node cluster on this machine
    python -m pytest -m slurm tests/test_slurm.py

The tests marked `slurm` skip when `sinfo` is missing or shows no idle node, and
fail instead when JAXPAR_REQUIRE_SLURM=1 (CI, after .ci/slurm.sh). Jobs run this
tree's code (PYTHONPATH) with this Python's venv first on PATH, in a temporary
directory; every command has a timeout and every job a unique name, cancelled
(scancel) in a finally. The launcher() tests at the end need no Slurm: their
environments are the variables srun and Hydra really set (Slurm 22.05, MPICH 5).
"""
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import ROOT
from jaxpar.rank.records import launcher

SBATCH_SCRIPT = ROOT / "experiments" / "slurm_matmul.sbatch"
SCRIPT_IMPLS = ("c_mpi", "mpi4py", "jax")  # what slurm_matmul.sbatch runs
MISMATCH = "launcher and the MPI library differ"
LIMITS = ("--time=3", "--immediate=60")  # srun, salloc: 3 min to run, 60 s to get the cores


def _no_slurm(reason):
    if os.environ.get("JAXPAR_REQUIRE_SLURM") == "1":
        pytest.fail(f"{reason} (JAXPAR_REQUIRE_SLURM=1: run .ci/slurm.sh first)")
    pytest.skip(f"{reason}: run .ci/slurm.sh to start a one-node cluster")


@pytest.fixture(scope="module")
def slurm():
    """The environment of every Slurm command: this venv's executables and this tree's code."""
    if shutil.which("sinfo") is None:
        _no_slurm("Slurm is not installed (no sinfo)")
    try:  # `sinfo -t idle` would list drained nodes too: their state is IDLE+DRAIN
        nodes = subprocess.run(["sinfo", "-h", "-N", "-o", "%n %T"], capture_output=True, text=True,
                               timeout=30)
    except subprocess.TimeoutExpired:
        _no_slurm("sinfo did not answer in 30 s (slurmctld down?)")
    states = [line.split()[-1] for line in nodes.stdout.splitlines() if line.strip()]
    if nodes.returncode != 0 or not {"idle", "mixed"} & set(states):
        shown = (nodes.stdout + nodes.stderr).strip().replace("\n", ", ") or "no nodes"
        _no_slurm(f"no idle Slurm node (sinfo: {shown})")
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    # no SLURM_* of an outer job (pytest run inside an allocation) or plugin leaks into the tests
    env = {name: value for name, value in os.environ.items() if not name.startswith("SLURM_")}
    return dict(env, PATH=path, PYTHONPATH=pythonpath)


def slurm_run(args, env, cwd, timeout, name):
    """Run a Slurm client command; on timeout (a hung job) fail. Either way cancel job `name`."""
    try:
        return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env,
                              cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(map(str, args))} did not finish in {timeout} s (hang?)\n"
                    f"stdout:\n{exc.stdout}\nstderr:\n{exc.stderr}")
    finally:
        subprocess.run(["scancel", "--name", name], capture_output=True, timeout=30)


def job_name():
    return f"jaxpar-test-{uuid.uuid4().hex[:12]}"


def runner(output, *extra):
    return [sys.executable, "-m", "jaxpar.run", "matmul", "--impl", "c_mpi", "--algorithm", "summa",
            "--m", 96, "--k", 80, "--n", 64, "--repeats", 2, "--output", output, *extra]


def records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


@pytest.mark.slurm
def test_the_sbatch_script_runs_every_implementation_on_one_job_of_two_ranks(slurm, tmp_path):
    name = job_name()
    result = slurm_run(["sbatch", "--wait", "-n", 2, "--time=4", f"--job-name={name}",
                        f"--chdir={tmp_path}", SBATCH_SCRIPT, 256],
                       slurm, tmp_path, timeout=240, name=name)
    outputs = list(tmp_path.glob("jaxpar-matmul-*.out"))
    log = outputs[0].read_text() if outputs else "(no job output)"
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\njob output:\n{log}"
    assert "srun --mpi=pmi2, 2 tasks" in log
    assert log.count("jaxpar-matmul: summa, ") == 1 and "jaxpar-matmul: summa, 2 ranks" in log, log
    assert "Solution validates" in log, log
    (jsonl,) = (tmp_path / "results").glob("slurm_matmul_*.jsonl")
    found = records(jsonl)
    assert [r["impl"] for r in found] == list(SCRIPT_IMPLS), log
    for record in found:
        assert record["ranks"] == 2 and record["processes"] == 2, record["impl"]
        assert record["launcher"] == "srun" and record["verified"] is True, record["impl"]
        # --no-pin: the binding srun --cpu-bind=cores applied (task/affinity), one core per rank
        pin = record["pinning"]
        assert pin["pinned"] is False and len(pin["per_rank"]) == 2, pin
        cores = [rank["cores"] for rank in pin["per_rank"]]
        assert all(len(c) == 1 for c in cores) and cores[0] != cores[1], cores


@pytest.mark.slurm
def test_the_sbatch_script_stops_when_srun_starts_one_rank_jobs(slurm, tmp_path):
    # SLURM_MPI_TYPE=none: jaxpar-matmul runs as two 1-rank jobs; the script says so, exits 2
    # and runs no implementation.
    name = job_name()
    result = slurm_run(["sbatch", "--wait", "-n", 2, "--time=4", f"--job-name={name}",
                        f"--chdir={tmp_path}", SBATCH_SCRIPT, 64],
                       dict(slurm, SLURM_MPI_TYPE="none"), tmp_path, timeout=180, name=name)
    (output,) = tmp_path.glob("jaxpar-matmul-*.out")
    log = output.read_text()
    assert result.returncode == 2, f"{result.stdout}{result.stderr}\njob output:\n{log}"
    assert log.count("jaxpar-matmul: summa, 1 ranks") == 2, log
    assert "did not start one MPI job of 2 ranks" in log and "SLURM_MPI_TYPE" in log, log
    assert not list(tmp_path.glob("results/*.jsonl"))


@pytest.mark.slurm
def test_srun_with_pmi2_runs_one_job_of_two_ranks(slurm, tmp_path):
    name = job_name()
    out = tmp_path / "record.jsonl"
    result = slurm_run(["srun", "-n", 2, "--mpi=pmi2", *LIMITS, f"--job-name={name}", *runner(out)],
                       slurm, ROOT, timeout=150, name=name)
    assert result.returncode == 0, result.stderr
    (record,) = records(out)
    assert record["ranks"] == 2 and record["processes"] == 2 and record["verified"] is True
    assert record["launcher"] == "srun"
    pin = record["pinning"]  # the runner pinned each rank to its own core
    assert pin["pinned"] is True and len({tuple(r["cores"]) for r in pin["per_rank"]}) == 2, pin


@pytest.mark.slurm
def test_srun_without_pmi_is_refused_not_recorded_as_two_single_rank_runs(slurm, tmp_path):
    # The defect: srun --mpi=none starts P 1-rank MPICH jobs, each of which ran and
    # recorded P = 1. Now every process refuses with status 2.
    name = job_name()
    out = tmp_path / "record.jsonl"
    result = slurm_run(["srun", "-n", 2, "--mpi=none", *LIMITS, f"--job-name={name}", *runner(out)],
                       slurm, ROOT, timeout=150, name=name)
    assert result.returncode != 0, result.stdout
    assert MISMATCH in result.stderr and "SLURM_STEP_NUM_TASKS=2" in result.stderr, result.stderr
    assert "srun --mpi=pmi2" in result.stderr
    assert not out.exists() or not out.read_text().strip()


@pytest.mark.slurm
def test_mpirun_inside_an_allocation_is_recorded_as_hydra(slurm, tmp_path):
    # Hydra starts its proxy with srun, so the ranks carry SLURM_STEP_ID: still mpirun.
    name = job_name()
    out = tmp_path / "record.jsonl"
    result = slurm_run(["salloc", "-n", 2, *LIMITS, f"--job-name={name}", "mpirun", "-n", 2,
                        *runner(out)], slurm, ROOT, timeout=150, name=name)
    assert result.returncode == 0, result.stderr
    (record,) = records(out)
    assert record["ranks"] == 2 and record["verified"] is True
    assert record["launcher"] == "mpirun (Hydra)"


# launcher() on the variables the launchers really set (rank 0 of 2; captured under
# Slurm 22.05 with the PyPI mpich 5 wheel).
SRUN_PMI2 = {"SLURM_JOB_ID": "7", "SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "2",
             "SLURM_PROCID": "0", "SLURM_MPI_TYPE": "pmi2", "PMI_FD": "11", "PMI_JOBID": "7.0",
             "PMI_RANK": "0", "PMI_SIZE": "2"}
HYDRA_IN_SLURM = {"SLURM_JOB_ID": "7", "SLURM_STEP_ID": "1", "SLURM_STEP_NUM_TASKS": "1",
                  "SLURM_PROCID": "0", "SLURM_EXTERNAL_LAUNCHER": "1", "PMI_FD": "5",
                  "PMI_HOSTNAME": "vm", "PMI_RANK": "0", "PMI_SIZE": "2", "MPI_LOCALNRANKS": "2",
                  "MPI_LOCALRANKID": "0"}
HYDRA = {"PMI_FD": "9", "PMI_HOSTNAME": "vm", "PMI_RANK": "0", "PMI_SIZE": "2",
         "MPI_LOCALNRANKS": "2", "MPI_LOCALRANKID": "0"}
BATCH_SCRIPT = {"SLURM_JOB_ID": "7", "SLURM_NTASKS": "2"}  # no step: python run by the script itself


@pytest.mark.parametrize("environ, expected", [
    (SRUN_PMI2, "srun"),
    ({k: v for k, v in SRUN_PMI2.items() if not k.startswith("PMI")}, "srun"),  # --mpi=none
    (HYDRA_IN_SLURM, "mpirun (Hydra)"),
    (HYDRA, "mpirun (Hydra)"),
    ({"SLURM_JOB_ID": "7", "SLURM_STEP_ID": "1", "OMPI_COMM_WORLD_SIZE": "2"}, "mpirun (Open MPI)"),
    (BATCH_SCRIPT, "none (singleton)"),
    ({}, "none (singleton)"),
], ids=["srun-pmi2", "srun-none", "hydra-in-slurm", "hydra", "openmpi-in-slurm", "batch-script",
        "singleton"])
def test_launcher_is_read_from_the_variables_each_launcher_sets(environ, expected):
    assert launcher(environ) == expected
