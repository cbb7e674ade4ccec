"""JAX runtime plumbing shared by the JAX implementations.

Two launch modes:
  single-process: one process, P CPU (or GPU) devices;
  mpirun:         P processes, one device each, joined by
                  jax.distributed.initialize(cluster_detection_method="mpi4py").

Precision is scoped, not set process-wide: `precision()` turns on
jax_enable_x64 (float64 inputs stay float64) and
jax_default_matmul_precision="highest" (no TF32/bf16 passes on accelerators)
only around jaxpar's own placement, compilation, runs and gathers, so that a
caller's JAX configuration is left as it was. jaxpar.api applies it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import time

import numpy as np
from mpi4py import MPI

from jaxpar.core import hlo

_distributed = False
_compiled_memory = None  # memory_analysis() of the last compile_timed, until scoped() takes it
_compiled_kernel = None  # (kernel, args) of the last compile_timed, until scoped() takes it
_compiled_collectives = None  # hlo.collectives() of the last compile_timed, likewise


def ensure_runtime(comm=MPI.COMM_WORLD):
    """Join the processes of an mpirun launch into one JAX runtime, once."""
    global _distributed
    import jax

    if comm.size > 1 and not _distributed:
        if comm is not MPI.COMM_WORLD and comm.size != MPI.COMM_WORLD.size:
            raise ValueError("multi-process JAX spans MPI.COMM_WORLD; it cannot run on a sub-communicator")
        jax.distributed.initialize(cluster_detection_method="mpi4py")
        _distributed = True
    return jax


@contextlib.contextmanager
def precision():
    """float64 kept as float64 and full-precision dots, for the duration of the block."""
    import jax

    with jax.enable_x64(True), jax.default_matmul_precision("highest"):
        yield


def scoped(prepared):
    """The PreparedRun with its run() and gather() inside precision(), and in its
    details["xla_memory"] the memory analysis of the kernel its prepare() compiled with
    compile_timed (None where it compiled none: Keras compiles inside fit), in
    details["xla_collectives"] the collectives its HLO executes per call, and as its
    op_by_op() that kernel run un-jitted (the runner's --op-by-op; PreparedRun.op_by_op)."""
    global _compiled_memory, _compiled_kernel, _compiled_collectives
    analysis, _compiled_memory = _compiled_memory, None
    compiled_kernel, _compiled_kernel = _compiled_kernel, None
    executed, _compiled_collectives = _compiled_collectives, None

    def run():
        with precision():
            return prepared.run()

    def gather(output):
        with precision():
            return prepared.gather(output)

    def op_by_op():
        import jax

        kernel, args = compiled_kernel
        with precision(), jax.disable_jit():
            return jax.block_until_ready(kernel(*args))

    return dataclasses.replace(prepared, run=run, gather=gather,
                               details={**prepared.details, "xla_memory": analysis,
                                        "xla_collectives": executed},
                               op_by_op=op_by_op if compiled_kernel else None)


def launch_mode() -> str:
    return "mpirun" if _distributed else "single-process"


def select_devices(devices, comm=MPI.COMM_WORLD):
    """`devices`: None (all JAX sees), an int P (the first P), or a list of jax devices."""
    jax = ensure_runtime(comm)
    available = jax.devices()
    if devices is None:
        return available
    if isinstance(devices, int):
        if not 1 <= devices <= len(available):
            raise ValueError(f"devices={devices} but JAX sees {len(available)} device(s) "
                             f"(set jax_num_cpu_devices, or launch with mpirun -n {devices})")
        if _distributed and devices != len(available):
            raise ValueError("under mpirun every process contributes its device; devices= must be "
                             f"{len(available)} or None")
        return available[:devices]
    return list(devices)


def compile_timed(kernel, args, comm):
    """Ahead-of-time compile kernel for args; return (compiled, seconds, maximum over ranks).

    Compiling here keeps JIT time out of every timed repeat and reports it apart. The
    compiled kernel's memory analysis is kept for scoped() (jaxpar.api calls it on every
    JAX PreparedRun), which puts it in the run's details["xla_memory"], and so are the
    collectives its HLO executes per call (details["xla_collectives"], jaxpar.core.hlo);
    the kernel and args too, for the PreparedRun's op_by_op().
    """
    global _compiled_memory, _compiled_kernel, _compiled_collectives
    start = time.perf_counter()
    compiled = kernel.lower(*args).compile()
    seconds = comm.allreduce(time.perf_counter() - start, op=MPI.MAX)
    _compiled_memory = memory_analysis(compiled)
    _compiled_kernel = (kernel, args)
    _compiled_collectives = hlo.collectives_or_reason(compiled)
    return compiled, seconds


MEMORY_ANALYSIS = ("argument_size_in_bytes", "output_size_in_bytes", "alias_size_in_bytes",
                   "temp_size_in_bytes", "generated_code_size_in_bytes", "peak_memory_in_bytes")


def memory_analysis(compiled) -> dict | None:
    """XLA's memory analysis of a compiled kernel, in bytes, for one device (the program
    each device runs: its shards of the arguments and outputs): arguments, outputs, the
    outputs aliasing (donated) arguments, temporaries, generated code, and XLA's own peak
    estimate; None where the backend gives none."""
    try:
        stats = compiled.memory_analysis()
    except Exception:  # not every backend or executable implements it
        return None
    if stats is None:
        return None
    return {name: int(getattr(stats, name)) for name in MEMORY_ANALYSIS if hasattr(stats, name)}


def compile_timed_ordered(kernel, args, comm):
    """compile_timed for a jitted kernel with ordered effects (every mpi4jax op has one):
    return (kernel itself, seconds). Calls go through the jitted function, which reuses the
    compilation timed here: in JAX 0.10 the compiled object's own fast path drops the effect
    token from its second call on ("Execution supplied 1 arguments but compiled program
    expected 2"). Each such call pays JAX's dispatch of ordered effects (its Python path and
    a token transfer: about 0.5 ms on the development machine), so a kernel loops inside."""
    _, seconds = compile_timed(kernel, args, comm)
    return kernel, seconds


COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
                  "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "/jax/core/compile/backend_compile_duration")


def events_during(call, events) -> tuple:
    """(call()'s value, the durations of the JAX monitoring events in events that this
    process reported while it ran)."""
    import jax.monitoring

    durations = []

    def listener(event, duration, **_):
        if event in events:
            durations.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        value = call()
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return value, durations


def compile_seconds_during(call, comm) -> float:
    """Run call(); return the seconds JAX reported tracing, lowering and compiling in it
    (its monitoring events), maximum over ranks. For a framework that jits inside its own
    loop (Keras's fit), which leaves no compile step to time apart, and no compiled object
    whose memory to analyse (details["xla_memory"] is None)."""
    global _compiled_memory, _compiled_kernel, _compiled_collectives
    # none from an earlier prepare() that failed before scoped()
    _compiled_memory = _compiled_kernel = _compiled_collectives = None
    _, seconds = events_during(call, COMPILE_EVENTS)
    return comm.allreduce(sum(seconds), op=MPI.MAX)


BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"


def compiles_during(call):
    """(call()'s value, the XLA compilations JAX reported during it, their seconds) in this
    process: in an op-by-op run, eager mode's compilation of each primitive (jaxpar.run)."""
    value, seconds = events_during(call, (BACKEND_COMPILE,))
    return value, len(seconds), sum(seconds)


def call_seconds(call, comm, calls=20) -> float:
    """Median time of call() (blocking on its result), maximum over ranks (not timed). With
    a kernel run for zero iterations, the same jitted program minus its work: JAX's dispatch
    cost, reported beside a measured collective to tell the two apart."""
    import jax

    times = []
    for _ in range(calls):
        start = time.perf_counter()
        jax.block_until_ready(call())
        times.append(time.perf_counter() - start)
    return comm.allreduce(float(np.median(times)), op=MPI.MAX)


def replica(array) -> np.ndarray:
    """This process's copy of a replicated jax.Array (every device holds the global value),
    or, for pmap's stacked output, of its first local device's slice."""
    return np.array(array.addressable_data(0))


def fetch(array) -> np.ndarray:
    """The global value of a (possibly multi-process) jax.Array, on every process."""
    if array.is_fully_addressable:
        return np.asarray(array)
    from jax.experimental import multihost_utils
    return np.asarray(multihost_utils.process_allgather(array, tiled=True))
