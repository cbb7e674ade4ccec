"""PRK's star stencil of radius R in JAX with mpi4jax: 2-D block decomposition with halo
exchange, as in mpi4py.py, with JAX computing and MPI carrying the halos inside one
jitted program (lax.fori_loop over the iterations); one process and one device per rank.

Rank (row, col) of the pr x pc process grid owns its uneven block of the n x n grid
(layout.block_slice, as in mpi4py.py; no padding: each process traces its own program).
The program is jax.py's, with MPI in place of lax.ppermute (the transport is the only
difference): the loop carries IN with a halo of width R on every side, as PRK's MPI code
allocates it. Each iteration:
  1. halo exchange with the four neighbours: R rows up and down, R columns left and
     right, each an mpi4jax.sendrecv (MPI_Sendrecv) that shifts the whole grid one way,
     written into IN's halo (a star needs no corners). Its position in the grid is a
     Python value at trace time, so a rank on the global edge calls mpi4jax.send or
     mpi4jax.recv alone, or nothing where the grid is one rank wide, and its halo there
     is zeros: a receive from MPI.PROC_NULL would return mpi4jax's new, unwritten buffer
     (garbage, NaN included, which a mask cannot zero);
  2. OUT += the stencil of IN at the points of the global interior R <= r, c < n - R;
  3. IN += 1 (the halo too: it is overwritten before it is next read).
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import mpi4jax
from jaxpar.core import jaxenv
from jaxpar.core.layout import block_sizes, block_slice, gather_blocks, process_grid
from jaxpar.core.prepared import PreparedRun
from jaxpar.workloads.stencil.problem import stencil_weights


# region: halo (which neighbour exists, and the exchange)
def shift(comm, band, source, dest):
    """What `source` sends (a band shaped like `band`) while this rank sends `band` to
    `dest`; zeros where there is no source. None marks a side past the global edge."""
    if source is None:
        if dest is not None:
            mpi4jax.send(band, dest, comm=comm)
        return jnp.zeros_like(band)
    if dest is None:
        return mpi4jax.recv(band, source, comm=comm)
    return mpi4jax.sendrecv(band, band, source, dest, comm=comm)
# endregion


def stencil(comm, neighbours, origin, n, *, radius, iterations):
    """The jitted kernel: OUT of the block whose first point is the global origin (r0, c0)."""
    R, w = radius, [float(v) for v in stencil_weights(radius)]
    # region: halo
    up, down, left, right = neighbours
    # endregion

    @jax.jit
    def kernel(block):
        rows, cols = block.shape
        r = origin[0] + lax.broadcasted_iota(jnp.int32, (rows, cols), 0)
        c = origin[1] + lax.broadcasted_iota(jnp.int32, (rows, cols), 1)
        interior = (R <= r) & (r < n - R) & (R <= c) & (c < n - R)

        def iteration(_, state):
            halo_in, out = state  # IN with R halo rows and columns on every side
            # region: halo (the exchange into IN's ghost cells)
            mine = halo_in[R:R + rows, R:R + cols]
            # Every rank shifts down, then up, then right, then left: the same order, so
            # each send meets its receive.
            halo_in = (halo_in.at[:R, R:-R].set(shift(comm, mine[-R:], up, down))
                       .at[-R:, R:-R].set(shift(comm, mine[:R], down, up))
                       .at[R:-R, :R].set(shift(comm, mine[:, -R:], left, right))
                       .at[R:-R, -R:].set(shift(comm, mine[:, :R], right, left)))
            # endregion
            s = sum(w[R + k] * (halo_in[R:R + rows, R + k:R + k + cols] + halo_in[R + k:R + k + rows, R:R + cols])
                    for k in range(-R, R + 1) if k)
            return halo_in + 1, out + jnp.where(interior, s, 0)

        # region: halo (IN with its ghost cells, R wide on every side)
        state = (jnp.pad(block, R), jnp.zeros_like(block))
        # endregion
        return lax.fori_loop(0, iterations, iteration, state)[1]

    return kernel


def prepare(x, *, radius, iterations, comm):
    """This rank's block of the global grid on its one JAX device, and its neighbours."""
    n, size = x.shape[0], comm.size
    pr, pc = process_grid(size)
    row, col = divmod(comm.rank, pc)
    rows, cols = block_slice(n, pr, row), block_slice(n, pc, col)
    # region: halo
    rank_at = lambda r, c: r * pc + c if 0 <= r < pr and 0 <= c < pc else None
    neighbours = (rank_at(row - 1, col), rank_at(row + 1, col), rank_at(row, col - 1),
                  rank_at(row, col + 1))
    # endregion

    device = jax.local_devices()[0]
    block = jax.device_put(x[rows, cols], device)
    kernel, compile_seconds = jaxenv.compile_timed_ordered(
        stencil(comm, neighbours, (rows.start, cols.start), n, radius=radius,
                iterations=iterations), (block,), comm)
    slices = [(block_slice(n, pr, r // pc), block_slice(n, pc, r % pc)) for r in range(size)]
    gather = lambda out: gather_blocks(comm, np.asarray(out), slices, (n, n), x.dtype)
    return PreparedRun(run=lambda: jax.block_until_ready(kernel(block)), gather=gather,
                       ranks=size, grid=(pr, pc), launch="mpirun", compile_seconds=compile_seconds,
                       details={"devices": 1, "platform": device.platform,
                                "block_rows": block_sizes(n, pr), "block_cols": block_sizes(n, pc)})
