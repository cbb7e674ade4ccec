"""The collectives the workloads use, in JAX: jax.shard_map over a 1-D mesh axis
"x", each run `iterations` times back to back in one jitted lax.fori_loop.

  allreduce: lax.psum
  allgather: lax.all_gather(tiled=True)
  bcast:     JAX has no one-to-all broadcast: lax.psum of a buffer that only
             device 0 holds (the others contribute zeros) is the broadcast, so
             this measures an all-reduce standing in for one
  sendrecv:  lax.ppermute around the ring, device d sending to d + 1 mod P

The buffers are the rows of a (P, count) array sharded over "x", row d = x + d.
The loop carry passes through lax.optimization_barrier every iteration: the
collective of a loop-invariant buffer would otherwise be hoisted out of the
loop by XLA and run once. The loop count is an argument, so
prepare() also times the same program running none: JAX's dispatch cost per
call, reported as noop_call_s beside the collective.
"""
import functools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from mpi4py import MPI

from jaxpar.core import jaxenv
from jaxpar.core.prepared import PreparedRun


def step(algorithm, buf, ndev):
    """One collective of each device's buffer (1, count)."""
    if algorithm == "allgather":
        return lax.all_gather(buf, "x", axis=1, tiled=True)
    if algorithm == "sendrecv":
        return lax.ppermute(buf, "x", perm=[(d, (d + 1) % ndev) for d in range(ndev)])
    mine = buf if algorithm == "allreduce" else jnp.where(lax.axis_index("x") == 0, buf, 0)
    # psum's result is the same on every device; the loop carries a per-device value
    return lax.pcast(lax.psum(mine, "x"), "x", to="varying")


@functools.cache  # one program per configuration: repeated calls reuse its compilation
def collective(mesh, algorithm):
    ndev = mesh.shape["x"]

    @jax.jit
    @partial(jax.shard_map, mesh=mesh, in_specs=(P("x"), P()), out_specs=P("x"))
    def kernel(buf, iterations):
        def body(i, carry):
            buf, out = lax.optimization_barrier(carry)
            return buf, step(algorithm, buf, ndev)

        width = buf.shape[1] * (ndev if algorithm == "allgather" else 1)
        out = lax.pcast(jnp.zeros((1, width), buf.dtype), "x", to="varying")
        return lax.fori_loop(0, iterations, body, (buf, out))[1]

    return kernel


def prepare(x, *, algorithm, iterations, comm, devices=None):
    devices = jaxenv.select_devices(devices, comm)
    ndev = len(devices)
    mesh = Mesh(np.array(devices), ("x",))
    # Row d is device d's buffer x + d; under mpirun each process builds only its own row.
    rows = np.arange(ndev, dtype=x.dtype)[:, None]
    sharded = NamedSharding(mesh, P("x"))
    buf = jax.make_array_from_callback((ndev, x.size), sharded, lambda index: x + rows[index[0]])
    replicated = NamedSharding(mesh, P())
    count, zero = (jax.make_array_from_callback((), replicated, lambda _: np.int32(n))
                   for n in (iterations, 0))  # a traced loop count: the same program runs none
    kernel = collective(mesh, algorithm)
    compiled, compile_seconds = jaxenv.compile_timed(kernel, (buf, count), comm)
    return PreparedRun(run=lambda: jax.block_until_ready(compiled(buf, count)), gather=jaxenv.fetch,
                       ranks=ndev, grid=None, launch=jaxenv.launch_mode(),
                       compile_seconds=compile_seconds,
                       details={"count": x.size, "devices": ndev, "platform": devices[0].platform,
                                "noop_call_s": jaxenv.call_seconds(lambda: compiled(buf, zero), comm)})
