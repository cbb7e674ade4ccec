"""Per-rank runner: one configuration, one JSON record on stdout.

    mpirun -n P python -m jaxpar.run matmul --impl c_mpi --algorithm summa \\
        --m 1024 --k 1024 --n 1024 --repeats 5 --dtype float64
    python -m jaxpar.run matmul --impl jax --devices 2 ...   # one process, 2 devices
    mpirun -n P python -m jaxpar.run sgd --impl mpi4py --n 65536 --d-in 256 \
        --hidden 512 --d-out 16 --batch 4096 --steps 20 --lr 0.1

One subcommand per workload of jaxpar/registry.py, its size and option flags
from the workload's problem definition; nothing here is specific to one.

Every rank pins itself to its core(s) before numpy or JAX load, generates the
same seeded inputs, runs warm-up plus timed repeats (barrier first, maximum
over ranks; its peak RSS around them, jaxpar/rank/memory.py), gathers the result and checks it against float64 numpy, then times
its local work with its own kernel library on every rank at once (local_s, for
the report's attribution; --no-local-probe skips it). With --op-by-op (a JAX
implementation at P = 1) it then also times the same kernel un-jitted, op by op
(op_by_op_s: what jax.jit buys). Rank 0 prints the record.
Exit status: 0 verified, 1 failed its check or crashed, 2 bad arguments or inputs.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import traceback

from mpi4py import MPI

from jaxpar import registry  # imports numpy only: no thread starts before pinning
from jaxpar.rank import pinning
from jaxpar.rank.side import OP_BY_OP_REPEATS, bandwidth_probe, local_probe, op_by_op, xla_devices

DTYPE_NAMES = ("float32", "float64")
SCHEMA_VERSION = 5  # of the record; docs/compare.md says what each version changed


class RankAwareParser(argparse.ArgumentParser):
    """argparse that reports errors once, from rank 0, and exits 2 on every rank."""

    def error(self, message):
        if MPI.COMM_WORLD.rank == 0:
            self.print_usage(sys.stderr)
            print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def integer_at_least(low, what):
    """An argparse type: an integer >= low, else "must be WHAT"."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value
    return parse


positive_int = integer_at_least(1, "a positive integer")
nonnegative_int = integer_at_least(0, "an integer >= 0")


def build_parser():
    """One subcommand per workload of the registry, its flags from the problem definition."""
    parser = RankAwareParser(prog="python -m jaxpar.run",
                             description="Run one configuration and print one JSON record.")
    sub = parser.add_subparsers(dest="workload", required=True, parser_class=RankAwareParser)
    for workload in registry.WORKLOADS:
        problem = registry.problem(workload)
        impls = registry.implementations(workload)
        p = sub.add_parser(workload, help=(problem.__doc__ or workload).strip().splitlines()[0])
        p.add_argument("--impl", required=True, type=choice("implementation", impls), metavar="IMPL",
                       help="one of: " + ", ".join(impls))
        if problem.algorithms and problem.ladder:
            p.add_argument("--algorithm", default=None, nargs="+",
                           help=f"one or more of: {', '.join(problem.algorithms)} (default "
                                f"{problem.algorithms[0]}); each is measured at every "
                                f"--{problem.ladder.replace('_', '-')}, a record each")
        elif problem.algorithms:
            p.add_argument("--algorithm", default=None, nargs="+",
                           help=f"one or more of: {', '.join(problem.algorithms)} (default "
                                f"{problem.algorithms[0]}; an implementation that chooses its own "
                                "partitioning takes none); each is prepared, warmed up and timed "
                                "apart, a record each")
        for key, help_text in problem.sizes.items():
            if key == problem.ladder:  # several values, measured one after another, a record each
                p.add_argument("--" + key.replace("_", "-"), dest=key, type=positive_int, nargs="+",
                               required=True, help=help_text + " (one or more: a record each)")
                continue
            p.add_argument("--" + key.replace("_", "-"), dest=key, type=positive_int, required=True,
                           help=help_text)
        for key, option in problem.options.items():
            p.add_argument("--" + key.replace("_", "-"), dest=key, default=option.default,
                           type=(integer_at_least(option.low, f"an integer >= {option.low}")
                                 if option.kind is int else float), help=option.help)
        p.add_argument("--dtype", choices=DTYPE_NAMES, default="float64")
        p.add_argument("--repeats", type=positive_int, default=5)
        p.add_argument("--warmup", type=nonnegative_int, default=1,
                       help="untimed repeats before the timed ones (default 1)")
        p.add_argument("--seed", type=nonnegative_int, default=0)
        p.add_argument("--devices", type=positive_int, default=None,
                       help="JAX devices in a single-process run (default: one per rank under mpirun)")
        p.add_argument("--cores-per-rank", type=positive_int, default=1)
        p.add_argument("--no-pin", action="store_true",
                       help="leave CPU affinity and thread variables as launched")
        p.add_argument("--no-local-probe", action="store_true",
                       help="skip the local-kernel probe after the timed repeats (the record's "
                            "local_s and local_kernel are then null)")
        p.add_argument("--op-by-op", action="store_true",
                       help="a JAX implementation at P = 1 only: after the timed repeats, also "
                            "time the same kernel run op by op, un-jitted (jax.disable_jit): one "
                            "untimed warm-up, then --op-by-op-repeats timed runs (the record's "
                            "op_by_op_s and op_by_op)")
        p.add_argument("--op-by-op-repeats", type=positive_int, default=None,
                       help=f"timed op-by-op runs (default {OP_BY_OP_REPEATS}); needs --op-by-op")
        p.add_argument("--output", default=None,
                       help="also append the record to this JSONL file (stdout may carry "
                            "library chatter, e.g. gloo's connection lines)")
    return parser


