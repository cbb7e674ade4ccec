"""The collectives workload from the command line: `python -m jaxpar.run collectives`
under mpirun, several message sizes in one launch, a record each."""
import re
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


TRANSPORT_CONFIG = """
title = "transport"
ranks = [2]
launch = ["mpirun"]
repeats = 3
timeout = 120
[hardware]
gemm_n = 128
pingpong = false
[[sweep]]
name = "collectives"
workload = "collectives"
implementations = ["c_mpi", "jax_mpi4jax"]
algorithms = ["allreduce", "bcast"]
iterations = 50
sizes = [{ bytes = 8 }, { bytes = 65536 }, { bytes = 1048576 }]
[[sweep]]
name = "sgd"
workload = "sgd"
implementations = ["c_mpi", "jax_mpi4jax"]
sizes = [{ n = 512, d_in = 16, hidden = 32, d_out = 4, batch = 64, steps = 3 }]
"""


def test_compare_fits_the_collectives_and_prices_each_transport_with_its_own(tmp_path):
    """A real sweep: one launch per implementation measures both collectives at three sizes;
    the report has their latency and fit tables, and SGD's ideal and gap split are priced
    with the fits of each implementation's own transport."""
    import subprocess

    from conftest import ROOT
    from jaxpar.harness import alphabeta, results

    config = tmp_path / "transport.toml"
    config.write_text(TRANSPORT_CONFIG)
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "jaxpar.compare", "--config", config, "--output",
                           out], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = results.load(out / "results.jsonl")
    assert len(records) == 2 * 2 * 3 + 2 and all(r["status"] == "ok" for r in records)
    collectives = [r for r in records if r["workload"] == "collectives"]
    # one launch per implementation: the same command for its six configurations
    assert len({" ".join(map(str, r["command"])) for r in collectives}) == 2
    assert {r["transport"] for r in records} == {"mpi", "mpi4jax"}
    mpi4jax = [r for r in collectives if r["impl"] == "jax_mpi4jax"]
    # net of the per-call cost, measured apart: noise can take it to 0 (clamped), never below
    assert all(0 <= r["net_median_s"] <= r["time_s"]["median"] and r["noop_call_s"] > 0 for r in mpi4jax)
    fits = alphabeta.fits(records)
    assert {k[0] for k in fits} == {"c_mpi", "jax_mpi4jax"}
    assert all(f["points"] == 3 if k[0] == "c_mpi" else 2 <= f["points"] <= 3 for k, f in fits.items())
    report = (out / "report.md").read_text()
    assert "### allreduce, P = 2, float64: median latency per collective" in report
    assert "### collectives, P = 2, float64: alpha-beta fits" in report
    # the attribution: SGD's communication priced by the fit of each one's own transport
    for impl, transport in (("c_mpi", "mpi"), ("jax_mpi4jax", "mpi4jax")):
        assert re.search(rf"\| — \| {impl} \({transport}\) \| mpirun \| 2 \| float64 \| [^\n]* fit \|",
                         report), impl
    assert re.search(r"jax_mpi4jax's \d+% (gap to|lead over) C/MPI in sgd", report)
    assert (out / "collectives_latency_p2_float64.png").is_file()
