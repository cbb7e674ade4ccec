"""Benchmark: data-parallel SGD of the MLP, every implementation at P = 1 and 2.

    python experiments/bench_sgd.py            # the full run (minutes)
    python experiments/bench_sgd.py --quick    # tiny sizes, to check the plumbing

Each configuration is a fresh `mpirun -n P python -m jaxpar.run sgd ...`
(pinned, one core per rank; jaxpar.harness.launch.run_config); the JAX
implementations also run in one process with --devices P. Beside each measured
time per step the table gives an ideal: the step's gemm FLOPs at P times the
single-core BLAS rate (measured here with numpy on one pinned core,
OPENBLAS_NUM_THREADS=1, at the step's shapes), plus an alpha-beta model of the
one all-reduce per step (ring: jaxpar.harness.hardware.allreduce_seconds, with
alpha = 1.5 us as stated and beta from an MPI ping-pong measured here). The
ideal ignores the elementwise work (tanh, bias, update) and the batch gather.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from jaxpar.harness.hardware import allreduce_seconds, measure_pingpong
from jaxpar.harness.launch import run_config

IMPLS = ("c_mpi", "mpi4py", "jax", "jax_pmap", "jax_auto")
ALPHA = 1.5e-6  # s, stated per-message latency of the model

GEMM_RATE = r"""
import json, os, sys, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
import numpy as np
b, d_in, h, d_out = map(int, sys.argv[1:5])
dtype = np.dtype(sys.argv[5])
rng = np.random.default_rng(0)
x, w1 = rng.standard_normal((b, d_in)).astype(dtype), rng.standard_normal((d_in, h)).astype(dtype)
a, w2 = rng.standard_normal((b, h)).astype(dtype), rng.standard_normal((h, d_out)).astype(dtype)
g = rng.standard_normal((b, d_out)).astype(dtype)
def step():  # the gemms of one SGD step
    x @ w1; a @ w2; a.T @ g; g @ w2.T; x.T @ a
best = float("inf")
for _ in range(7):
    t = time.perf_counter(); step(); best = min(best, time.perf_counter() - t)
print(json.dumps((4.0 * b * d_in * h + 6.0 * b * h * d_out) / best))
"""


def gemm_rate(sizes, dtype):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", GEMM_RATE, *map(str, sizes), dtype], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def configurations(ranks, dtypes):
    for dtype in dtypes:
        for p in ranks:
            for impl in IMPLS:
                yield dtype, p, impl, False
                if impl.startswith("jax") and p > 1:
                    yield dtype, p, impl, True  # one process, P devices


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 3 steps, 1 repeat")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--output", type=Path, default=Path("results/bench_sgd.jsonl"))
    args = ap.parse_args()

    if args.quick:
        n, d_in, h, d_out, batch, steps, repeats = 2048, 32, 64, 4, 256, 3, 1
    else:
        n, d_in, h, d_out, batch, steps, repeats = 65536, 256, 512, 16, 4096, 20, 3
    steps, repeats = args.steps or steps, args.repeats or repeats
    sizes = ["--n", n, "--d-in", d_in, "--hidden", h, "--d-out", d_out, "--batch", batch,
             "--steps", steps, "--repeats", repeats]
    flops = 4.0 * batch * d_in * h + 6.0 * batch * h * d_out
    packed = d_in * h + h + h * d_out + d_out + 1

    rates = {dtype: gemm_rate((batch, d_in, h, d_out), dtype) for dtype in args.dtypes}
    network = measure_pingpong()
    if network is None:
        raise SystemExit("the MPI ping-pong (mpirun -n 2 python -m jaxpar.harness.hardware pingpong) failed")
    beta = network["beta_s_per_byte"]
    print(f"SGD n={n} d_in={d_in} hidden={h} d_out={d_out} batch={batch} steps={steps} "
          f"repeats={repeats}; {flops / 1e9:.3f} GFLOP per step (gemms)")
    for dtype, rate in rates.items():
        print(f"single-core BLAS rate ({dtype}, numpy, step shapes): {rate / 1e9:.2f} GFLOP/s")
    print(f"all-reduce model: alpha = {ALPHA:.1e} s (stated), beta = 1/({network['bandwidth_GBps']:.2f} GB/s) "
          f"(MPI ping-pong); one all-reduce of {packed} values per step")
    print("achieved/ideal: measured samples/s over the ideal's (= ideal time / measured time)")
    print(f"records: {args.output}\n")

    header = (f"{'dtype':8} {'P':>2} {'impl':9} {'launch':14} {'ms/step':>9} {'samples/s':>10} "
              f"{'ideal ms':>9} {'achieved/ideal':>14} {'compile s':>9} {'final loss':>10} verified")
    print(header)
    print("-" * len(header))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("a") as out:
        for dtype, p, impl, single_process in configurations(args.ranks, args.dtypes):
            record = run_config("sgd", p, ["--impl", impl, "--dtype", dtype, *sizes], timeout=1800,
                                single_process=single_process)
            record["hardware"] = {"single_core_gflops": rates[dtype] / 1e9, "model_alpha_s": ALPHA, **network}
            out.write(json.dumps(record) + "\n")
            out.flush()
            if record["status"] not in ("ok", "failed_check"):
                launch = "single-process" if single_process else "mpirun"
                print(f"{dtype:8} {p:>2} {impl:9} {launch:14} {record['status'].upper()}: {record['error']}")
                continue
            t = record["time_per_step_s"]["median"]
            itemsize = 4 if dtype == "float32" else 8
            ideal = flops / (rates[dtype] * p) + allreduce_seconds(packed * itemsize, p, ALPHA, beta)
            compile_s = "-" if record["compile_s"] is None else f"{record['compile_s']:.2f}"
            print(f"{dtype:8} {p:>2} {impl:9} {record['launch']:14} {t * 1e3:9.2f} "
                  f"{record['samples_per_s']:10.0f} {ideal * 1e3:9.2f} {ideal / t:14.2f} "
                  f"{compile_s:>9} {record['final_loss']:10.4g} {record['verified']}", flush=True)


if __name__ == "__main__":
    main()
