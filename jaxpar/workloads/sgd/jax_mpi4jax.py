"""Data-parallel SGD of the MLP yhat = tanh(x W1 + b1) W2 + b2 in JAX with mpi4jax:
the algorithm of c_mpi.c, with JAX computing and MPI inside the jitted program.

One process and one JAX device per rank; one jitted program runs all T steps
(lax.scan). The parameters are replicated; every rank holds the full x and y
and takes its block_slice of step t's global batch (rows (t B + i) mod n).
jax.value_and_grad gives the local loss and gradients, scaled by the global 1/B,
and one mpi4jax.allreduce (MPI_Allreduce, sum) per step of a single buffer that
packs the gradients and the loss makes them the full-batch ones; every rank
then applies the same update.

Each process traces its own program, so its slice of the batch has its own
static size: no padding or masking, and a rank with no rows (B < P) sums an
empty batch, contributing zeros.
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
# region: distribution (what the one-process version would not have)
from jax.flatten_util import ravel_pytree
from mpi4py import MPI

import mpi4jax
# endregion
from jaxpar.core import jaxenv
# region: distribution
from jaxpar.core.layout import block_sizes, block_slice
# endregion
from jaxpar.core.prepared import PreparedRun


def local_loss(params, x, y, batch):
    a = jnp.tanh(x @ params["W1"] + params["b1"])
    r = a @ params["W2"] + params["b2"] - y
    return jnp.sum(r * r) / (2 * batch)


def sgd(comm, *, steps, batch, lr):
    # region: distribution
    mine = block_slice(batch, comm.size, comm.rank)  # may be empty when batch < ranks
    # endregion

    @jax.jit
    def train(x, y, params):
        # region: distribution
        i = jnp.arange(mine.start, mine.stop)
        # endregion

        def step(params, t):
            rows = (t * batch + i) % x.shape[0]
            # region: gradient
            loss, grads = jax.value_and_grad(local_loss)(params, x[rows], y[rows], batch)
            # endregion
            # region: distribution
            # One buffer [gradients | loss], so one MPI_Allreduce per step, as in c_mpi.c.
            packed, unpack = ravel_pytree((grads, loss))
            grads, loss = unpack(mpi4jax.allreduce(packed, op=MPI.SUM, comm=comm))
            # endregion
            return jax.tree.map(lambda w, g: w - lr * g, params, grads), loss

        return lax.scan(step, params, jnp.arange(steps))

    return train


def prepare(x, y, params, *, steps, batch, lr, comm):
    device = jax.local_devices()[0]
    args = jax.device_put((x, y, params), device)
    train, compile_seconds = jaxenv.compile_timed_ordered(sgd(comm, steps=steps, batch=batch, lr=lr),
                                                          args, comm)

    # Every rank holds the same parameters and summed losses.
    return PreparedRun(run=lambda: jax.block_until_ready(train(*args)),
                       gather=lambda output: jax.tree.map(np.asarray, output),
                       ranks=comm.size, grid=None, launch="mpirun", compile_seconds=compile_seconds,
                       details={"devices": 1, "platform": device.platform,
                                "batch_rows": block_sizes(batch, comm.size)})
