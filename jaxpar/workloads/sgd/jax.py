"""Data-parallel SGD of the MLP yhat = tanh(x W1 + b1) W2 + b2 in JAX:
jax.shard_map with an explicit lax.psum, the same algorithm as c_mpi.c.

One jitted program runs all T steps (lax.scan). The parameters are
replicated; x and y are replicated too, as every MPI rank holds the full data,
so each device gathers its own slice of step t's batch (rows (t B + i) mod n)
from lax.axis_index, and one psum per step sums the partial gradients and
losses, each scaled by the global 1/B.

Shapes inside shard_map are the same on every device, so when P does not
divide B each device takes ceil(B/P) rows and masks those past the end of its
block_slice (all of them on a device with no rows, B < P).
"""
import functools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
# region: distribution (what the one-device version would not have)
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
# endregion

from jaxpar.core import jaxenv
from jaxpar.core.layout import block_sizes
from jaxpar.core.prepared import PreparedRun


def local_loss(params, x, y, valid, batch):
    a = jnp.tanh(x @ params["W1"] + params["b1"])
    # region: distribution (mask the padded rows)
    r = jnp.where(valid[:, None], a @ params["W2"] + params["b2"] - y, 0)
    # endregion
    return jnp.sum(r * r) / (2 * batch)


@functools.cache  # one program per configuration: repeated calls reuse its compilation
def sgd(mesh, *, steps, batch, lr):
    # region: distribution
    ndev = mesh.shape["x"]
    width = -(-batch // ndev)
    # endregion

    @jax.jit
    # region: distribution
    @partial(jax.shard_map, mesh=mesh, in_specs=(P(), P(), P()), out_specs=(P(), P()))
    # endregion
    def train(x, y, params):
        # region: distribution (this device's slice of the batch)
        d = lax.axis_index("x")
        first, end = d * batch // ndev, (d + 1) * batch // ndev  # block_slice(B, P, d)
        i = first + jnp.arange(width)
        # endregion

        def step(params, t):
            rows = (t * batch + i) % x.shape[0]
            # region: distribution
            # The parameters are the same on every device; left so, grad would
            # psum their gradient itself (the transpose of a broadcast). Marked
            # per-device, grad stays local and the one psum below carries the
            # gradient and the loss together: one all-reduce per step.
            mine = lax.pcast(params, "x", to="varying")
            # endregion
            # region: gradient
            loss, grads = jax.value_and_grad(local_loss)(mine, x[rows], y[rows], i < end, batch)
            # endregion
            # region: distribution
            loss, grads = lax.psum((loss, grads), "x")
            # endregion
            return jax.tree.map(lambda w, g: w - lr * g, params, grads), loss

        return lax.scan(step, params, jnp.arange(steps))

    return train


def prepare(x, y, params, *, steps, batch, lr, comm, devices=None):
    # region: distribution
    devices = jaxenv.select_devices(devices, comm)
    mesh = Mesh(np.array(devices), ("x",))
    replicated = NamedSharding(mesh, P())
    place = lambda a: jax.make_array_from_callback(a.shape, replicated, lambda index: a[index])
    # endregion
    args = (place(x), place(y), {name: place(p) for name, p in params.items()})
    compiled, compile_seconds = jaxenv.compile_timed(sgd(mesh, steps=steps, batch=batch, lr=lr),
                                                     args, comm)

    return PreparedRun(run=lambda: jax.block_until_ready(compiled(*args)),
                       gather=lambda output: jax.tree.map(jaxenv.replica, output),  # replicated
                       ranks=len(devices), grid=None, launch=jaxenv.launch_mode(),
                       compile_seconds=compile_seconds,
                       details={"devices": len(devices), "platform": devices[0].platform,
                                "batch_rows": block_sizes(batch, len(devices)),
                                "rows_per_device": -(-batch // len(devices))})
