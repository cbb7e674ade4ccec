"""Launch one configuration as its own `mpirun -n P python -m jaxpar.run ...`.

Used by `python -m jaxpar.compare` and the scripts in experiments/. Each launch
gets a timeout; on expiry the whole process group (mpirun and every rank) is
killed, so no MPI process outlives its configuration.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path


def mpirun_command(ranks: int) -> list[str]:
    mpirun = shutil.which("mpirun", path=str(Path(sys.executable).parent)) or shutil.which("mpirun")
    if mpirun is None:
        raise RuntimeError("mpirun not found: the `mpich` wheel (a jaxpar dependency) provides it")
    command = [mpirun, "-n", str(ranks)]
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
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "record.jsonl"
        args = [sys.executable, "-m", "jaxpar.run", workload] + [str(a) for a in runner_args]
        args += ["--output", str(out)]
        if single_process:
            command = args + ["--devices", str(ranks)]
        else:
            command = mpirun_command(ranks) + args
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            stdout, stderr = proc.communicate()
            return {"status": "timeout", "error": f"no result after {timeout:g} s", "command": command,
                    "stderr": stderr[-4000:]}
        finally:  # also on Ctrl-C; and a rank that outlived mpirun goes with its group
            _kill_group(proc.pid)
        record = json.loads(out.read_text().splitlines()[-1]) if out.exists() and out.read_text().strip() else None
        if record is None:
            return {"status": "crashed", "error": _last_error(stderr) or f"exit code {proc.returncode}",
                    "returncode": proc.returncode, "command": command, "stderr": stderr[-4000:]}
        record["status"] = "ok" if record.get("verified") else "failed_check"
        record["command"] = command
        return record


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:  # the whole group has exited
        pass


def _last_error(stderr: str) -> str | None:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("[Gloo]")]
    for line in reversed(lines):
        if "error" in line.lower():
            return line.strip()
    return lines[-1].strip() if lines else None
