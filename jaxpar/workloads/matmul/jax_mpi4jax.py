"""Distributed matmul C = A B in JAX with mpi4jax: MPI collectives inside one jitted
program, one process and one JAX device per rank; the algorithms of c_mpi.c.

  summa:           SUMMA on a pr x pc grid. For each panel of K, the grid column
                   that owns the A panel broadcasts it along the grid row
                   (mpi4jax.bcast, MPI_Bcast), the grid row that owns the B panel
                   broadcasts it down the grid column, and every rank adds the
                   panel product to its C block.
  summa_allreduce: the same, with every "broadcast" an MPI_Allreduce (sum) of the
                   panel zeroed on the ranks that do not own it: what the `jax`
                   implementation's lax.psum does, since lax has no one-to-all
                   broadcast. Set beside summa, it prices that substitution.
  allgather:       1-D row blocks of A, B and C; B is all-gathered
                   (mpi4jax.allgather, MPI_Allgather), then one local product.

Every process traces its own program, so its rank, its block sizes and every
panel's owners are Python values at trace time: the blocks are c_mpi.c's, uneven
or empty, and the panels are cut at the block edges of both partitions of K as
there. MPI_Allgather takes equal blocks, so allgather pads B's row blocks to the
largest and A gets zero columns where B has padding rows.
"""
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from mpi4py import MPI

import mpi4jax
from jaxpar.core import jaxenv
from jaxpar.core.layout import block_lo, block_sizes, block_slice, gather_blocks, process_grid
from jaxpar.core.prepared import PreparedRun


def owner(n, parts, i):
    """Index of the block of the n-item partition into parts that holds item i
    (i * parts // n never overshoots; it can undershoot past empty blocks)."""
    index = i * parts // n
    while block_lo(n, parts, index + 1) <= i:
        index += 1
    return index


def panel_runs(k, grid, panel):
    """c_mpi.c's panels as runs (k0, width, count, a_owner, b_owner): count panels of
    width from k0 whose owners are the same, so that one lax.fori_loop covers them
    (the roots of the broadcasts must be static)."""
    pr, pc = grid
    runs, k0 = [], 0
    while k0 < k:
        a_owner, b_owner = owner(k, pc, k0), owner(k, pr, k0)
        end = min(block_lo(k, pc, a_owner + 1), block_lo(k, pr, b_owner + 1))
        count, rest = divmod(end - k0, panel)
        runs += [(k0, panel, count, a_owner, b_owner)] if count else []
        runs += [(end - rest, rest, 1, a_owner, b_owner)] if rest else []
        k0 = end
    return runs


def summa(row_comm, col_comm, k, grid, panel, use_allreduce):
    pr, pc = grid
    row, col = col_comm.rank, row_comm.rank  # my grid row and column
    a_first, b_first = block_lo(k, pc, col), block_lo(k, pr, row)  # my blocks' first k

    def share(x, root, comm):
        if use_allreduce:  # x is zero except on root: the sum is root's x
            return mpi4jax.allreduce(x, op=MPI.SUM, comm=comm)
        return mpi4jax.bcast(x, root, comm=comm)

    @jax.jit
    def kernel(a_block, b_block):
        mloc, nloc = a_block.shape[0], b_block.shape[1]

        def panel_product(t, c_block, *, k0, width, a_owner, b_owner):
            k0 = k0 + t * width
            # Only the owner reads its block; elsewhere the zeros are the receive
            # buffer (bcast) or the owner-masked summand (allreduce).
            if col == a_owner:
                a_panel = lax.dynamic_slice_in_dim(a_block, k0 - a_first, width, axis=1)
            else:
                a_panel = jnp.zeros((mloc, width), a_block.dtype)
            if row == b_owner:
                b_panel = lax.dynamic_slice_in_dim(b_block, k0 - b_first, width, axis=0)
            else:
                b_panel = jnp.zeros((width, nloc), b_block.dtype)
            # mloc is the same along a grid row and nloc down a grid column, so a
            # whole communicator skips an empty panel together, as in c_mpi.c.
            if mloc:
                a_panel = share(a_panel, a_owner, row_comm)
            if nloc:
                b_panel = share(b_panel, b_owner, col_comm)
            return c_block + a_panel @ b_panel

        c_block = jnp.zeros((mloc, nloc), a_block.dtype)
        for k0, width, count, a_owner, b_owner in panel_runs(k, grid, panel):
            step = partial(panel_product, k0=k0, width=width, a_owner=a_owner, b_owner=b_owner)
            c_block = lax.fori_loop(0, count, step, c_block) if count > 1 else step(0, c_block)
        return c_block

    return kernel


def allgather(comm, n):
    @jax.jit
    def kernel(a_rows, b_rows):
        # (P, max rows, n) -> the padded B, whose zero rows meet A's zero columns.
        return a_rows @ mpi4jax.allgather(b_rows, comm=comm).reshape(-1, n)

    return kernel


def prepare(a, b, *, algorithm, panel, lookahead, comm):
    # lookahead is the C and mpi4py SUMMA's: mpi4jax has no nonblocking collectives
    """This rank's blocks of the global A and B (c_mpi.c's layout) on its one JAX device."""
    (m, k), n, size, rank = a.shape, b.shape[1], comm.size, comm.rank
    device = jax.local_devices()[0]
    if algorithm in ("summa", "summa_allreduce"):
        grid = process_grid(size)
        row, col = divmod(rank, grid[1])
        # The communicators' handles are compiled into the program: they live as long as it.
        row_comm, col_comm = comm.Split(color=row, key=col), comm.Split(color=col, key=row)
        a_local = a[block_slice(m, grid[0], row), block_slice(k, grid[1], col)]
        b_local = b[block_slice(k, grid[0], row), block_slice(n, grid[1], col)]
        kernel = summa(row_comm, col_comm, k, grid, panel, algorithm == "summa_allreduce")
        c_slices = [(block_slice(m, grid[0], r // grid[1]), block_slice(n, grid[1], r % grid[1]))
                    for r in range(size)]
    else:
        grid, counts = (size, 1), block_sizes(k, size)
        rows = max(counts)  # every rank's B block, zero-padded to the largest
        b_local = np.zeros((rows, n), b.dtype)
        b_local[:counts[rank]] = b[block_slice(k, size, rank)]
        a_rows = a[block_slice(m, size, rank)]
        a_local = np.zeros((a_rows.shape[0], size * rows), a.dtype)
        for r, count in enumerate(counts):  # rank r's rows of B sit at r * rows in the gathered B
            a_local[:, r * rows:r * rows + count] = a_rows[:, block_slice(k, size, r)]
        kernel = allgather(comm, n)
        c_slices = [(block_slice(m, size, r), slice(0, n)) for r in range(size)]
    a_dev, b_dev = jax.device_put(a_local, device), jax.device_put(b_local, device)

    kernel, compile_seconds = jaxenv.compile_timed_ordered(kernel, (a_dev, b_dev), comm)
    details = {"devices": 1, "platform": device.platform}
    if algorithm != "allgather":
        details["panel"] = panel
    gather = lambda c: gather_blocks(comm, np.asarray(c), c_slices, (m, n), a.dtype)
    return PreparedRun(run=lambda: jax.block_until_ready(kernel(a_dev, b_dev)), gather=gather,
                       ranks=size, grid=grid, launch="mpirun", compile_seconds=compile_seconds,
                       details=details)
