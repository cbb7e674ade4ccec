"""Distributed matmul C = A B in JAX with jax.pmap over P devices.

  summa:     SUMMA on a pr x pc grid laid out in device order (d = row*pc + col).
             Nested pmap cannot express a 2-D grid in current JAX (pmap is
             jit(shard_map) underneath and the inner mesh must match the outer),
             so one pmap axis `p` carries the grid and axis_index_groups picks
             the grid rows and columns for each broadcast.
  allgather: 1-D row blocks of A, B and C; B is all-gathered, then one product.

Inputs are stacked per device: A as (P, M/pr, K/pc), and so on; the harness
zero-pads as for the shard_map version.
"""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


def summa(devices, grid, panel):
    pr, pc = grid
    grid_rows = [[r * pc + c for c in range(pc)] for r in range(pr)]
    grid_cols = [[r * pc + c for r in range(pr)] for c in range(pc)]

    @partial(jax.pmap, axis_name="p", devices=devices)
    def kernel(a_block, b_block):
        a_width, b_height = a_block.shape[1], b_block.shape[0]
        my_row, my_col = divmod(lax.axis_index("p"), pc)

        def step(t, c_block):
            k0 = t * panel
            # psum of a panel that only its owner holds is the broadcast.
            a_panel = lax.dynamic_slice_in_dim(a_block, k0 % a_width, panel, axis=1)
            a_panel = lax.psum(jnp.where(my_col == k0 // a_width, a_panel, 0), "p",
                               axis_index_groups=grid_rows)
            b_panel = lax.dynamic_slice_in_dim(b_block, k0 % b_height, panel, axis=0)
            b_panel = lax.psum(jnp.where(my_row == k0 // b_height, b_panel, 0), "p",
                               axis_index_groups=grid_cols)
            return c_block + a_panel @ b_panel

        c_block = jnp.zeros((a_block.shape[0], b_block.shape[1]), a_block.dtype)
        return lax.fori_loop(0, a_width * pc // panel, step, c_block)

    return kernel


def allgather(devices):
    @partial(jax.pmap, axis_name="p", devices=devices)
    def kernel(a_rows, b_rows):
        return a_rows @ lax.all_gather(b_rows, "p", tiled=True)

    return kernel
