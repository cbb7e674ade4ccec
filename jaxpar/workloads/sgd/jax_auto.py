"""Data-parallel SGD of the MLP yhat = tanh(x W1 + b1) W2 + b2 in JAX the way
most users would write it: jax.jit of plain jax.grad of the global-batch loss,
with the batch sharded over the devices and the parameters replicated; XLA's
SPMD partitioner inserts the gradient all-reduce.

x and y are replicated, as in the other versions: each step's batch is a
contiguous run of rows that would sit on one or two devices of a row-sharded x,
so a sharded x would add a gather of the batch across devices every step. With
x replicated, the sharding constraint on the gathered batch lets each device
gather only its own rows. P need not divide B: XLA pads the shards internally.
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


def loss(params, x, y):
    a = jnp.tanh(x @ params["W1"] + params["b1"])
    r = a @ params["W2"] + params["b2"] - y
    return jnp.sum(r * r) / (2 * x.shape[0])


@functools.cache  # one program per configuration: repeated calls reuse its compilation
def sgd(mesh, *, steps, batch, lr):
    # region: distribution
    replicated, by_rows = NamedSharding(mesh, P()), NamedSharding(mesh, P("x"))
    # endregion

    # region: distribution
    @partial(jax.jit, in_shardings=replicated, out_shardings=replicated)
    # endregion
    def train(x, y, params):
        def step(params, t):
            rows = (t * batch + jnp.arange(batch)) % x.shape[0]
            # region: distribution
            xb = lax.with_sharding_constraint(x[rows], by_rows)
            yb = lax.with_sharding_constraint(y[rows], by_rows)
            # endregion
            # region: gradient
            value, grads = jax.value_and_grad(loss)(params, xb, yb)
            # endregion
            return jax.tree.map(lambda w, g: w - lr * g, params, grads), value

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
                                "batch_rows": block_sizes(batch, len(devices))})
