"""Data-parallel SGD of the MLP yhat = tanh(x W1 + b1) W2 + b2 in JAX with
jax.pmap and lax.psum: the same program as jax_shard_map.py.

The one mapped argument is each device's rank; the parameters, X and Y are
broadcast (in_axes=None), and every device returns the same (params, losses),
stacked along a leading device axis. Under pmap the gradient with respect to a
broadcast argument is per-device, so the explicit psum is the only all-reduce.
"""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


def local_loss(params, x, y, valid, batch):
    a = jnp.tanh(x @ params["W1"] + params["b1"])
    r = jnp.where(valid[:, None], a @ params["W2"] + params["b2"] - y, 0)
    return jnp.sum(r * r) / (2 * batch)


def sgd(devices, batch, steps, lr):
    ndev = len(devices)
    width = -(-batch // ndev)  # fixed-size slices, padding masked (see jax_shard_map.py)

    @partial(jax.pmap, axis_name="p", devices=devices, in_axes=(0, None, None, None))
    def train(rank, params, x, y):
        first, end = rank * batch // ndev, (rank + 1) * batch // ndev
        i = first + jnp.arange(width)

        def step(params, t):
            rows = (t * batch + i) % x.shape[0]
            loss, grads = jax.value_and_grad(local_loss)(params, x[rows], y[rows], i < end, batch)
            loss, grads = lax.psum((loss, grads), "p")
            return jax.tree.map(lambda w, g: w - lr * g, params, grads), loss

        return lax.scan(step, params, jnp.arange(steps))

    return train
