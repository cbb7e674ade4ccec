"""Seeded input generators: every implementation of a workload gets the same data."""
from __future__ import annotations

import numpy as np

DTYPES = {"float64": np.float64, "float32": np.float32}


def matmul_inputs(m: int, k: int, n: int, dtype: str = "float64", seed: int = 0):
    """A (m x k) and B (k x n) with standard normal entries, rounded to dtype."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(DTYPES[dtype])
    b = rng.standard_normal((k, n)).astype(DTYPES[dtype])
    return a, b
