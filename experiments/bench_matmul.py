"""Matmul benchmark: GFLOP/s of every implementation at P = 1 and 2 against the
hardware limit.

    python experiments/bench_matmul.py                    # N = 2048, 4096, float64
    python experiments/bench_matmul.py --sizes 512 --repeats 2   # a quick check

Hardware limit, measured in this run:
  compute  P x the single-core numpy GEMM rate (one OpenBLAS thread, pinned);
           the rate of P copies running at once is printed too, since cores
           that share caches, memory and clocks slow each other down.
  network  alpha-beta from a 2-rank MPI ping-pong.
Ideal time = 2MNK / (P x single-core rate) + the algorithm's alpha-beta
communication time (jaxpar.harness.hardware.matmul_comm_seconds); the table's
"of ideal" column is ideal time / measured median time.
Every configuration is a separate `mpirun -n P python -m jaxpar.run matmul`
(JAX also as one process with P devices); each rank is pinned to one core.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from jaxpar.harness.hardware import matmul_comm_seconds, measure_pingpong, single_core_gemm_gflops
from jaxpar.harness.launch import run_config

VARIANTS = [("c_mpi", "summa"), ("c_mpi", "allgather"), ("mpi4py", "summa"), ("mpi4py", "allgather"),
            ("jax", "summa"), ("jax", "allgather"), ("jax_pmap", "summa"), ("jax_pmap", "allgather"),
            ("jax_auto", None)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--panel", type=int, default=256)
    parser.add_argument("--output", type=Path, default=Path("results/bench_matmul.jsonl"))
    args = parser.parse_args()
    elem = 8 if args.dtype == "float64" else 4

    single = single_core_gemm_gflops(args.dtype)[0]
    concurrent = {p: single_core_gemm_gflops(args.dtype, concurrent=p) for p in args.ranks}
    network = measure_pingpong()
    if network is None:
        raise SystemExit("the MPI ping-pong (mpirun -n 2 python -m jaxpar.harness.hardware pingpong) failed")
    alpha, beta = network["alpha_s"], network["beta_s_per_byte"]
    print(f"single-core numpy GEMM ({args.dtype}, 1 thread, pinned): {single:.1f} GFLOP/s")
    for p, rates in concurrent.items():
        print(f"  {p} copies at once on {p} cores: {' + '.join(f'{r:.1f}' for r in rates)}"
              f" = {sum(rates):.1f} GFLOP/s")
    print(f"ping-pong: alpha = {alpha * 1e6:.2f} us, bandwidth = {network['bandwidth_GBps']:.1f} GB/s\n")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    header = (f"{'impl':<9} {'algorithm':<10} {'launch':<14} {'P':>2} {'N':>5} {'GFLOP/s':>8} "
              f"{'IQR %':>6} {'compile s':>9} {'% of P x 1-core':>15} {'of ideal':>8}  check")
    print(header)
    print("-" * len(header))
    with args.output.open("a") as out:
        for n in args.sizes:
            for p in args.ranks:
                print(f"{'numpy dgemm' if args.dtype == 'float64' else 'numpy sgemm':<24} {'1 core x P':<14}"
                      f" {p:>2} {n:>5} {single * p:>8.1f} {'':>6} {'':>9} {100.0:>14.0f}%")
                for impl, algorithm in VARIANTS:
                    launches = [False, True] if impl.startswith("jax") and p > 1 else [False]
                    for single_process in launches:
                        runner_args = ["--impl", impl, "--m", n, "--k", n, "--n", n, "--dtype", args.dtype,
                                       "--repeats", args.repeats, "--panel", args.panel]
                        if algorithm:
                            runner_args += ["--algorithm", algorithm]
                        record = run_config("matmul", p, runner_args, timeout=1800,
                                            single_process=single_process)
                        record["hardware"] = {"single_core_gflops": single, "concurrent_gflops": concurrent[p],
                                              **network}
                        out.write(json.dumps(record) + "\n")
                        out.flush()
                        launch = "single-process" if single_process else "mpirun"
                        if record["status"] not in ("ok", "failed_check"):
                            print(f"{impl:<9} {algorithm or '-':<10} {launch:<14} {p:>2} {n:>5}  "
                                  f"{record['status'].upper()}: {record['error']}")
                            continue
                        t = record["time_s"]
                        grid = record["grid"]
                        ideal = 2.0 * n ** 3 / (p * single * 1e9) + matmul_comm_seconds(
                            algorithm or "summa", n, n, n, grid, record.get("panel") or args.panel, elem, alpha, beta)
                        compile_s = f"{record['compile_s']:.2f}" if record["compile_s"] is not None else "-"
                        print(f"{impl:<9} {algorithm or '-':<10} {launch:<14} {p:>2} {n:>5} "
                              f"{record['gflops']:>8.1f} {100 * t['iqr'] / t['median']:>6.1f} {compile_s:>9} "
                              f"{100 * record['gflops'] / (p * single):>14.0f}% {ideal / t['median']:>8.2f}  "
                              f"{'ok' if record['verified'] else 'FAILED'} ({record['max_rel_error']:.1e})",
                              flush=True)


if __name__ == "__main__":
    main()
