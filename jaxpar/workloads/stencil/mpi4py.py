"""PRK's star stencil of radius R in numpy with mpi4py: 2-D block decomposition with halo
exchange, the algorithm of PRK's MPI1/Stencil.

Rank (row, col) of the pr x pc process grid owns a block of the n x n grid, held in IN
with a halo R wide on all four sides. Each iteration:
  1. halo exchange with the four neighbours (MPI.PROC_NULL past the global edge): R rows
     up and down, R columns left and right, each an MPI vector datatype sent from and
     received into IN in place (no packing). A star needs no corner points, so the four
     exchanges are independent and all eight messages are in flight at once
     (Irecv/Isend, one Waitall) rather than serialised as four Sendrecvs;
  2. OUT += the stencil of IN on this block's part of the global interior, one in-place
     multiply and add per offset of the star (a scratch buffer, no temporaries);
  3. IN += 1 on the owned points.
"""
import numpy as np
from mpi4py import MPI

from jaxpar.core.layout import block_sizes, block_slice, gather_blocks, process_grid
from jaxpar.core.prepared import PreparedRun
from jaxpar.workloads.stencil.problem import stencil_weights

# region: halo (the datatypes' element types)
MPI_TYPES = {np.dtype(np.float64): MPI.DOUBLE, np.dtype(np.float32): MPI.FLOAT}
# endregion


def stencil(comm, block, interior, neighbours, *, radius, iterations):
    """OUT of this rank's block after `iterations` iterations from IN = block.
    interior: the (rows, cols) slices of the block inside the global interior;
    neighbours: the ranks (up, down, left, right), MPI.PROC_NULL past the edge."""
    R, (rows, cols) = radius, block.shape
    # region: halo (IN with its ghost cells, R wide on every side)
    width = cols + 2 * R
    grid_in = np.zeros((rows + 2 * R, width), block.dtype)
    owned = grid_in[R:R + rows, R:R + cols]
    # endregion
    owned[...] = block
    out = np.zeros_like(block)
    # region: halo
    flat = grid_in.reshape(-1)  # a view: each message starts at an element offset
    at = lambda r, c: flat[r * width + c:]

    # R rows of the owned columns and R columns of the owned rows, both strided in place
    # by the halo'd width; committed for this run, freed after it.
    real = MPI_TYPES[block.dtype]
    row_band = real.Create_vector(R, cols, width).Commit()
    column_band = real.Create_vector(rows, R, width).Commit()
    up, down, left, right = neighbours
    receives = [(at(0, R), row_band, up), (at(R + rows, R), row_band, down),
                (at(R, 0), column_band, left), (at(R, R + cols), column_band, right)]
    sends = [(at(R, R), row_band, up), (at(rows, R), row_band, down),
             (at(R, R), column_band, left), (at(R, cols), column_band, right)]
    # endregion

    w = stencil_weights(R).astype(block.dtype)
    rs, cs = interior
    target = out[rs, cs]  # a view: the sums land in OUT
    scratch = np.empty_like(target)
    r0, r1, c0, c1 = rs.start + R, rs.stop + R, cs.start + R, cs.stop + R  # in grid_in
    for _ in range(iterations):
        # region: halo (the exchange)
        requests = [comm.Irecv([buf, 1, band], source=rank) for buf, band, rank in receives]
        requests += [comm.Isend([buf, 1, band], dest=rank) for buf, band, rank in sends]
        MPI.Request.Waitall(requests)
        # endregion
        for k in range(-R, R + 1):
            if k:
                np.multiply(w[R + k], grid_in[r0:r1, c0 + k:c1 + k], out=scratch)
                np.add(target, scratch, out=target)
                np.multiply(w[R + k], grid_in[r0 + k:r1 + k, c0:c1], out=scratch)
                np.add(target, scratch, out=target)
        owned += 1
    # region: halo
    row_band.Free()
    column_band.Free()
    # endregion
    return out


def local_interior(owned, n, radius):
    """The global interior radius <= i < n - radius of a block's rows (or columns), in the
    block's local indices: empty for a block inside the boundary band."""
    lo, hi = max(owned.start, radius), min(owned.stop, n - radius)
    return slice(lo - owned.start, max(lo, hi) - owned.start)


def prepare(x, *, radius, iterations, comm, devices=None):
    """This rank's block of the global grid, its part of the interior, and its neighbours."""
    n, size = x.shape[0], comm.size
    pr, pc = process_grid(size)
    row, col = divmod(comm.rank, pc)
    rows, cols = block_slice(n, pr, row), block_slice(n, pc, col)
    block = np.ascontiguousarray(x[rows, cols])
    interior = (local_interior(rows, n, radius), local_interior(cols, n, radius))
    # region: halo (which neighbour exists)
    rank_at = lambda r, c: r * pc + c if 0 <= r < pr and 0 <= c < pc else MPI.PROC_NULL
    neighbours = (rank_at(row - 1, col), rank_at(row + 1, col), rank_at(row, col - 1),
                  rank_at(row, col + 1))
    # endregion
    slices = [(block_slice(n, pr, r // pc), block_slice(n, pc, r % pc)) for r in range(size)]
    run = lambda: stencil(comm, block, interior, neighbours, radius=radius, iterations=iterations)
    return PreparedRun(
        run=run,
        gather=lambda out: gather_blocks(comm, out, slices, (n, n), x.dtype),
        ranks=size, grid=(pr, pc), launch="mpirun",
        details={"block_rows": block_sizes(n, pr), "block_cols": block_sizes(n, pc)})
