"""The collectives the workloads use, in JAX with mpi4jax: one process per rank,
one JAX device each, MPI inside the jitted program. Each collective runs
`iterations` times back to back in one lax.fori_loop.

  allreduce: mpi4jax.allreduce (MPI.SUM)
  allgather: mpi4jax.allgather
  bcast:     mpi4jax.bcast from rank 0
  sendrecv:  mpi4jax.sendrecv around the ring, to rank + 1 and from rank - 1

The loop runs inside one jitted call because every call of a program with an
mpi4jax op pays JAX's dispatch of its ordered effects (about 0.5 ms a call on
the development machine, many times a small collective; see
jaxenv.compile_timed_ordered), which would otherwise be counted with each
collective. The loop carry passes through
lax.optimization_barrier every iteration, so that XLA cannot treat the
collective of the loop-invariant buffer as computed once. The loop count is an
argument, so prepare() also times the same program running none: JAX's
dispatch cost per call, ordered effects included (noop_call_s).
"""

import jax
import jax.numpy as jnp
import mpi4jax
import numpy as np
from jax import lax
from mpi4py import MPI

from jaxpar.core import jaxenv
from jaxpar.core.prepared import PreparedRun


def step(algorithm, buf, comm):
    """One collective of this rank's buffer (count,)."""
    if algorithm == "allreduce":
        return mpi4jax.allreduce(buf, op=MPI.SUM, comm=comm)
    if algorithm == "allgather":
        return mpi4jax.allgather(buf, comm=comm).reshape(-1)  # (P, count), rank-major
    if algorithm == "bcast":
        return mpi4jax.bcast(buf, root=0, comm=comm)
    right, left = (comm.rank + 1) % comm.size, (comm.rank - 1) % comm.size
    return mpi4jax.sendrecv(buf, buf, source=left, dest=right, comm=comm)  # buf: recv shape


def collective(comm, algorithm):
    @jax.jit
    def kernel(buf, iterations):
        def body(i, carry):
            buf, out = lax.optimization_barrier(carry)
            return buf, step(algorithm, buf, comm)

        width = buf.size * (comm.size if algorithm == "allgather" else 1)
        return lax.fori_loop(0, iterations, body, (buf, jnp.zeros(width, buf.dtype)))[1]

    return kernel


def prepare(x, *, algorithm, iterations, comm):
    device = jax.local_devices()[0]  # this rank's; MPI, not jax.distributed, joins the ranks
    buf = jax.device_put(x + x.dtype.type(comm.rank), device)
    count, zero = np.int32(iterations), np.int32(0)  # a traced loop count: the same program runs none
    kernel, compile_seconds = jaxenv.compile_timed_ordered(collective(comm, algorithm), (buf, count),
                                                           comm)
    return PreparedRun(run=lambda: jax.block_until_ready(kernel(buf, count)),
                       gather=lambda out: np.stack(comm.allgather(np.asarray(out))),
                       ranks=comm.size, grid=None, launch="mpirun", compile_seconds=compile_seconds,
                       details={"count": x.size, "devices": comm.size, "platform": device.platform,
                                "noop_call_s": jaxenv.call_seconds(lambda: kernel(buf, zero), comm)})
