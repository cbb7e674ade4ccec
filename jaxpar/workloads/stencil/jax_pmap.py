"""PRK's star stencil in JAX with jax.pmap: 2-D block decomposition with lax.ppermute
halo exchange, the same program as jax.py.

What pmap changes: it maps one device axis, `p`, so the pr x pc grid is laid out on it in
device order d = row * pc + col (nested pmap cannot express a 2-D grid in current JAX).
Each halo shift is one ppermute over `p` whose pairs connect every block to its grid
neighbour (d -> d + pc for the rows going down, d -> d + 1 for the columns going right,
none wrapping round), and a device finds its (row, col), for the interior mask, from
lax.axis_index("p"). The input is the stack of the zero-padded grid's blocks, (P, rows,
cols), and gather() unstacks and crops OUT.
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
def shift(grid, down, right):
    """ppermute pairs (d, d') on the device axis that pass every block `down` grid rows and
    `right` grid columns, without wrap-around (the devices with no source receive zeros)."""
    pr, pc = grid
    return [(r * pc + c, (r + down) * pc + c + right) for r in range(pr) for c in range(pc)
            if 0 <= r + down < pr and 0 <= c + right < pc]
# endregion


@functools.cache  # one program per configuration: repeated calls reuse its compilation
def stencil(devices, grid, n, radius, iterations):
    pc, R = grid[1], radius
    weights = [(k, float(w)) for k, w in zip(range(-R, R + 1), stencil_weights(R)) if k]

    @partial(jax.pmap, axis_name="p", devices=devices)
    def kernel(x_block):
        rows, cols = x_block.shape
        d = lax.axis_index("p")
        r = d // pc * rows + lax.broadcasted_iota(jnp.int32, (rows, cols), 0)
        c = d % pc * cols + lax.broadcasted_iota(jnp.int32, (rows, cols), 1)
        interior = (r >= R) & (r < n - R) & (c >= R) & (c < n - R)

        def iteration(_, state):
            halo_in, out_block = state  # IN with R halo rows and columns on every side
            # region: halo (the exchange into IN's ghost cells)
            mine = halo_in[R:R + rows, R:R + cols]
            # The neighbours' edge rows and columns into the halo (a star reads no corner).
            halo_in = (halo_in.at[:R, R:-R].set(lax.ppermute(mine[-R:], "p", shift(grid, 1, 0)))
                       .at[-R:, R:-R].set(lax.ppermute(mine[:R], "p", shift(grid, -1, 0)))
                       .at[R:-R, :R].set(lax.ppermute(mine[:, -R:], "p", shift(grid, 0, 1)))
                       .at[R:-R, -R:].set(lax.ppermute(mine[:, :R], "p", shift(grid, 0, -1))))
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


def stack_blocks(x, grid):
    """The grid's blocks stacked in device order d = row * pc + col."""
    pr, pc = grid
    rows, cols = x.shape[0] // pr, x.shape[1] // pc
    return np.ascontiguousarray(x.reshape(pr, rows, pc, cols).transpose(0, 2, 1, 3).reshape(pr * pc, rows, cols))


def unstack_blocks(stack, grid):
    pr, pc = grid
    _, rows, cols = stack.shape
    return stack.reshape(pr, pc, rows, cols).transpose(0, 2, 1, 3).reshape(pr * rows, pc * cols)


def prepare(x, *, radius, iterations, comm, devices=None):
    devices = jaxenv.select_devices(devices, comm)
    n, grid = x.shape[0], process_grid(len(devices))
    shape = (round_up(n, grid[0]), round_up(n, grid[1]))
    blocks = stack_blocks(np.pad(x, [(0, shape[0] - n), (0, shape[1] - n)]), grid)
    # Under mpirun each process holds its device's block of the stack.
    stacked = NamedSharding(Mesh(np.array(devices), ("p",)), P("p"))
    x_dev = jax.make_array_from_callback(blocks.shape, stacked, lambda index: blocks[index])

    compiled, compile_seconds = jaxenv.compile_timed(
        stencil(tuple(devices), grid, n, radius, iterations), (x_dev,), comm)
    return PreparedRun(run=lambda: jax.block_until_ready(compiled(x_dev)),
                       gather=lambda out: unstack_blocks(jaxenv.fetch(out), grid)[:n, :n],
                       ranks=len(devices), grid=grid, launch=jaxenv.launch_mode(),
                       compile_seconds=compile_seconds,
                       details={"devices": len(devices), "platform": devices[0].platform,
                                "padded_shape": list(shape)})
