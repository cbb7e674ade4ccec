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


def sgd_problem(n: int, d_in: int, h: int, d_out: int, dtype: str = "float64", seed: int = 0):
    """A learnable regression problem for the MLP yhat = tanh(x W1 + b1) W2 + b2.

    Returns (X, Y, params): X (n x d_in) standard normal, Y (n x d_out) the
    output of a random teacher MLP of the same shape plus 1% noise, and params,
    the student's starting point: LeCun-normal weights drawn independently of
    the teacher and zero biases. All rounded to dtype.
    """
    rng = np.random.default_rng(seed)

    def layer(fan_in, fan_out):
        return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)

    x = rng.standard_normal((n, d_in))
    teacher_hidden = np.tanh(x @ layer(d_in, h) + 0.1 * rng.standard_normal(h))
    y = teacher_hidden @ layer(h, d_out) + 0.1 * rng.standard_normal(d_out)
    y += 0.01 * y.std() * rng.standard_normal(y.shape)
    params = {"W1": layer(d_in, h), "b1": np.zeros(h), "W2": layer(h, d_out), "b2": np.zeros(d_out)}
    cast = lambda a: np.ascontiguousarray(a, dtype=DTYPES[dtype])
    return cast(x), cast(y), {name: cast(p) for name, p in params.items()}