def choice(kind, choices):
    def check(text):
        if text not in choices:
            raise argparse.ArgumentTypeError(f"unknown {kind} {text!r}; choose one of: {', '.join(choices)}")
        return text
    return check


def transport(entry, launch: str) -> str:
    """What carried the collectives (registry.Entry.transport), with JAX's configured
    multi-process CPU backend in place of its default."""
    name = entry.transport(launch)
    if name == "gloo":
        import jax
        name = jax.config.jax_cpu_collectives_implementation or name
    return name


class BadInput(Exception):
    """Refused inputs or arguments (exit 2); any other exception is a crash (exit 1)."""


def run_configuration(args, comm, pin_record, algorithm=None, ladder_value=None):
    """Generate the inputs, prepare, time, gather, check: the record of one configuration
    (for a workload with a ladder size: that algorithm, and that size = ladder_value)."""
    from jaxpar import api
    from jaxpar.rank import memory
    from jaxpar.rank.timing import summarize, time_repeats

    problem = registry.problem(args.workload)
    entry = registry.entry(args.workload, args.impl)
    sizes = {key: getattr(args, key) for key in problem.sizes}
    if problem.ladder:
        sizes[problem.ladder] = ladder_value
    options = {key: getattr(args, key) for key in problem.options}
    try:  # a ValueError here is bad input, raised alike on every rank; later, a crash
        algorithm = registry.resolve_algorithm(entry, algorithm)
        inputs = problem.inputs(sizes, args.dtype, args.seed)
        arguments = problem.arguments(sizes, options)
        prepared = api.prepare(args.workload, args.impl, *inputs, algorithm=algorithm, comm=comm,
                               devices=args.devices, **arguments)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    if args.op_by_op and prepared.ranks != 1:  # e.g. JAX seeing several devices with no --devices
        raise BadInput(f"--op-by-op measures a run at P = 1, but this one has {prepared.ranks} "
                       "devices; pass --devices 1")
    devices = xla_devices(entry, args, comm)  # JAX only: a C or numpy rank never loads JAX
    stats_before = memory.device_stats(devices)
    window = memory.Window().start()  # the peak from here to stop(), gather left out
    times, output = time_repeats(prepared.run, comm, args.repeats, args.warmup)
    per_rank = window.stop()
    stats_after = memory.device_window(stats_before, memory.device_stats(devices))
    result = prepared.gather(output)
    if problem.algorithms:  # the check needs it, as the implementation did (api.prepare)
        arguments = {**arguments, "algorithm": algorithm}
    check = problem.check(inputs, arguments, result, args.dtype) if comm.rank == 0 else None
    check = comm.bcast(check, root=0)
    summary = summarize([t / problem.time_divisor(sizes, options) for t in times])
    record = {
        "schema_version": SCHEMA_VERSION,
        "workload": args.workload,
        "impl": args.impl,
        "algorithm": algorithm,
        "ranks": prepared.ranks,
        "grid": list(prepared.grid) if prepared.grid else None,
        "launch": prepared.launch,
        "transport": transport(entry, prepared.launch),
        "processes": comm.size,
        "dtype": args.dtype,
        "sizes": sizes,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "seed": args.seed,
        "times_s": times,
        problem.time_field: summary,
        "compile_s": prepared.compile_seconds,
        **problem.record(sizes, options, args.dtype, summary, result, algorithm, prepared.details),
        **check,
        "details": prepared.details,
        "pinning": pin_record,
    }
    measured = comm.allgather((per_rank, stats_after))
    record["memory"] = memory.record([m for m, _ in measured], prepared.ranks // comm.size,
                                     problem.min_memory_bytes(record), [d for _, d in measured])
    record["local_s"], record["local_kernel"] = (
        (None, None) if args.no_local_probe else local_probe(record, problem, entry, args, comm))
    if problem.limit == "bandwidth":
        record["bandwidth_gbps"] = None if args.no_local_probe else bandwidth_probe(record, comm)
    record["op_by_op_s"], record["op_by_op"] = (
        op_by_op(prepared, problem, inputs, arguments, sizes, options, summary, args, comm)
        if args.op_by_op else (None, None))
    return record


