"""The collectives workload from the command line: `python -m jaxpar.run collectives`
under mpirun, several message sizes in one launch, a record each."""
import json
import statistics
import sys

import pytest

from conftest import run_mpi

RUNNER = [sys.executable, "-m", "jaxpar.run", "collectives"]


@pytest.mark.parametrize("impl", ["c_mpi", "jax"])
def test_runner_prints_a_verified_record_per_message_size(impl, tmp_path):
    out = tmp_path / "records.jsonl"
    result = run_mpi(2, RUNNER + ["--impl", impl, "--algorithm", "allreduce", "--bytes", 8, 1024,
                                  "--repeats", 2, "--output", out])
    assert result.returncode == 0, result.stdout + result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    printed = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert printed == records
    assert [r["sizes"] for r in records] == [{"bytes": 8}, {"bytes": 1024}]
    for r in records:
        assert r["workload"] == "collectives" and r["impl"] == impl and r["algorithm"] == "allreduce"
        assert r["verified"] is True and r["max_abs_error"] == 0.0 and r["ranks"] == 2
        assert r["bytes"] == r["total_bytes"] == r["sizes"]["bytes"] and r["iterations"] == 20
        time = r["time_s"]["median"]
        assert time == pytest.approx(statistics.median(r["times_s"]) / 20)  # per collective
        assert r["algbw_GBps"] == pytest.approx(r["bytes"] / time / 1e9)
        assert r["bus_factor"] == 1.0 and r["busbw_GBps"] == pytest.approx(r["algbw_GBps"])  # 2(P-1)/P
        assert (r["noop_call_s"] is None) == (impl == "c_mpi")  # JAX's dispatch, measured apart


def test_runner_refuses_bytes_that_are_not_whole_elements():
    result = run_mpi(2, RUNNER + ["--impl", "c_mpi", "--bytes", 12, "--dtype", "float64"], timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    message = "--bytes 12 is not a multiple of 8, the size of one float64"
    assert result.stderr.count(message) == 1, result.stderr  # every rank exits 2; rank 0 says why
    assert not any(line.startswith("{") for line in result.stdout.splitlines())
