"""Launch one configuration as its own `mpirun -n P python -m jaxpar.run ...`.

Used by `python -m jaxpar.compare` and the scripts in experiments/. Each launch
gets a timeout; on expiry, on return and on any exception (Ctrl-C, SIGTERM) mpirun
and every rank are killed (`lifetime.kill`), so no MPI process outlives its
configuration; if this process dies first, they die with it (`lifetime.popen`).
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jaxpar.core import lifetime


def mpirun_command(ranks: int) -> list[str]:
    """The launch of `ranks` processes: $JAXPAR_MPIRUN (a command line, e.g.
    "srun --mpi=pmi2" inside a Slurm allocation) or the mpirun next to this Python
    (the MPI wheel's), else the one on PATH; then -n ranks."""
    launcher = shlex.split(os.environ.get("JAXPAR_MPIRUN", ""))
    mpirun = (shutil.which(launcher[0]) if launcher else
              shutil.which("mpirun", path=str(Path(sys.executable).parent)) or shutil.which("mpirun"))
    if mpirun is None:
        raise RuntimeError(f"{launcher[0] if launcher else 'mpirun'} not found: the MPI wheel (a jaxpar "
                           "dependency) provides mpirun; JAXPAR_MPIRUN names another launcher")
    command = [mpirun, *launcher[1:], "-n", str(ranks)]
    version = subprocess.run([mpirun, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in version or "OpenRTE" in version:
        command += ["--oversubscribe", "--bind-to", "none"]
        if os.geteuid() == 0:
            command += ["--allow-run-as-root"]
    return command


def run_config(workload: str, ranks: int, runner_args: list, timeout: float = 600,
               single_process: bool = False) -> dict:
    """Run one configuration; return its record, or a failure record with the error.

    single_process: a JAX run in one process with `ranks` devices (no mpirun).
    """
    return run_launch(workload, ranks, runner_args, timeout, single_process)[0]


def run_launch(workload: str, ranks: int, runner_args: list, timeout: float = 600,
               single_process: bool = False, expected: int = 1) -> list[dict]:
    """Run one launch of `expected` configurations (several where the runner is given several
    values of a ladder size); return the records it wrote, then, if it wrote fewer, a failure
    record with the error, for the configurations it did not finish."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "record.jsonl"
        args = [sys.executable, "-m", "jaxpar.run", workload] + [str(a) for a in runner_args]
        args += ["--output", str(out)]
        if single_process:
            command = args + ["--devices", str(ranks)]
        else:
            command = mpirun_command(ranks) + args
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = lifetime.popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            lifetime.kill(proc)
            stdout, stderr = proc.communicate()
            failure = {"status": "timeout", "error": f"no result after {timeout:g} s",
                       "command": command, "stderr": stderr[-4000:]}
        else:
            failure = {"status": "crashed", "error": _last_error(stderr) or f"exit code {proc.returncode}",
                       "returncode": proc.returncode, "command": command, "stderr": stderr[-4000:]}
        finally:  # also on Ctrl-C and SIGTERM; and a rank that outlived mpirun goes too
            lifetime.kill(proc)
        lines = out.read_text().splitlines() if out.exists() else []
        records = [json.loads(line) for line in lines if line.strip()]
        for record in records:
            record["status"] = "ok" if record.get("verified") else "failed_check"
            record["command"] = command
        if len(records) < expected:
            records.append(failure)
        return records


def _last_error(stderr: str) -> str | None:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("[Gloo]")]
    for line in reversed(lines):
        if "error" in line.lower():
            return line.strip()
    return lines[-1].strip() if lines else None


def measure_pingpong(timeout: float = 120) -> dict | None:
    """Run pingpong() under its own `mpirun -n 2`; None if it fails or times out."""
    try:  # killed, with its ranks, on return, on timeout and on Ctrl-C or SIGTERM
        proc = lifetime.run(mpirun_command(2) + [sys.executable, "-m", "jaxpar.rank.probes", "pingpong"],
                            timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if proc.returncode == 0 and lines else None
