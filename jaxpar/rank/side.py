"""What each run measures beside its timed repeats, in every rank of jaxpar.run: the
same JAX kernel op by op (what jax.jit buys), the memory bandwidth of its own cores
(the limit of a bandwidth-bound workload) and its local work with the implementation's
own kernel library (the attribution's local compute), and the JAX devices whose memory
statistics the record keeps."""
from __future__ import annotations

from mpi4py import MPI

from jaxpar import registry

OP_BY_OP_REPEATS = 3  # --op-by-op's timed repeats unless --op-by-op-repeats says


def op_by_op(prepared, problem, inputs, arguments, sizes, options, jitted, args, comm):
    """(summary, detail) of the prepared kernel run op by op (PreparedRun.op_by_op: the
    same program un-jitted), after the timed repeats: one untimed warm-up (eager mode
    compiles each primitive on its first use), then args.op_by_op_repeats runs timed as
    the jitted ones (rank/timing.py) and divided alike; their result checked as the jitted
    one is; the XLA compilations during the warm-up and the timed runs, since JAX 0.10's
    eager shard_map (and pmap, which is jit of shard_map) compiles its primitives anew on
    every call, and those then take most of the time. The summary is None, and the detail
    says why, where the implementation compiled no kernel apart (Keras: fit compiles)."""
    from jaxpar.core import jaxenv
    from jaxpar.rank.timing import summarize, time_repeats

    if prepared.op_by_op is None:
        return None, {"reason": f"{args.impl} compiles no kernel apart (jaxpar.core.jaxenv."
                                "compile_timed) to run op by op"}
    repeats = args.op_by_op_repeats or OP_BY_OP_REPEATS
    _, warm_compiles, _ = jaxenv.compiles_during(
        lambda: time_repeats(prepared.op_by_op, comm, repeats=0, warmup=1))
    (times, output), compiles, compile_seconds = jaxenv.compiles_during(
        lambda: time_repeats(prepared.op_by_op, comm, repeats, warmup=0))
    result = prepared.gather(output)
    check = problem.check(inputs, arguments, result, args.dtype) if comm.rank == 0 else None
    check = comm.bcast(check, root=0)
    summary = summarize([t / problem.time_divisor(sizes, options) for t in times])
    most = lambda value: comm.allreduce(value, op=MPI.MAX)
    return summary, {"repeats": repeats, "warmup": 1, "times_s": times,
                     "jit_speedup": summary["median"] / jitted["median"] if jitted["median"] else None,
                     "compiles_warmup": most(warm_compiles),
                     "compiles_per_repeat": most(compiles) / repeats,
                     "compile_s_per_repeat": most(compile_seconds) / repeats,
                     **check}


def bandwidth_probe(record, comm):
    """The memory bandwidth (GB/s) of the run's cores, measured right after its timed repeats
    by STREAM2's DAXPY on each of them at once (jaxpar.rank.probes): the limit of a
    bandwidth-bound workload, taken where and when the run took its time, since a shared
    machine's bandwidth drifts (on this 2-core VM, by a third within minutes). Under mpirun
    every rank probes its own core; a single-process run with P devices starts P pinned
    probes on its P cores."""
    from jaxpar.rank import probes

    if record["launch"] == "single-process" and record["ranks"] > 1:
        return sum(r["daxpy"] for r in probes.bandwidth_gbps(repeats=5, concurrent=record["ranks"]))
    comm.Barrier()
    return comm.allreduce(probes.bandwidth_rates(probes.BANDWIDTH_N, 5)["daxpy"])


def xla_devices(entry, args, comm) -> list:
    """This process's JAX devices in the run ([] for an MPI implementation), whose
    memory_stats() the record keeps beside the RSS."""
    if entry.runtime not in registry.JAX_RUNTIMES:
        return []
    import jax
    from jaxpar.core import jaxenv
    devices = jaxenv.select_devices(args.devices, comm) if entry.runtime == registry.JAX_RUNTIME \
        else jax.local_devices()
    return [d for d in devices if d.process_index == jax.process_index()]


def local_probe(record, problem, entry, args, comm):
    """(seconds per time unit, the library) of the busiest rank's local work
    (problem.local_work) with the implementation's own kernel library, every rank at once,
    at the record's block shapes; (None, None) where the workload has none (the
    collectives). For the report's attribution of the measured time (docs/compare.md)."""
    from jaxpar.rank import localkernel

    work = problem.local_work(record)
    if not work:
        return None, None
    devices = None  # under mpirun: this process's device
    if entry.kernel_library == registry.XLA and record["launch"] == "single-process":
        from jaxpar.core import jaxenv
        devices = jaxenv.select_devices(args.devices, comm)  # the devices the run used
    seconds = localkernel.measure(entry.kernel_library, work, args.dtype, comm, devices)
    return seconds, localkernel.describe(entry.kernel_library)
