"""Data-parallel SGD of the MLP yhat = tanh(x W1 + b1) W2 + b2 in JAX the way
most users would write it: jax.jit of plain jax.grad of the global-batch loss,
with the batch sharded over the devices and the parameters replicated; XLA's
SPMD partitioner inserts the gradient all-reduce.

X and Y are replicated, as in the other versions: each step's batch is a
contiguous run of rows that would sit on one or two devices of a row-sharded X,
so a sharded X would add a gather of the batch across devices every step. With
X replicated, the sharding constraint on the gathered batch lets each device
gather only its own rows. P need not divide B: XLA pads the shards internally.
"""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P


def loss(params, x, y):
    a = jnp.tanh(x @ params["W1"] + params["b1"])
    r = a @ params["W2"] + params["b2"] - y
    return jnp.sum(r * r) / (2 * x.shape[0])


def sgd(mesh, batch, steps, lr):
    replicated, by_rows = NamedSharding(mesh, P()), NamedSharding(mesh, P("x"))

    @partial(jax.jit, in_shardings=replicated, out_shardings=replicated)
    def train(params, x, y):
        def step(params, t):
            rows = (t * batch + jnp.arange(batch)) % x.shape[0]
            xb = lax.with_sharding_constraint(x[rows], by_rows)
            yb = lax.with_sharding_constraint(y[rows], by_rows)
            value, grads = jax.value_and_grad(loss)(params, xb, yb)
            return jax.tree.map(lambda w, g: w - lr * g, params, grads), value

        return lax.scan(step, params, jnp.arange(steps))

    return train
