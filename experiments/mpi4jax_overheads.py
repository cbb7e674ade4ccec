"""Where mpi4jax's time goes, beside MPI's own (issue 9): run on a quiet machine,

    mpirun -n 2 python experiments/mpi4jax_overheads.py

each rank pinned to one core as the harness pins it. Prints, rank 0, medians of:
  1. one jitted call of one mpi4jax allreduce (8 B), of the same program with no
     collective (zero loop trips: JAX's dispatch of a program with ordered effects),
     of a plain jitted call, and of MPI_Allreduce from mpi4py;
  2. per allreduce inside one jitted loop of 50, against mpi4py's, at 8 B .. 8 MiB;
     and mpi4py's into a freshly allocated receive buffer each time, as a jitted
     loop receives into buffers XLA allocates: first-touch page faults of a fresh
     multi-megabyte buffer.
"""
import os
import time

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
os.sched_setaffinity(0, {comm.rank % os.cpu_count()})

import jax  # noqa: E402  (after pinning, as the runner does)
import jax.numpy as jnp  # noqa: E402
import mpi4jax  # noqa: E402
from jax import lax  # noqa: E402

jax.config.update("jax_enable_x64", True)
LOOP = 50


def median_seconds(call, repeats=50):
    call()
    times = []
    for _ in range(repeats):
        comm.Barrier()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return comm.allreduce(float(np.median(times)), op=MPI.MAX)


@jax.jit
def allreduce_loop(x, trips):
    def body(i, carry):
        x, _ = lax.optimization_barrier(carry)
        return x, mpi4jax.allreduce(x, op=MPI.SUM, comm=comm)
    return lax.fori_loop(0, trips, body, (x, jnp.zeros_like(x)))[1]


def main():
    out = []
    x = jnp.ones(1)
    one, zero = np.int32(1), np.int32(0)
    plain = jax.jit(lambda v: v + 1)
    send, recv = np.ones(1), np.empty(1)
    out.append(("one jitted mpi4jax allreduce, 8 B",
                median_seconds(lambda: allreduce_loop(x, one).block_until_ready())))
    out.append(("the same program, no collective (dispatch with ordered effects)",
                median_seconds(lambda: allreduce_loop(x, zero).block_until_ready())))
    out.append(("a plain jitted call (no effects)", median_seconds(lambda: plain(x).block_until_ready())))
    out.append(("MPI_Allreduce from mpi4py, 8 B", median_seconds(lambda: comm.Allreduce(send, recv))))
    for nbytes in (8, 65536, 1 << 20, 4 << 20, 8 << 20):
        n = nbytes // 8
        x, send, recv = jnp.ones(n), np.ones(n), np.ones(n)
        loop = np.int32(LOOP)
        base = median_seconds(lambda: allreduce_loop(x, zero).block_until_ready(), 10)
        jitted = (median_seconds(lambda: allreduce_loop(x, loop).block_until_ready(), 10) - base) / LOOP
        reused = median_seconds(lambda: comm.Allreduce(send, recv))
        fresh = median_seconds(lambda: comm.Allreduce(send, np.empty(n)))
        out.append((f"{nbytes} B: mpi4jax in a jitted loop / mpi4py reused buffer / mpi4py fresh "
                    "buffer", (jitted, reused, fresh)))
    if comm.rank == 0:
        print(f"MPI thread level: {MPI.Query_thread()} (3 = MPI_THREAD_MULTIPLE)")
        for what, value in out:
            values = value if isinstance(value, tuple) else (value,)
            print(f"{what}: " + " / ".join(f"{v * 1e6:.1f} µs" for v in values))


if __name__ == "__main__":
    main()
