"""Distributed matmul C = A B in JAX: jax.shard_map with explicit collectives.

  summa:     SUMMA on a (row, col) mesh. For each panel of K, the mesh column
             that owns the A panel broadcasts it along `col`, the mesh row that
             owns the B panel broadcasts it along `row`, and every device adds
             the panel product to its C block. The broadcast is a ring of
             lax.ppermute hops from the owner (lax has no one-to-all broadcast);
             the panel loop is unrolled.
  allgather: 1-D row blocks of A, B and C over mesh axis `x`; B is all-gathered
             with lax.all_gather, then one local product.

Block shapes are static and equal, so prepare() zero-pads A and B (zero rows
and columns change no entry of the product) and crops C: M to a multiple of
pr, N of pc, and K of panel * lcm(pr, pc) so that no panel straddles a block
edge; the SUMMA kernel checks that at trace time.

Why this form (issue 10, experiments/jax_summa_variants.py, P = 2, float64, on 2
cores): against the first version (psum of the masked panel, lax.fori_loop, panel
256), the ppermute ring with an unrolled loop and panels as wide as a block was 1.3x
faster at N = 1024 (38 against 49 ms) and 1.4x at N = 4096 (2.39 against 3.29 s). The
psum moved twice the bytes and did the adds; the fori_loop hid the static owners from
XLA; narrow panels ran XLA's dot at k = 256, where it is slowest.
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


def ring_bcast(x, root, axis, size):
    """x of the device at index `root` along mesh axis `axis`, on every device of that
    axis: passed hop by hop round the ring root -> root + 1 -> ... (PRK's RING_Bcast),
    each hop a one-pair ppermute, so no device sends more than one copy and nothing is
    added (a psum of x masked to the root would be an all-reduce: twice the bytes, and
    the adds). root is a Python int: the panel loop is unrolled."""
    me = lax.axis_index(axis)
    for hop in range(size - 1):
        src, dst = (root + hop) % size, (root + hop + 1) % size
        x = jnp.where(me == dst, lax.ppermute(x, axis, perm=[(src, dst)]), x)
    return x


def summa(mesh, panel):
    pr, pc = mesh.shape["row"], mesh.shape["col"]

    @jax.jit
    @partial(jax.shard_map, mesh=mesh, in_specs=(P("row", "col"), P("row", "col")),
             out_specs=P("row", "col"))
    def kernel(a_block, b_block):
        a_width, b_height = a_block.shape[1], b_block.shape[0]  # K / pc and K / pr
        if (a_width * pc) % (panel * math.lcm(pr, pc)):
            raise ValueError(f"SUMMA needs K ({a_width * pc}) padded to a multiple of panel x "
                             f"lcm(pr, pc) = {panel} x {math.lcm(pr, pc)}: a panel would straddle "
                             "a block edge")
        # The panel loop is a Python loop, unrolled at trace time: every panel's owners
        # and slices are static, and XLA sees the whole schedule (experiments/
        # jax_summa_variants.py: with block-wide panels, faster than a lax.fori_loop).
        c_block = None
        for k0 in range(0, a_width * pc, panel):
            a_panel = ring_bcast(a_block[:, k0 % a_width:k0 % a_width + panel], k0 // a_width, "col", pc)
            b_panel = ring_bcast(b_block[k0 % b_height:k0 % b_height + panel], k0 // b_height, "row", pr)
            product = a_panel @ b_panel
            c_block = product if c_block is None else c_block + product
        return c_block

    return kernel


def allgather(mesh):
    @jax.jit
    @partial(jax.shard_map, mesh=mesh, in_specs=(P("x", None), P("x", None)),
             out_specs=P("x", None))
    def kernel(a_rows, b_rows):
        return a_rows @ lax.all_gather(b_rows, "x", tiled=True)

    return kernel


def place(x, shape, mesh, spec):
    """x zero-padded to shape, as a global array sharded over mesh by spec."""
    x = np.pad(x, [(0, p - s) for s, p in zip(x.shape, shape)])
    return jax.make_array_from_callback(shape, NamedSharding(mesh, spec), lambda index: x[index])


def prepare(a, b, *, algorithm, panel, lookahead, comm, devices=None):
    # lookahead is the C and mpi4py SUMMA's: XLA schedules this one's collectives itself
    devices = jaxenv.select_devices(devices, comm)
    (m, k), n, ndev = a.shape, b.shape[1], len(devices)
    if algorithm == "summa":
        pr, pc = process_grid(ndev)
        mesh, spec = Mesh(np.array(devices).reshape(pr, pc), ("row", "col")), P("row", "col")
        lcm = math.lcm(pr, pc)
        panel = min(panel, -(-k // lcm))  # a panel wider than K / lcm would only add zeros
        mp, kp, np_ = round_up(m, pr), round_up(k, panel * lcm), round_up(n, pc)
        kernel, grid = summa(mesh, panel), (pr, pc)
    else:
        mesh, spec = Mesh(np.array(devices), ("x",)), P("x", None)
        mp, kp, np_ = round_up(m, ndev), round_up(k, ndev), n
        kernel, grid = allgather(mesh), (ndev, 1)
    a_dev, b_dev = place(a, (mp, kp), mesh, spec), place(b, (kp, np_), mesh, spec)

    compiled, compile_seconds = jaxenv.compile_timed(kernel, (a_dev, b_dev), comm)
    details = {"devices": ndev, "platform": devices[0].platform, "padded_shape": [mp, kp, np_]}
    if algorithm == "summa":
        details["panel"] = panel
    return PreparedRun(run=lambda: jax.block_until_ready(compiled(a_dev, b_dev)),
                       gather=lambda c: jaxenv.fetch(c)[:m, :n], ranks=ndev, grid=grid,
                       launch=jaxenv.launch_mode(), compile_seconds=compile_seconds, details=details)
