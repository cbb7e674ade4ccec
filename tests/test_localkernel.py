"""The local-kernel probe (jaxpar/rank/localkernel.py) under a real mpirun, and the
runner's local_s and local_kernel (jaxpar/run.py). The margins are generous: two ranks
share two busy cores, so times are noisy, but 8 times the work in 2 times the time
would already be a broken probe."""
import json
import os
import subprocess
import sys

import pytest


from conftest import ROOT, last_json_line, run_mpi

PROBE = r"""
import json
from mpi4py import MPI
from jaxpar.rank import localkernel

comm = MPI.COMM_WORLD
out = {"rank": comm.rank}
small, large = ("gemm", 96, 64, 80), ("gemm", 192, 128, 160)  # 8 times the FLOPs
for library in ("cblas", "numpy", "xla"):
    for dtype in ("float64", "float32"):
        out[f"{library} {dtype}"] = {
            "one": localkernel.measure(library, [small + (1,), ("tanh", 4096, 1)], dtype, comm),
            "eight": localkernel.measure(library, [small + (8,), ("tanh", 4096, 8)], dtype, comm),
            "large": localkernel.measure(library, [large + (1,)], dtype, comm),
            "small": localkernel.measure(library, [small + (1,)], dtype, comm)}
    out[f"{library} describe"] = localkernel.describe(library)
# the maximum over ranks: rank 1 has 16 times rank 0's work; rank 0 also times its own alone
out["alone"] = localkernel.measure("numpy", [small + (1,)], "float64", comm.Split(comm.rank))
out["together"] = localkernel.measure("numpy", [small + (1 if comm.rank == 0 else 16,)], "float64", comm)
# rank 0 prints every rank's line: two ranks printing at once can share a line of mpiexec's output
for each in comm.gather(out) or []:  # None on the other ranks
    print(json.dumps(each), flush=True)
"""


@pytest.fixture(scope="module")
def probe():
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = run_mpi(2, [sys.executable, "-c", PROBE], timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    ranks = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert sorted(r["rank"] for r in ranks) == [0, 1]
    return sorted(ranks, key=lambda r: r["rank"])


@pytest.mark.parametrize("library", ["cblas", "numpy", "xla"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_more_work_takes_longer(probe, library, dtype):
    for rank in probe:
        t = rank[f"{library} {dtype}"]
        assert all(v > 0 for v in t.values()), t
        assert t["eight"] > 2 * t["one"], t    # ideally 8 times
        assert t["large"] > 2 * t["small"], t  # 8 times the FLOPs
    # every rank returns the maximum over ranks: the same number
    assert probe[0][f"{library} {dtype}"] == probe[1][f"{library} {dtype}"]


def test_the_maximum_over_ranks_is_returned_on_every_rank(probe):
    assert probe[0]["together"] == probe[1]["together"]
    assert probe[0]["together"] > 4 * probe[0]["alone"]  # rank 1's 16 gemms, not rank 0's one


def test_the_libraries_describe_themselves(probe):
    assert probe[0]["cblas describe"].startswith("cblas: ") and "openblas" in probe[0]["cblas describe"].lower()
    assert probe[0]["numpy describe"].startswith("numpy: ")
    assert probe[0]["xla describe"].startswith("xla: jaxlib ")


def test_unknown_library_and_work_are_refused():
    code = ("from mpi4py import MPI; from jaxpar.rank import localkernel; import sys\n"
            "for library, work in (('fortran', [('gemm', 2, 2, 2, 1)]), ('numpy', [('conv', 2, 1)])):\n"
            "    try:\n        localkernel.measure(library, work, 'float64', MPI.COMM_WORLD)\n"
            "    except ValueError as exc:\n        print('refused:', exc)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "unknown kernel library 'fortran'" in result.stdout and "unknown local work 'conv'" in result.stdout


# ---------------------------------------------------------------- the runner's record

MATMUL = ["matmul", "--m", 64, "--k", 48, "--n", 40, "--panel", 16, "--repeats", 2]
SGD = ["sgd", "--n", 256, "--d-in", 8, "--hidden", 16, "--d-out", 2, "--batch", 64, "--steps", 3,
       "--repeats", 2]


@pytest.mark.parametrize("args,library", [
    (MATMUL + ["--impl", "c_mpi"], "cblas"),
    (MATMUL + ["--impl", "mpi4py", "--algorithm", "allgather"], "numpy"),
    (MATMUL + ["--impl", "jax_mpi4jax"], "xla"),
    (SGD + ["--impl", "c_mpi"], "cblas"),
    (SGD + ["--impl", "jax"], "xla"),
])
def test_runner_records_the_local_time(args, library):
    result = run_mpi(2, [sys.executable, "-m", "jaxpar.run"] + args, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    record = last_json_line(result.stdout)
    assert record["schema_version"] >= 3 and record["verified"]  # 3: local_s added
    assert record["local_s"] > 0 and record["local_kernel"].startswith(f"{library}: ")


def test_single_process_jax_probes_every_device():
    result = subprocess.run([sys.executable, "-m", "jaxpar.run"] + list(map(str, MATMUL))
                            + ["--impl", "jax", "--devices", "2"], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    record = last_json_line(result.stdout)
    assert record["launch"] == "single-process" and record["ranks"] == 2
    assert record["local_s"] > 0 and record["local_kernel"].startswith("xla: ")


def test_collectives_and_no_local_probe_record_none():
    collectives = run_mpi(2, [sys.executable, "-m", "jaxpar.run", "collectives", "--impl", "c_mpi",
                              "--bytes", 64, "--iterations", 2, "--repeats", 2], timeout=300)
    assert collectives.returncode == 0, collectives.stdout + collectives.stderr
    record = last_json_line(collectives.stdout)
    assert record["local_s"] is None and record["local_kernel"] is None
    skipped = run_mpi(2, [sys.executable, "-m", "jaxpar.run"] + MATMUL + ["--impl", "c_mpi",
                                                                          "--no-local-probe"], timeout=300)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    record = last_json_line(skipped.stdout)
    assert record["local_s"] is None and record["local_kernel"] is None and record["verified"]
