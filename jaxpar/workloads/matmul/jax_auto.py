"""Distributed matmul C = A B in JAX the way most users would write it: jax.jit
with NamedShardings in and out and a plain A @ B; XLA's SPMD partitioner picks
the algorithm and the collectives. A, B and C are sharded as 2-D blocks over a
(row, col) mesh, the same layout SUMMA uses.

Shards must be equal, so prepare() zero-pads A and B (zero rows and columns
change no entry of the product) and crops C: M to a multiple of pr, N of pc,
and K of lcm(pr, pc), since K is split over pc for A and over pr for B.
"""
import math

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxpar.core import jaxenv
from jaxpar.core.layout import process_grid, round_up
from jaxpar.core.prepared import PreparedRun


def matmul(mesh):
    blocks = NamedSharding(mesh, P("row", "col"))
    return jax.jit(lambda a, b: a @ b, in_shardings=(blocks, blocks), out_shardings=blocks)


def place(x, shape, sharding):
    """x zero-padded to shape, as a global array with the given sharding."""
    x = np.pad(x, [(0, p - s) for s, p in zip(x.shape, shape)])
    return jax.make_array_from_callback(shape, sharding, lambda index: x[index])


def prepare(a, b, *, algorithm=None, panel=None, lookahead=None, comm, devices=None):
    devices = jaxenv.select_devices(devices, comm)
    (m, k), n = a.shape, b.shape[1]
    pr, pc = process_grid(len(devices))
    mesh = Mesh(np.array(devices).reshape(pr, pc), ("row", "col"))
    blocks = NamedSharding(mesh, P("row", "col"))
    mp, kp, np_ = round_up(m, pr), round_up(k, math.lcm(pr, pc)), round_up(n, pc)
    a_dev, b_dev = place(a, (mp, kp), blocks), place(b, (kp, np_), blocks)

    compiled, compile_seconds = jaxenv.compile_timed(matmul(mesh), (a_dev, b_dev), comm)
    return PreparedRun(run=lambda: jax.block_until_ready(compiled(a_dev, b_dev)),
                       gather=lambda c: jaxenv.fetch(c)[:m, :n], ranks=len(devices), grid=(pr, pc),
                       launch=jaxenv.launch_mode(), compile_seconds=compile_seconds,
                       details={"devices": len(devices), "platform": devices[0].platform,
                                "padded_shape": [mp, kp, np_]})
