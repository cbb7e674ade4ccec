"""The collectives the workloads use, in JAX with jax.pmap over P devices, each
run `iterations` times back to back in one lax.fori_loop: the same program as jax.py.

  allreduce: lax.psum
  allgather: lax.all_gather(tiled=True)
  bcast:     JAX has no one-to-all broadcast: lax.psum of a buffer that only
             device 0 holds (the others contribute zeros) is the broadcast, so
             this measures an all-reduce standing in for one
  sendrecv:  lax.ppermute around the ring, device d sending to d + 1 mod P

pmap maps over a leading device axis: the buffers are the rows of a (P, count)
array, row d = x + d. The loop carry passes through lax.optimization_barrier
every iteration, so that XLA cannot hoist the collective of the loop-invariant
buffer out of the loop. The loop count is an argument, so
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
    """One collective of each device's buffer (count,)."""
    if algorithm == "allreduce":
        return lax.psum(buf, "p")
    if algorithm == "allgather":
        return lax.all_gather(buf, "p", tiled=True)
    if algorithm == "bcast":
        return lax.psum(jnp.where(lax.axis_index("p") == 0, buf, 0), "p")
    return lax.ppermute(buf, "p", perm=[(d, (d + 1) % ndev) for d in range(ndev)])


@functools.cache  # one program per configuration: repeated calls reuse its compilation
def collective(devices, algorithm):
    ndev = len(devices)

    @partial(jax.pmap, axis_name="p", devices=devices, in_axes=(0, None))
    def kernel(buf, iterations):
        def body(i, carry):
            buf, out = lax.optimization_barrier(carry)
            return buf, step(algorithm, buf, ndev)

        width = buf.shape[0] * (ndev if algorithm == "allgather" else 1)
        return lax.fori_loop(0, iterations, body, (buf, jnp.zeros(width, buf.dtype)))[1]

    return kernel


def prepare(x, *, algorithm, iterations, comm, devices=None):
    devices = jaxenv.select_devices(devices, comm)
    ndev = len(devices)
    # Row d is device d's buffer x + d; under mpirun each process builds only its own row.
    rows = np.arange(ndev, dtype=x.dtype)[:, None]
    stacked = NamedSharding(Mesh(np.array(devices), ("p",)), P("p"))
    buf = jax.make_array_from_callback((ndev, x.size), stacked, lambda index: x + rows[index[0]])
    kernel = collective(tuple(devices), algorithm)
    count, zero = np.int32(iterations), np.int32(0)  # a traced loop count: the same program runs none
    compiled, compile_seconds = jaxenv.compile_timed(kernel, (buf, count), comm)
    return PreparedRun(run=lambda: jax.block_until_ready(compiled(buf, count)), gather=jaxenv.fetch,
                       ranks=ndev, grid=None, launch=jaxenv.launch_mode(),
                       compile_seconds=compile_seconds,
                       details={"count": x.size, "devices": ndev, "platform": devices[0].platform,
                                "noop_call_s": jaxenv.call_seconds(lambda: compiled(buf, zero), comm)})
