"""Issue 10: does a documented XLA CPU option bring JAX's dot closer to OpenBLAS?

    python experiments/xla_dot_options.py [--n 1024 2048 4096] [--repeats 5]

Each line: one process pinned to one core, the jitted product of two N x N matrices
(median of the repeats after a warm-up) with XLA_FLAGS set to one option, against
numpy's OpenBLAS dgemm/sgemm in a process pinned the same way. The options are the
jaxlib CPU flags that choose the dot's library (`XLA_FLAGS=--help` lists them):
  (default)                                  Eigen (XLA's own emitter)
  --xla_cpu_use_onednn=true                  oneDNN thunks for matmul
  --xla_cpu_experimental_xnn_fusion_type=dot XNNPACK for dots
  --xla_cpu_experimental_ynn_fusion_type=dot YNNPACK for dots
A flag this jaxlib does not know aborts its process: that line says so.
"""
import argparse
import os
import subprocess
import sys

OPTIONS = ["", "--xla_cpu_use_onednn=true", "--xla_cpu_experimental_xnn_fusion_type=dot",
           "--xla_cpu_experimental_ynn_fusion_type=dot"]

CHILD = r"""
import os, sys, time, statistics
os.sched_setaffinity(0, {core})
import numpy as np
n, dtype, repeats, lib = {n}, "{dtype}", {repeats}, "{lib}"
rng = np.random.default_rng(0)
a, b = rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, n)).astype(dtype)
if lib == "numpy":
    run = lambda: a @ b
    reference = None
else:
    import jax
    jax.config.update("jax_enable_x64", True)
    f = jax.jit(lambda x, y: x @ y)
    ad, bd = jax.device_put(a), jax.device_put(b)
    run = lambda: f(ad, bd).block_until_ready()
    reference = (a.astype(np.float64) @ b.astype(np.float64))
run()
times = []
for _ in range(repeats):
    t = time.perf_counter(); out = run(); times.append(time.perf_counter() - t)
err = 0.0 if reference is None else float(np.abs(np.asarray(out) - reference).max() / np.abs(reference).max())
print(2 * n ** 3 / statistics.median(times) / 1e9, err)
"""


def measure(n, dtype, repeats, lib, flags):
    env = dict(os.environ, XLA_FLAGS=flags, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    core = sorted(os.sched_getaffinity(0))[0]
    code = CHILD.format(core={core}, n=n, dtype=dtype, repeats=repeats, lib=lib)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        return None, (out.stderr.strip().splitlines() or ["?"])[-1][:100]
    rate, err = map(float, out.stdout.split())
    return rate, err


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for dtype in ("float64", "float32"):
        for n in args.n:
            blas, _ = measure(n, dtype, args.repeats, "numpy", "")
            print(f"{dtype} N = {n}: numpy (OpenBLAS) {blas:.1f} GFLOP/s", flush=True)
            for flags in OPTIONS:
                rate, err = measure(n, dtype, args.repeats, "jax", flags)
                label = flags or "(default)"
                if rate is None:
                    print(f"  {label:45s} failed: {err}", flush=True)
                else:
                    print(f"  {label:45s} {rate:6.1f} GFLOP/s  {rate / blas:5.2f} of OpenBLAS"
                          f"  (max rel. error {err:.1e})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
