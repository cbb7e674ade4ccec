"""Distributed matmul C = A B in JAX with jax.pmap over P devices.

  summa:     SUMMA on a pr x pc grid laid out in device order (d = row*pc + col).
             Nested pmap cannot express a 2-D grid in current JAX (pmap is
             jit(shard_map) underneath and the inner mesh must match the outer),
             so one pmap axis `p` carries the grid, and each panel broadcast is a
             ring of lax.ppermute hops within every grid row (A) or column (B),
             the panel loop unrolled, as in the shard_map version (jax.py says
             why).
  allgather: 1-D row blocks of A, B and C; B is all-gathered, then one product.

pmap maps over a leading device axis, so prepare() zero-pads A and B as for
the shard_map version (K to a multiple of panel * lcm(pr, pc); checked at
trace time) and stacks their blocks: A as (P, M/pr, K/pc), and so on.
"""
import math
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


def ring_bcast(x, root, groups, size):
    """x of member `root` of each group (grid row or column, as device indices on axis
    `p`), on every member: hop by hop round the group's ring (PRK's RING_Bcast), each
    hop one ppermute of all groups' pairs at once. root is a Python int: the panel
    loop is unrolled, as in the shard_map version."""
    for hop in range(size - 1):
        pairs = [(g[(root + hop) % size], g[(root + hop + 1) % size]) for g in groups]
        received = lax.ppermute(x, "p", perm=pairs)
        x = jnp.where(jnp.isin(lax.axis_index("p"), jnp.array([dst for _, dst in pairs])), received, x)
    return x


def summa(devices, grid, panel):
    pr, pc = grid
    grid_rows = [[r * pc + c for c in range(pc)] for r in range(pr)]
    grid_cols = [[r * pc + c for r in range(pr)] for c in range(pc)]

    @partial(jax.pmap, axis_name="p", devices=devices)
    def kernel(a_block, b_block):
        a_width, b_height = a_block.shape[1], b_block.shape[0]
        if (a_width * pc) % (panel * math.lcm(pr, pc)):
            raise ValueError(f"SUMMA needs K ({a_width * pc}) padded to a multiple of panel x "
                             f"lcm(pr, pc) = {panel} x {math.lcm(pr, pc)}: a panel would straddle "
                             "a block edge")
        c_block = None
        for k0 in range(0, a_width * pc, panel):
            a_panel = ring_bcast(a_block[:, k0 % a_width:k0 % a_width + panel], k0 // a_width,
                                 grid_rows, pc)
            b_panel = ring_bcast(b_block[k0 % b_height:k0 % b_height + panel], k0 // b_height,
                                 grid_cols, pr)
            product = a_panel @ b_panel
            c_block = product if c_block is None else c_block + product
        return c_block

    return kernel


def allgather(devices):
    @partial(jax.pmap, axis_name="p", devices=devices)
    def kernel(a_rows, b_rows):
        return a_rows @ lax.all_gather(b_rows, "p", tiled=True)

    return kernel


def stack_blocks(x, shape, grid):
    """x zero-padded to shape, its grid blocks stacked in device order d = row * pc + col."""
    pr, pc = grid
    x = np.pad(x, [(0, p - s) for s, p in zip(x.shape, shape)])
    rows, cols = x.shape[0] // pr, x.shape[1] // pc
    return np.ascontiguousarray(x.reshape(pr, rows, pc, cols).transpose(0, 2, 1, 3).reshape(pr * pc, rows, cols))


def unstack_blocks(stack, grid):
    pr, pc = grid
    _, rows, cols = stack.shape
    return stack.reshape(pr, pc, rows, cols).transpose(0, 2, 1, 3).reshape(pr * rows, pc * cols)


def prepare(a, b, *, algorithm, panel, lookahead, comm, devices=None):
    # lookahead is the C and mpi4py SUMMA's: XLA schedules this one's collectives itself
    devices = jaxenv.select_devices(devices, comm)
    (m, k), n, ndev = a.shape, b.shape[1], len(devices)
    if algorithm == "summa":
        grid = process_grid(ndev)
        lcm = math.lcm(*grid)
        panel = min(panel, -(-k // lcm))  # a panel wider than K / lcm would only add zeros
        mp, kp, np_ = round_up(m, grid[0]), round_up(k, panel * lcm), round_up(n, grid[1])
        kernel, block_grid = summa(devices, grid, panel), grid
    else:
        grid = block_grid = (ndev, 1)
        mp, kp, np_ = round_up(m, ndev), round_up(k, ndev), n
        kernel = allgather(devices)
    # Under mpirun each process holds its device's slice of the stacked blocks.
    stacked = NamedSharding(Mesh(np.array(devices), ("p",)), P("p"))
    a_stack, b_stack = (stack_blocks(x, shape, block_grid) for x, shape in ((a, (mp, kp)), (b, (kp, np_))))
    a_dev, b_dev = (jax.make_array_from_callback(x.shape, stacked, lambda index, x=x: x[index])
                    for x in (a_stack, b_stack))

    compiled, compile_seconds = jaxenv.compile_timed(kernel, (a_dev, b_dev), comm)
    details = {"devices": ndev, "platform": devices[0].platform, "padded_shape": [mp, kp, np_]}
    if algorithm == "summa":
        details["panel"] = panel
    return PreparedRun(run=lambda: jax.block_until_ready(compiled(a_dev, b_dev)),
                       gather=lambda c: unstack_blocks(jaxenv.fetch(c), block_grid)[:m, :n],
                       ranks=ndev, grid=grid, launch=jaxenv.launch_mode(),
                       compile_seconds=compile_seconds, details=details)
