"""The suite has two layers.

tests/*.py run in one ordinary pytest process; tests/test_mpi_suites.py
launches tests/mpi under a real `mpirun -n P` for P = 1, 2, 3, 4. The files in
tests/mpi are collected only when pytest runs with --with-mpi (pytest-mpi).
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jaxpar.harness.launch import mpirun_command

ROOT = Path(__file__).resolve().parent.parent


def pytest_ignore_collect(collection_path, config):
    if not config.getoption("--with-mpi", default=False):
        return "mpi" in collection_path.relative_to(ROOT).parts[1:2] or None
    return None


def executable(name):
    """An installed jaxpar executable: next to the running Python, or on PATH.

    A missing one fails the test (never skips): CI must prove the install built it.
    """
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: `pip install .` builds it with CMake")
    return found


def run_mpi(ranks, args, timeout=300, **kwargs):
    """Run `mpirun -n ranks args...`; a hang fails the test instead of stalling the suite."""
    try:
        return subprocess.run(mpirun_command(ranks) + [str(a) for a in args], capture_output=True,
                              text=True, timeout=timeout, cwd=ROOT, **kwargs)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"mpirun -n {ranks} {' '.join(map(str, args))} did not finish in {timeout} s "
                    f"(hang?)\nstdout:\n{exc.stdout}\nstderr:\n{exc.stderr}")


def last_json_line(stdout: str) -> dict:
    """The runner's record: the last stdout line that is a JSON object (gloo chats on stdout)."""
    import json
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"no JSON record in output:\n{stdout}")
