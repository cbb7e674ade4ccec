"""The hardware limit that every benchmark is compared against, measured in the
same run: the single-core BLAS GEMM rate (times P), the memory bandwidth of 1 and
of P cores at once (STREAM probes, the limit of the stencil), and an
alpha-beta model of point-to-point communication from an MPI ping-pong.

    python -m jaxpar.rank.probes gemm --dtype float64      # one pinned core
    python -m jaxpar.rank.probes bandwidth --concurrent 2  # GB/s of each of 2 cores
    mpirun -n 2 python -m jaxpar.rank.probes pingpong      # alpha, beta
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys

from jaxpar.core import lifetime


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


BANDWIDTH_CDEF = """
    void jaxpar_triad_f64(int64_t n, double *a, const double *b, const double *c, double scalar);
    void jaxpar_daxpy_f64(int64_t n, double *a, const double *b, double scalar);
"""
BYTES_PER_ELEMENT = 24  # triad: read b and c, write a (STREAM's count); daxpy: read a and b, write a


def bandwidth_rates(n: int, repeats: int) -> dict:
    """GB/s of the best of `repeats` passes of the C library's STREAM triad (a = b + 3c)
    and STREAM2 DAXPY (a = a + 1e-9 b), one thread, over arrays of n doubles, each after
    one untimed pass: {"triad": ..., "daxpy": ...}. The triad's store reads its line
    first (write-allocate), which STREAM does not count: on Zen 4 it took 1.4x the DAXPY's
    time for the same 24 counted bytes. The DAXPY moves what it counts, and updates in
    place as the stencil does: its rate is the stencil's limit."""
    import time

    import numpy as np

    from jaxpar.core import clib

    ffi, lib = clib.open_library(BANDWIDTH_CDEF)
    a, b, c = np.zeros(n), np.full(n, 1.0), np.full(n, 2.0)  # every page touched before timing
    pa, pb, pc = (clib.pointer(ffi, v) for v in (a, b, c))
    passes = {"triad": lambda: lib.jaxpar_triad_f64(n, pa, pb, pc, 3.0),
              "daxpy": lambda: lib.jaxpar_daxpy_f64(n, pa, pb, 1e-9)}
    rates = {}
    for name, one_pass in passes.items():
        one_pass()
        best = math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            one_pass()
            best = min(best, time.perf_counter() - start)
        rates[name] = BYTES_PER_ELEMENT * n / best / 1e9
    if not 7.0 <= a[n // 2] < 7.001:
        raise RuntimeError(f"the probes computed {a[n // 2]}, not 1 + 3 x 2 = 7 plus DAXPY's 1e-9s")
    return rates


def _pinned_copies(function: str, arguments: str, concurrent: int) -> list[float]:
    """Run jaxpar.rank.probes.<function>(<arguments>) in `concurrent` processes at once,
    each pinned to its own core with one BLAS thread; what each prints (JSON), in order."""
    cores = sorted(os.sched_getaffinity(0))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = []
    try:  # each copy dies with this process, and is killed on Ctrl-C or SIGTERM
        for i in range(concurrent):
            code = (f"import os; os.sched_setaffinity(0, {{{cores[i % len(cores)]}}}); "
                    f"from jaxpar.rank.probes import {function}; "
                    f"import json; print(json.dumps({function}({arguments})))")
            procs.append(lifetime.popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                        text=True, env=env))
        outputs = [p.communicate()[0] for p in procs]
        for p, out in zip(procs, outputs):
            if p.returncode != 0:
                raise RuntimeError(f"the {function} probe failed (exit {p.returncode})")
        return [json.loads(out) for out in outputs]
    finally:
        for p in procs:
            lifetime.kill(p)


def single_core_gemm_gflops(dtype: str = "float64", n: int = 2048, repeats: int = 3,
                            concurrent: int = 1) -> list[float]:
    """GFLOP/s of numpy GEMM with one OpenBLAS thread on one pinned core.

    concurrent > 1 runs that many copies at once on different cores, which is
    the honest per-core rate when P ranks compute together (shared caches,
    memory bandwidth and clocks). Returns one rate per copy.
    """
    return _pinned_copies("_gemm_rate", f"{dtype!r}, {n}, {repeats}", concurrent)


BANDWIDTH_N = 1 << 24  # doubles an array: 128 MiB, far beyond the caches


def bandwidth_gbps(n: int = BANDWIDTH_N, repeats: int = 10, concurrent: int = 1) -> list[dict]:
    """Memory bandwidth by the STREAM probes (bandwidth_rates: {"triad": GB/s, "daxpy": GB/s}) on
    one pinned core per copy, with `concurrent` copies at once on different cores: their
    sum is the bandwidth of that many cores, the limit of a bandwidth-bound kernel on as
    many ranks. n doubles an array (the default, 128 MiB each, is far beyond the caches).
    One dict per copy."""
    return _pinned_copies("bandwidth_rates", f"{n}, {repeats}", concurrent)


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


def main(argv=None):
    lifetime.watch_parent()  # a ping-pong rank dies with the compare that launched it
    parser = argparse.ArgumentParser(prog="python -m jaxpar.rank.probes")
    sub = parser.add_subparsers(dest="what", required=True)
    gemm = sub.add_parser("gemm")
    gemm.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    gemm.add_argument("--n", type=int, default=2048)
    gemm.add_argument("--concurrent", type=int, default=1)
    bandwidth = sub.add_parser("bandwidth")
    bandwidth.add_argument("--n", type=int, default=1 << 24)
    bandwidth.add_argument("--concurrent", type=int, default=1)
    sub.add_parser("pingpong")
    args = parser.parse_args(argv)
    if args.what == "gemm":
        print(json.dumps({"dtype": args.dtype, "n": args.n,
                          "gflops": single_core_gemm_gflops(args.dtype, args.n, concurrent=args.concurrent)}))
    elif args.what == "bandwidth":
        print(json.dumps({"n": args.n, "gbps": bandwidth_gbps(args.n, concurrent=args.concurrent)}))
    else:
        result = pingpong()
        from mpi4py import MPI
        if MPI.COMM_WORLD.rank == 0:
            print(json.dumps(result))


if __name__ == "__main__":
    main()
