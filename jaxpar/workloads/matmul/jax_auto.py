"""Distributed matmul C = A B in JAX the way most users would write it: jax.jit
with NamedShardings in and out and a plain A @ B; XLA's SPMD partitioner picks
the algorithm and the collectives. A, B and C are sharded as 2-D blocks over a
(row, col) mesh, the same layout SUMMA uses."""
import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P


def matmul(mesh):
    blocks = NamedSharding(mesh, P("row", "col"))
    return jax.jit(lambda a, b: a @ b, in_shardings=(blocks, blocks), out_shardings=blocks)
