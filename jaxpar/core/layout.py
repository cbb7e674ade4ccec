"""Block layouts shared by every implementation, and the gather of the blocks.

`block_lo` is the same formula as jaxpar_block_lo in jaxpar/csrc/common.c: n items in
`parts` blocks whose sizes differ by at most one.
"""
from __future__ import annotations

import math


def block_lo(n: int, parts: int, index: int) -> int:
    return n * index // parts


def block_slice(n: int, parts: int, index: int) -> slice:
    return slice(block_lo(n, parts, index), block_lo(n, parts, index + 1))


def block_sizes(n: int, parts: int) -> list[int]:
    return [block_lo(n, parts, i + 1) - block_lo(n, parts, i) for i in range(parts)]


def process_grid(ranks: int) -> tuple[int, int]:
    """The most nearly square pr x pc = ranks with pr <= pc (P = 2 gives 1 x 2)."""
    if ranks < 1:
        raise ValueError(f"the number of ranks must be at least 1, got {ranks}")
    rows = max(d for d in range(1, math.isqrt(ranks) + 1) if ranks % d == 0)
    return rows, ranks // rows


def round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def gather_blocks(comm, block, slices, shape, dtype):
    """The global array of `shape` on every rank from each rank's `block`, which
    belongs at slices[rank] (not timed: the API returns global results)."""
    import numpy as np

    out = np.empty(shape, dtype)
    for where, part in zip(slices, comm.allgather(block)):
        out[where] = part
    return out