def pinning_flags(argv):
    """(single-process JAX devices or None, cores per rank, pin?) read from argv before numpy
    loads: the full parser imports the problem definitions, and numpy with them, and
    OpenBLAS starts its threads at import. Values the full parser will reject pin nothing
    special: it then exits 2 on every rank."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)  # --n is not --no-pin
    pre.add_argument("--impl")
    pre.add_argument("--devices")
    pre.add_argument("--cores-per-rank", default="1")
    pre.add_argument("--no-pin", action="store_true")
    flags, _ = pre.parse_known_args(argv)
    workload = argv[0] if argv else None
    as_int = lambda text, default: int(text) if text and text.isdigit() and int(text) > 0 else default
    is_jax = any(e.workload == workload and e.impl == flags.impl and e.runtime == registry.JAX_RUNTIME
                 for e in registry.ENTRIES)
    devices = as_int(flags.devices, None) if is_jax and MPI.COMM_WORLD.size == 1 else None
    return devices, as_int(flags.cores_per_rank, 1), not flags.no_pin


# What each launcher tells its processes about the size of the job. Where the
# launcher and the MPI library differ (Open MPI's mpirun over MPICH's libmpi,
# srun without --mpi=pmi2/pmix), every process starts as its own 1-rank world,
# runs alone and would report a P = 1 result.
LAUNCHER_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE",   # Open MPI's mpirun
                           "PMI_SIZE",               # MPICH's and Intel MPI's Hydra, srun --mpi=pmi2
                           "MV2_COMM_WORLD_SIZE")    # MVAPICH
SLURM_STEP_VARIABLE = "SLURM_STEP_NUM_TASKS"         # srun, whatever its --mpi plugin


def launcher_mismatch(comm, environ=os.environ) -> str | None:
    """A message if the launcher started more processes than MPI_COMM_WORLD holds, else None.

    The MPI launchers' own variables decide where there is one; Slurm's step size
    only where none is set (mpirun inside an allocation starts its own job).
    """
    for name in LAUNCHER_SIZE_VARIABLES + (SLURM_STEP_VARIABLE,):
        value = environ.get(name, "")
        if value.isdigit():
            if int(value) != comm.size:
                return (f"the launcher started {value} processes ({name}={value}) but MPI_COMM_WORLD "
                        f"has {comm.size}: the launcher and the MPI library differ, so every process "
                        "runs alone. Use the mpirun of the MPI that mpi4py and jaxpar were built with "
                        f"(this one: {MPI.Get_library_version().splitlines()[0].strip()}), or under "
                        "Slurm `srun --mpi=pmi2` (MPICH) or `--mpi=pmix` (Open MPI).")
            if name != SLURM_STEP_VARIABLE:
                return None
    return None


def main(argv=None):
    from jaxpar.core import lifetime
    lifetime.watch_parent()  # die with the compare that launched this rank (docs/compare.md)
    comm = MPI.COMM_WORLD
    mismatch = launcher_mismatch(comm)
    if mismatch:  # every process is rank 0 of its own world: each says so and exits
        fail(comm, mismatch, 2)
    argv = sys.argv[1:] if argv is None else list(argv)
    load_at_start = os.getloadavg()
    single_process_devices, cores_per_rank, pin = pinning_flags(argv)
    if pin:
        local_rank = comm.Split_type(MPI.COMM_TYPE_SHARED).rank
        per_rank = pinning.pin(local_rank, cores_per_rank, single_process_devices)
    else:  # --no-pin: what the launcher (e.g. srun --cpu-bind) applied, recorded as it is
        per_rank = pinning.current()
    pin_record = {"pinned": pin, "per_rank": comm.gather(per_rank, root=0)}
    args = build_parser().parse_args(argv)
    jax_runtime = registry.entry(args.workload, args.impl).runtime == registry.JAX_RUNTIME
    if args.devices is not None and not jax_runtime:
        fail(comm, f"--devices applies to the JAX implementations that run in one process; "
                   f"{args.impl} takes one rank per process (mpirun -n P)", 2)
    if args.op_by_op_repeats is not None and not args.op_by_op:
        fail(comm, "--op-by-op-repeats needs --op-by-op", 2)
    if args.op_by_op and not jax_runtime:
        fail(comm, f"--op-by-op applies to the JAX implementations that run in one process "
                   f"(runtime {registry.JAX_RUNTIME}); {args.impl} has runtime "
                   f"{registry.entry(args.workload, args.impl).runtime}", 2)
    if args.op_by_op and (comm.size > 1 or (args.devices or 1) > 1):
        ranks = comm.size if comm.size > 1 else args.devices
        fail(comm, f"--op-by-op measures a run at P = 1, not P = {ranks} "
                   f"({'mpirun -n' if comm.size > 1 else '--devices'} {ranks}): run it with one "
                   "device", 2)
    if args.output:  # found now, not after the run
        error = None
        if comm.rank == 0:
            try:
                open(args.output, "a").close()
            except OSError as exc:
                error = f"cannot write --output {args.output}: {exc.strerror or exc}"
        error = comm.bcast(error, root=0)
        if error:
            fail(comm, error, 2)
    inject_fault(args.impl, comm, args.devices)
    if comm.size == 1 and jax_runtime and args.devices:
        import jax  # before any JAX backend starts: one CPU device per requested device
        jax.config.update("jax_num_cpu_devices", args.devices)
    if comm.size > 1 and args.devices is not None and jax_runtime and args.devices != comm.size:
        fail(comm, f"--devices {args.devices} under mpirun -n {comm.size}: each process "
                   "contributes one device; leave --devices out", 2)

    ladder = registry.problem(args.workload).ladder
    algorithms = getattr(args, "algorithm", None)
    algorithms = algorithms if isinstance(algorithms, list) else [algorithms]
    verified = True
    for algorithm, value in itertools.product(algorithms, getattr(args, ladder) if ladder else [None]):
        try:
            record = run_configuration(args, comm, pin_record, algorithm, value)
        except BadInput as exc:  # raised identically on every rank
            fail(comm, str(exc), 2)
        except Exception:
            traceback.print_exc()
            print(f"jaxpar.run: rank {comm.rank} failed; aborting all ranks", file=sys.stderr,
                  flush=True)
            comm.Abort(1)
        emit(record, comm, args.output, load_at_start)
        verified = verified and record["verified"]
    return 0 if verified else 1


def emit(record, comm, output, load_at_start):
    """Stamp the record with what was in effect and print it (rank 0), also to output."""
    from jaxpar.rank import records
    pools = comm.gather(records.thread_pools(), root=0)  # the libraries are all loaded by now
    if comm.rank == 0:
        record["thread_pools_per_rank"] = pools
        record["launcher"] = records.launcher()
        record["load_average"] = {"start": [round(v, 2) for v in load_at_start],
                                  "end": records.load_average()}
        record["environment"] = records.environment()
        line = json.dumps(record)
        print(line, flush=True)
        if output:
            with open(output, "a") as out:
                out.write(line + "\n")


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
