"""Per-rank runner: one configuration, one JSON record on stdout.

    mpirun -n P python -m jaxpar.run matmul --impl c_mpi --algorithm summa \\
        --m 1024 --k 1024 --n 1024 --repeats 5 --dtype float64
    python -m jaxpar.run matmul --impl jax --devices 2 ...   # one process, 2 devices
    mpirun -n P python -m jaxpar.run sgd --impl mpi4py --n 65536 --d-in 256 \
        --hidden 512 --d-out 16 --batch 4096 --steps 20 --lr 0.1

Every rank pins itself to its core(s) before numpy or JAX load, generates the
same seeded inputs, runs warm-up plus timed repeats (barrier first, maximum
over ranks), gathers the result and checks it against float64 numpy. Rank 0
prints the record. Exit status: 0 verified, 1 failed its check or crashed,
2 bad arguments or inputs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from mpi4py import MPI

from jaxpar.harness import pinning  # imports nothing that starts threads

DTYPE_NAMES = ("float32", "float64")


class RankAwareParser(argparse.ArgumentParser):
    """argparse that reports errors once, from rank 0, and exits 2 on every rank."""

    def error(self, message):
        if MPI.COMM_WORLD.rank == 0:
            self.print_usage(sys.stderr)
            print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def build_parser():
    parser = RankAwareParser(prog="python -m jaxpar.run",
                             description="Run one configuration and print one JSON record.")
    sub = parser.add_subparsers(dest="workload", required=True, parser_class=RankAwareParser)
    mm = sub.add_parser("matmul", help="distributed C = A B")
    mm.add_argument("--impl", required=True, help="c_mpi, mpi4py, jax, jax_pmap or jax_auto")
    mm.add_argument("--algorithm", default=None,
                    help="summa or allgather (default summa; jax_auto takes none)")
    mm.add_argument("--m", type=positive_int, required=True)
    mm.add_argument("--k", type=positive_int, required=True)
    mm.add_argument("--n", type=positive_int, required=True)
    mm.add_argument("--panel", type=positive_int, default=256, help="SUMMA panel width")
    sg = sub.add_parser("sgd", help="data-parallel SGD of a one-hidden-layer MLP")
    sg.add_argument("--impl", required=True, help="c_mpi, mpi4py, jax, jax_pmap or jax_auto")
    sg.add_argument("--n", type=positive_int, required=True, help="samples in the data set")
    sg.add_argument("--d-in", type=positive_int, required=True)
    sg.add_argument("--hidden", type=positive_int, required=True)
    sg.add_argument("--d-out", type=positive_int, required=True)
    sg.add_argument("--batch", type=positive_int, required=True, help="global batch size")
    sg.add_argument("--steps", type=positive_int, required=True)
    sg.add_argument("--lr", type=float, default=0.1, help="learning rate")
    for p in (mm, sg):
        p.add_argument("--dtype", choices=DTYPE_NAMES, default="float64")
        p.add_argument("--repeats", type=positive_int, default=5)
        p.add_argument("--warmup", type=int, default=1)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--devices", type=positive_int, default=None,
                       help="JAX devices in a single-process run (default: one per rank under mpirun)")
        p.add_argument("--cores-per-rank", type=positive_int, default=1)
        p.add_argument("--no-pin", action="store_true",
                       help="leave CPU affinity and thread variables as launched")
        p.add_argument("--output", default=None,
                       help="also append the record to this JSONL file (stdout may carry "
                            "library chatter, e.g. gloo's connection lines)")
    return parser


def run_matmul(args, comm, pin_record):
    import numpy as np

    from jaxpar.api import prepare_matmul
    from jaxpar.harness.check import TOLERANCE, matmul_reference, max_relative_error
    from jaxpar.harness.data import matmul_inputs
    from jaxpar.harness.stats import summarize
    from jaxpar.harness.timing import time_repeats

    a, b = matmul_inputs(args.m, args.k, args.n, args.dtype, args.seed)
    prepared = prepare_matmul(a, b, impl=args.impl, algorithm=args.algorithm, comm=comm,
                              devices=args.devices, panel=args.panel)
    times, output = time_repeats(prepared.run, comm, args.repeats, args.warmup)
    c = prepared.gather(output)
    error = max_relative_error(c, matmul_reference(a, b)) if comm.rank == 0 else None
    error = comm.bcast(error, root=0)
    summary = summarize(times)
    flops = 2.0 * args.m * args.k * args.n
    return {
        "workload": "matmul",
        "impl": args.impl,
        "algorithm": args.algorithm if args.algorithm else (None if args.impl == "jax_auto" else "summa"),
        "ranks": prepared.ranks,
        "grid": list(prepared.grid) if prepared.grid else None,
        "launch": prepared.launch,
        "processes": comm.size,
        "dtype": args.dtype,
        "sizes": {"m": args.m, "k": args.k, "n": args.n},
        "panel": prepared.details.get("panel", args.panel) if args.algorithm != "allgather" else None,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "seed": args.seed,
        "times_s": times,
        "time_s": summary,
        "compile_s": prepared.compile_seconds,
        "flops": flops,
        "gflops": flops / summary["median"] / 1e9,
        "gflops_best": flops / summary["min"] / 1e9,
        "max_rel_error": error,
        "tolerance": TOLERANCE[args.dtype],
        "verified": bool(np.isfinite(error) and error <= TOLERANCE[args.dtype]),
        "details": prepared.details,
        "pinning": pin_record,
    }


def run_sgd(args, comm, pin_record):
    import numpy as np

    from jaxpar.harness.check import SGD_TOLERANCE, max_relative_error, sgd_reference
    from jaxpar.harness.data import sgd_problem
    from jaxpar.harness.stats import summarize
    from jaxpar.harness.timing import time_repeats
    from jaxpar.sgd_api import prepare_sgd

    x, y, params = sgd_problem(args.n, args.d_in, args.hidden, args.d_out, args.dtype, args.seed)
    prepared = prepare_sgd(x, y, params, impl=args.impl, steps=args.steps, lr=args.lr,
                           batch=args.batch, comm=comm, devices=args.devices)
    times, output = time_repeats(prepared.run, comm, args.repeats, args.warmup)
    new_params, losses = prepared.gather(output)
    errors = None
    if comm.rank == 0:
        ref_params, ref_losses = sgd_reference(x, y, params, args.steps, args.lr, args.batch)
        errors = (max(max_relative_error(new_params[k], ref_params[k]) for k in ref_params),
                  max_relative_error(losses, ref_losses))
    param_error, loss_error = comm.bcast(errors, root=0)
    per_step = summarize([t / args.steps for t in times])
    tolerance = SGD_TOLERANCE[args.dtype]
    b, d_in, h, d_out = args.batch, args.d_in, args.hidden, args.d_out
    flops = 4.0 * b * d_in * h + 6.0 * b * h * d_out  # the gemms: 2 forward, 3 backward
    return {
        "workload": "sgd",
        "impl": args.impl,
        "ranks": prepared.ranks,
        "launch": prepared.launch,
        "processes": comm.size,
        "dtype": args.dtype,
        "sizes": {"n": args.n, "d_in": d_in, "hidden": h, "d_out": d_out,
                  "batch": b, "steps": args.steps},
        "lr": args.lr,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "seed": args.seed,
        "times_s": times,
        "time_per_step_s": per_step,
        "samples_per_s": b / per_step["median"],
        "samples_per_s_best": b / per_step["min"],
        "compile_s": prepared.compile_seconds,
        "flops_per_step": flops,
        "gflops": flops / per_step["median"] / 1e9,
        "allreduce_bytes": (d_in * h + h + h * d_out + d_out + 1) * np.dtype(args.dtype).itemsize,
        "final_loss": float(losses[-1]),
        "losses": [float(v) for v in losses],
        "max_rel_error_params": param_error,
        "max_rel_error_losses": loss_error,
        "tolerance": tolerance,
        "verified": bool(np.isfinite(param_error) and np.isfinite(loss_error)
                         and param_error <= tolerance and loss_error <= tolerance),
        "details": prepared.details,
        "pinning": pin_record,
    }


def main(argv=None):
    comm = MPI.COMM_WORLD
    args = build_parser().parse_args(argv)
    single_process_jax = comm.size == 1 and args.impl.startswith("jax")
    pin_record = {"pinned": False}
    if not args.no_pin:
        local_rank = comm.Split_type(MPI.COMM_TYPE_SHARED).rank
        per_rank = pinning.pin(local_rank, args.cores_per_rank,
                               args.devices if single_process_jax and args.devices else None)
        pin_record = {"pinned": True, "per_rank": comm.gather(per_rank, root=0)}
    inject_fault(args.impl, comm, args.devices)
    if single_process_jax and args.devices:
        import jax  # before any JAX backend starts: one CPU device per requested device
        jax.config.update("jax_num_cpu_devices", args.devices)
    if comm.size > 1 and args.devices is not None and args.impl.startswith("jax"):
        if args.devices != comm.size:
            fail(comm, f"--devices {args.devices} under mpirun -n {comm.size}: each process "
                       "contributes one device; leave --devices out", 2)

    try:
        run = {"matmul": run_matmul, "sgd": run_sgd}[args.workload]
        record = run(args, comm, pin_record)
    except ValueError as exc:  # bad input: raised identically on every rank
        fail(comm, str(exc), 2)
    except Exception:
        traceback.print_exc()
        print(f"jaxpar.run: rank {comm.rank} failed; aborting all ranks", file=sys.stderr, flush=True)
        comm.Abort(1)

    if comm.rank == 0:
        from jaxpar.harness.records import environment
        record["environment"] = environment()
        line = json.dumps(record)
        print(line, flush=True)
        if args.output:
            with open(args.output, "a") as out:
                out.write(line + "\n")
    return 0 if record["verified"] else 1


def inject_fault(impl, comm, devices=None):
    """Test hook of the harness: JAXPAR_FAULT=crash:IMPL or hang:IMPL (comma-separated for
    several) makes rank 1 of IMPL's runs exit with status 1, or sleep forever, after setup.
    A single-process run with several devices counts as rank 1; P = 1 runs are spared."""
    spec = os.environ.get("JAXPAR_FAULT")
    if not spec:
        return
    for item in spec.split(","):
        kind, _, target = item.strip().partition(":")
        if kind not in ("crash", "hang"):
            fail(comm, f"JAXPAR_FAULT={spec!r}: expected crash:IMPL or hang:IMPL", 2)
        if target == impl and (comm.rank == 1 or (comm.size == 1 and (devices or 1) > 1)):
            print(f"jaxpar.run: injected fault: {kind} on rank {comm.rank} of {impl}",
                  file=sys.stderr, flush=True)
            if kind == "crash":
                os._exit(1)
            import time
            while True:
                time.sleep(3600)


def fail(comm, message, status):
    if comm.rank == 0:
        print(f"jaxpar.run: error: {message}", file=sys.stderr, flush=True)
    sys.exit(status)


if __name__ == "__main__":
    sys.exit(main())
