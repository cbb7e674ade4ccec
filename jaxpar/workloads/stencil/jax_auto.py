"""PRK's star stencil in JAX the way most users would write it: plain jnp slicing of the
global grid under jax.jit, sharded in 2-D blocks over a (row, col) mesh; XLA's SPMD
partitioner inserts the halo exchange.

Algorithm: PRK's serial loop on the global arrays. One jitted program runs all T
iterations as a lax.fori_loop carrying the global IN and OUT: OUT's interior gets the sum
over k of w_k times IN shifted k columns and k rows, then IN += 1. The shardings on the
jit and on the carry keep both grids in blocks, so that the partitioner turns the shifted
slices into exchanges with the neighbouring blocks rather than gathering the grid.

The stencil's sum is added to OUT as jnp.pad(sum) (zeros on the band), not as
OUT.at[R:n-R, R:n-R].add(sum): that update does not line up with the blocks, and XLA
then all-gathers both grids every iteration and slices its block back out (the compiled
HLO at n = 1024, P = 2: 2 all-gathers and 4 collective-permutes per iteration; with the
pad, the 4 collective-permutes of the halos only), the same result either way.

Blocks must be equal, so prepare() zero-pads the grid at the bottom and right to
pr ceil(n/pr) x pc ceil(n/pc) and gather() crops OUT; the slices use the true n, so
nothing reads the padding.
"""
import functools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxpar.core import jaxenv
from jaxpar.core.layout import process_grid, round_up
from jaxpar.core.prepared import PreparedRun
from jaxpar.workloads.stencil.problem import stencil_weights


@functools.cache  # one program per configuration: repeated calls reuse its compilation
def stencil(mesh, n, radius, iterations):
    blocks, R = NamedSharding(mesh, P("row", "col")), radius
    weights = [(k, float(w)) for k, w in zip(range(-R, R + 1), stencil_weights(R)) if k]
    inner = slice(R, n - R)

    @partial(jax.jit, in_shardings=blocks, out_shardings=blocks)
    def kernel(x):
        band = [(R, x.shape[0] - n + R), (R, x.shape[1] - n + R)]  # the edge band and the padding

        def iteration(_, state):
            in_, out = state
            s = sum(w * (in_[inner, R + k:n - R + k] + in_[R + k:n - R + k, inner]) for k, w in weights)
            out = out + jnp.pad(s, band)
            return (lax.with_sharding_constraint(in_ + 1, blocks),
                    lax.with_sharding_constraint(out, blocks))

        out = lax.with_sharding_constraint(jnp.zeros_like(x), blocks)
        return lax.fori_loop(0, iterations, iteration, (x, out))[1]

    return kernel


def prepare(x, *, radius, iterations, comm, devices=None):
    devices = jaxenv.select_devices(devices, comm)
    n = x.shape[0]
    pr, pc = process_grid(len(devices))
    mesh = Mesh(np.array(devices).reshape(pr, pc), ("row", "col"))
    shape = (round_up(n, pr), round_up(n, pc))
    padded = np.pad(x, [(0, shape[0] - n), (0, shape[1] - n)])
    x_dev = jax.make_array_from_callback(shape, NamedSharding(mesh, P("row", "col")),
                                         lambda index: padded[index])

    compiled, compile_seconds = jaxenv.compile_timed(stencil(mesh, n, radius, iterations), (x_dev,), comm)
    return PreparedRun(run=lambda: jax.block_until_ready(compiled(x_dev)),
                       gather=lambda out: jaxenv.fetch(out)[:n, :n], ranks=len(devices), grid=(pr, pc),
                       launch=jaxenv.launch_mode(), compile_seconds=compile_seconds,
                       details={"devices": len(devices), "platform": devices[0].platform,
                                "padded_shape": list(shape)})
