"""Launch tests/mpi under a real mpirun with 1, 2, 3 and 4 ranks (oversubscribed
on small machines, which is fine for correctness)."""
import os
import sys

import pytest

from conftest import run_mpi


@pytest.mark.parametrize("ranks", [1, 2, 3, 4])
def test_mpi_suite(ranks):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    result = run_mpi(ranks, [sys.executable, "-m", "pytest", "--with-mpi", "--only-mpi", "-q",
                             "--timeout=240", "--timeout-method=thread",
                             "-p", "no:cacheprovider", "tests/mpi"], timeout=900, env=env)
    assert result.returncode == 0, (
        f"mpirun -n {ranks} pytest tests/mpi failed (exit {result.returncode})\n"
        f"--- stdout ---\n{result.stdout[-20000:]}\n--- stderr ---\n{result.stderr[-5000:]}")
    assert " passed" in result.stdout and " failed" not in result.stdout
