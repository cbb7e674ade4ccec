"""PRK's star stencil in JAX: jax.shard_map with explicit lax.ppermute halo exchange.

Algorithm: 2-D block decomposition with a halo exchange every iteration (PRK's MPI1
Stencil). The grid is split in equal blocks over a (row, col) mesh of shape
process_grid(P), and one jitted program runs all T iterations as a lax.fori_loop on each
device's block, carrying (IN, OUT), IN with a halo of width R on every side as PRK's MPI
code allocates it. Each iteration a device gets R rows from its neighbours above and below
(lax.ppermute along `row`) and R columns from its left and right neighbours (along `col`)
into that halo, adds the star stencil of the halo'd block to OUT at the true interior
points, and adds 1 to IN.

The shifts do not wrap round: a device on the grid's edge receives zeros there, which
only boundary-band points read, and those are masked out (global indices from
lax.axis_index). Blocks must be equal, so prepare() zero-pads the grid at the bottom and
right to pr ceil(n/pr) x pc ceil(n/pc) and gather() crops OUT; the padding lies beyond
n, where again only masked points read it.
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


# region: halo (which neighbour exists)
def shift(size, step):
    """ppermute pairs that pass every block `step` places along a mesh axis of `size`,
    without wrap-around (the devices with no source receive zeros)."""
    return [(i, i + step) for i in range(size) if 0 <= i + step < size]
# endregion


@functools.cache  # one program per configuration: repeated calls reuse its compilation
def stencil(mesh, n, radius, iterations):
    pr, pc, R = mesh.shape["row"], mesh.shape["col"], radius
    weights = [(k, float(w)) for k, w in zip(range(-R, R + 1), stencil_weights(R)) if k]

    @jax.jit
    @partial(jax.shard_map, mesh=mesh, in_specs=P("row", "col"), out_specs=P("row", "col"))
    def kernel(x_block):
        rows, cols = x_block.shape
        r = lax.axis_index("row") * rows + lax.broadcasted_iota(jnp.int32, (rows, cols), 0)
        c = lax.axis_index("col") * cols + lax.broadcasted_iota(jnp.int32, (rows, cols), 1)
        interior = (r >= R) & (r < n - R) & (c >= R) & (c < n - R)

        def iteration(_, state):
            halo_in, out_block = state  # IN with R halo rows and columns on every side
            # region: halo (the exchange into IN's ghost cells)
            mine = halo_in[R:R + rows, R:R + cols]
            # The neighbours' edge rows and columns into the halo (a star reads no corner).
            halo_in = (halo_in.at[:R, R:-R].set(lax.ppermute(mine[-R:], "row", shift(pr, 1)))
                       .at[-R:, R:-R].set(lax.ppermute(mine[:R], "row", shift(pr, -1)))
                       .at[R:-R, :R].set(lax.ppermute(mine[:, -R:], "col", shift(pc, 1)))
                       .at[R:-R, -R:].set(lax.ppermute(mine[:, :R], "col", shift(pc, -1))))
            # endregion
            s = sum(w * (halo_in[R:R + rows, R + k:R + k + cols] + halo_in[R + k:R + k + rows, R:R + cols])
                    for k, w in weights)
            # IN += 1 on the halo too: it is overwritten before it is next read
            return halo_in + 1, out_block + jnp.where(interior, s, 0)

        # region: halo (IN with its ghost cells, R wide on every side)
        state = (jnp.pad(x_block, R), jnp.zeros_like(x_block))
        # endregion
        return lax.fori_loop(0, iterations, iteration, state)[1]

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
