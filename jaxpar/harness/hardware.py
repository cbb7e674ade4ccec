"""The hardware limit that every benchmark is compared against, measured in the
same run: the single-core BLAS GEMM rate (times P), and an alpha-beta model of
point-to-point communication from an MPI ping-pong.

    python -m jaxpar.harness.hardware gemm --dtype float64      # one pinned core
    mpirun -n 2 python -m jaxpar.harness.hardware pingpong      # alpha, beta
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys

from jaxpar.harness import lifetime


def _gemm_rate(dtype: str, n: int, repeats: int) -> float:
    import time

    import numpy as np

    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    b = a.T.copy()
    a @ b  # warm-up
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2.0 * n ** 3 / best / 1e9


def single_core_gemm_gflops(dtype: str = "float64", n: int = 2048, repeats: int = 3,
                            concurrent: int = 1) -> list[float]:
    """GFLOP/s of numpy GEMM with one OpenBLAS thread on one pinned core.

    concurrent > 1 runs that many copies at once on different cores, which is
    the honest per-core rate when P ranks compute together (shared caches,
    memory bandwidth and clocks). Returns one rate per copy.
    """
    cores = sorted(os.sched_getaffinity(0))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = []
    try:  # each copy dies with this process, and is killed on Ctrl-C or SIGTERM
        for i in range(concurrent):
            code = (f"import os; os.sched_setaffinity(0, {{{cores[i % len(cores)]}}}); "
                    f"from jaxpar.harness.hardware import _gemm_rate; "
                    f"print(_gemm_rate({dtype!r}, {n}, {repeats}))")
            procs.append(lifetime.popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                        text=True, env=env))
        return [float(p.communicate()[0]) for p in procs]
    finally:
        for p in procs:
            lifetime.kill(p)


def pingpong(sizes=(8, 1 << 20, 16 << 20), repeats: int = 20) -> dict:
    """Alpha (s) and beta (s/byte) from a 2-rank ping-pong; call on every rank."""
    import time

    import numpy as np
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if comm.size != 2:
        raise SystemExit("pingpong needs exactly 2 ranks")
    other = 1 - comm.rank
    one_way = {}
    for size in sizes:
        buf = np.zeros(size, dtype=np.uint8)
        best = math.inf
        for _ in range(repeats):
            comm.Barrier()
            start = time.perf_counter()
            if comm.rank == 0:
                comm.Send(buf, dest=other)
                comm.Recv(buf, source=other)
            else:
                comm.Recv(buf, source=other)
                comm.Send(buf, dest=other)
            best = min(best, (time.perf_counter() - start) / 2)
        one_way[size] = best
    alpha = one_way[sizes[0]]
    beta = (one_way[sizes[-1]] - one_way[sizes[1]]) / (sizes[-1] - sizes[1])
    return {"alpha_s": alpha, "beta_s_per_byte": beta, "bandwidth_GBps": 1e-9 / beta}


def measure_pingpong(timeout: float = 120) -> dict | None:
    """Run pingpong() under its own `mpirun -n 2`; None if it fails or times out."""
    from jaxpar.harness.launch import mpirun_command

    try:  # killed, with its ranks, on return, on timeout and on Ctrl-C or SIGTERM
        proc = lifetime.run(mpirun_command(2) + [sys.executable, "-m", "jaxpar.harness.hardware",
                                                 "pingpong"], timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if proc.returncode == 0 and lines else None


def main(argv=None):
    lifetime.watch_parent()  # a ping-pong rank dies with the compare that launched it
    parser = argparse.ArgumentParser(prog="python -m jaxpar.harness.hardware")
    sub = parser.add_subparsers(dest="what", required=True)
    gemm = sub.add_parser("gemm")
    gemm.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    gemm.add_argument("--n", type=int, default=2048)
    gemm.add_argument("--concurrent", type=int, default=1)
    sub.add_parser("pingpong")
    args = parser.parse_args(argv)
    if args.what == "gemm":
        print(json.dumps({"dtype": args.dtype, "n": args.n,
                          "gflops": single_core_gemm_gflops(args.dtype, args.n, concurrent=args.concurrent)}))
    else:
        result = pingpong()
        from mpi4py import MPI
        if MPI.COMM_WORLD.rank == 0:
            print(json.dumps(result))


if __name__ == "__main__":
    main()
