"""Distributed matmul C = A B in JAX: jax.shard_map with explicit collectives.

  summa:     SUMMA on a (row, col) mesh. For each panel of K, the mesh column
             that owns the A panel broadcasts it along `col`, the mesh row that
             owns the B panel broadcasts it along `row`, and every device adds
             the panel product to its C block.
  allgather: 1-D row blocks of A, B and C over mesh axis `x`; B is all-gathered
             with lax.all_gather, then one local product.

Block shapes are static, so the harness zero-pads M, K and N first: K to a
multiple of panel * lcm(pr, pc) so that no panel straddles a block edge.
"""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec as P


def summa(mesh, panel):
    @jax.jit
    @partial(jax.shard_map, mesh=mesh, in_specs=(P("row", "col"), P("row", "col")),
             out_specs=P("row", "col"))
    def kernel(a_block, b_block):
        a_width, b_height = a_block.shape[1], b_block.shape[0]  # K / pc and K / pr
        my_row, my_col = lax.axis_index("row"), lax.axis_index("col")

        def step(t, c_block):
            k0 = t * panel
            # lax has no one-to-all broadcast: psum of a panel that only its
            # owner holds is the broadcast.
            a_panel = lax.dynamic_slice_in_dim(a_block, k0 % a_width, panel, axis=1)
            a_panel = lax.psum(jnp.where(my_col == k0 // a_width, a_panel, 0), "col")
            b_panel = lax.dynamic_slice_in_dim(b_block, k0 % b_height, panel, axis=0)
            b_panel = lax.psum(jnp.where(my_row == k0 // b_height, b_panel, 0), "row")
            return c_block + a_panel @ b_panel

        panels = a_width * mesh.shape["col"] // panel
        c_block = jnp.zeros((a_block.shape[0], b_block.shape[1]), a_block.dtype)
        c_block = lax.pcast(c_block, ("row", "col"), to="varying")  # a per-device value
        return lax.fori_loop(0, panels, step, c_block)

    return kernel


def allgather(mesh):
    @jax.jit
    @partial(jax.shard_map, mesh=mesh, in_specs=(P("x", None), P("x", None)),
             out_specs=P("x", None))
    def kernel(a_rows, b_rows):
        return a_rows @ lax.all_gather(b_rows, "x", tiled=True)

    return kernel
