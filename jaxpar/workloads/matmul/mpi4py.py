"""Distributed matmul C = A B in numpy with mpi4py: the same two algorithms as c_mpi.c.

  summa:     SUMMA on a pr x pc grid. For each panel of K, the grid column that
             owns the A panel broadcasts it along grid rows, the grid row that
             owns the B panel broadcasts it along grid columns, and every rank
             adds the panel product to its C block.
  allgather: 1-D row blocks of A, B and C; B is all-gathered, then one product.

Blocks may be uneven or empty, so panels are also cut at the block edges of
both partitions of K.
"""
import numpy as np
from mpi4py import MPI

from jaxpar.core.layout import block_lo, block_slice, gather_blocks, process_grid
from jaxpar.core.prepared import PreparedRun
from jaxpar.workloads.matmul.problem import DEFAULT_LOOKAHEAD


def _owner(n, parts, i):
    """Index of the block that holds item i when n items are split into parts.
    i * parts // n never overshoots; it can undershoot past empty blocks."""
    owner = i * parts // n
    while block_lo(n, parts, owner + 1) <= i:
        owner += 1
    return owner


def summa(comm, a_block, b_block, shape, grid, panel, lookahead):
    m, k, n = shape
    pr, pc = grid
    row, col = divmod(comm.rank, pc)
    row_comm = comm.Split(color=row, key=col)
    col_comm = comm.Split(color=col, key=row)
    c_block = np.zeros((a_block.shape[0], b_block.shape[1]), dtype=a_block.dtype)

    def post(k0):
        """Start the broadcasts of the panel at column k0 of A (row k0 of B): its
        width, both operands and the two requests."""
        a_owner, b_owner = _owner(k, pc, k0), _owner(k, pr, k0)
        k1 = min(k0 + panel, block_lo(k, pc, a_owner + 1), block_lo(k, pr, b_owner + 1))
        a_off, b_off = k0 - block_lo(k, pc, a_owner), k0 - block_lo(k, pr, b_owner)
        if col == a_owner:
            a_panel = np.ascontiguousarray(a_block[:, a_off:a_off + k1 - k0])
        else:
            a_panel = np.empty((a_block.shape[0], k1 - k0), dtype=a_block.dtype)
        if row == b_owner:
            b_panel = b_block[b_off:b_off + k1 - k0]
        else:
            b_panel = np.empty((k1 - k0, b_block.shape[1]), dtype=b_block.dtype)
        requests = [row_comm.Ibcast(a_panel, root=a_owner), col_comm.Ibcast(b_panel, root=b_owner)]
        return k1, a_panel, b_panel, requests

    # The broadcasts of the next `lookahead` panels are in flight while one multiplies.
    in_flight, k0 = [], 0
    while k0 < k or in_flight:
        while k0 < k and len(in_flight) <= lookahead:
            k0, *panel_and_requests = post(k0)
            in_flight.append(panel_and_requests)
        a_panel, b_panel, requests = in_flight.pop(0)
        MPI.Request.Waitall(requests)
        c_block += a_panel @ b_panel

    row_comm.Free()
    col_comm.Free()
    return c_block


def allgather(comm, a_rows, b_rows, shape):
    m, k, n = shape
    b_full = np.empty((k, n), dtype=b_rows.dtype)
    counts = [(block_lo(k, comm.size, r + 1) - block_lo(k, comm.size, r)) * n for r in range(comm.size)]
    comm.Allgatherv(b_rows, [b_full, counts])
    return a_rows @ b_full


def prepare(a, b, *, algorithm, panel, lookahead=DEFAULT_LOOKAHEAD, comm, devices=None):
    """This rank's blocks of the global A and B (the same layout as c_mpi.c)."""
    (m, k), n, size, rank = a.shape, b.shape[1], comm.size, comm.rank
    if algorithm == "summa":
        grid = process_grid(size)
        row, col = divmod(rank, grid[1])
        a_block = np.ascontiguousarray(a[block_slice(m, grid[0], row), block_slice(k, grid[1], col)])
        b_block = np.ascontiguousarray(b[block_slice(k, grid[0], row), block_slice(n, grid[1], col)])
        run = lambda: summa(comm, a_block, b_block, (m, k, n), grid, panel, lookahead)
        c_blocks = [(block_slice(m, grid[0], r // grid[1]), block_slice(n, grid[1], r % grid[1]))
                    for r in range(size)]
    else:
        grid = (size, 1)
        a_rows = np.ascontiguousarray(a[block_slice(m, size, rank)])
        b_rows = np.ascontiguousarray(b[block_slice(k, size, rank)])
        run = lambda: allgather(comm, a_rows, b_rows, (m, k, n))
        c_blocks = [(block_slice(m, size, r), slice(0, n)) for r in range(size)]
    return PreparedRun(run=run, gather=lambda c: gather_blocks(comm, c, c_blocks, (m, n), a.dtype),
                       ranks=size, grid=grid, launch="mpirun")
