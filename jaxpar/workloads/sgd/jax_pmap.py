"""Data-parallel SGD of the MLP yhat = tanh(x W1 + b1) W2 + b2 in JAX with
jax.pmap and lax.psum: the same program as jax.py.

The one mapped argument is each device's rank; x, y and the parameters are
broadcast (in_axes=None), and every device returns the same (params, losses),
stacked along a leading device axis. Under pmap the gradient with respect to a
broadcast argument is per-device, so the explicit psum is the only all-reduce.
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
def sgd(devices, *, steps, batch, lr):
    # region: distribution
    ndev = len(devices)
    width = -(-batch // ndev)  # fixed-size slices, padding masked (see jax.py)
    # endregion

    # region: distribution
    @partial(jax.pmap, axis_name="p", devices=devices, in_axes=(0, None, None, None))
    def train(rank, x, y, params):
        first, end = rank * batch // ndev, (rank + 1) * batch // ndev
        i = first + jnp.arange(width)
    # endregion

        def step(params, t):
            rows = (t * batch + i) % x.shape[0]
            # region: gradient
            loss, grads = jax.value_and_grad(local_loss)(params, x[rows], y[rows], i < end, batch)
            # endregion
            # region: distribution
            loss, grads = lax.psum((loss, grads), "p")
            # endregion
            return jax.tree.map(lambda w, g: w - lr * g, params, grads), loss

        return lax.scan(step, params, jnp.arange(steps))

    return train


def prepare(x, y, params, *, steps, batch, lr, comm, devices=None):
    # region: distribution
    devices = jaxenv.select_devices(devices, comm)
    ndev = len(devices)
    mesh = Mesh(np.array(devices), ("p",))
    place = lambda a, spec: jax.make_array_from_callback(a.shape, NamedSharding(mesh, spec),
                                                         lambda index: a[index])
    args = (place(np.arange(ndev), P("p")), place(x, P()), place(y, P()),
            {name: place(p, P()) for name, p in params.items()})
    # endregion
    compiled, compile_seconds = jaxenv.compile_timed(
        sgd(tuple(devices), steps=steps, batch=batch, lr=lr), args, comm)

    # every device returns the same values, stacked: this process's first copy
    return PreparedRun(run=lambda: jax.block_until_ready(compiled(*args)),
                       gather=lambda output: jax.tree.map(lambda a: jaxenv.replica(a)[0], output),
                       ranks=ndev, grid=None, launch=jaxenv.launch_mode(),
                       compile_seconds=compile_seconds,
                       details={"devices": ndev, "platform": devices[0].platform,
                                "batch_rows": block_sizes(batch, ndev), "rows_per_device": -(-batch // ndev)})
