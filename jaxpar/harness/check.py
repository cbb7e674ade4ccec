"""Correctness checks against a float64 numpy reference.

The error measure is normwise: max |result - reference| / max |reference|,
which stays meaningful where individual reference entries are near zero.
"""
from __future__ import annotations

import numpy as np

# Stated tolerances on the normwise relative error, per dtype of the run.
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}
# SGD runs T dependent steps, each a few reductions whose order changes with
# the number of ranks, so its float64 bound is looser than a single product's.
SGD_TOLERANCE = {"float64": 1e-9, "float32": 1e-4}


def max_relative_error(result, reference) -> float:
    result = np.asarray(result, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if result.shape != reference.shape:
        raise ValueError(f"result shape {result.shape} != reference shape {reference.shape}")
    if result.size == 0:
        return 0.0
    scale = np.max(np.abs(reference))
    error = np.max(np.abs(result - reference))
    if not np.isfinite(error):
        return float("inf")
    return float(error / scale) if scale > 0 else float(error)


def matmul_reference(a, b):
    return np.asarray(a, dtype=np.float64) @ np.asarray(b, dtype=np.float64)


def sgd_reference(X, Y, params, steps, lr, batch):
    """(params, losses) of `steps` plain SGD steps on the MLP, single process, float64.

    Step t uses rows (t * batch + i) mod n, i < batch; losses[t] is
    1/(2 batch) * sum ||yhat - y||^2 at the parameters before step t's update.
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    p = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    losses = np.empty(steps)
    for t in range(steps):
        rows = (t * batch + np.arange(batch)) % X.shape[0]
        x, y = X[rows], Y[rows]
        a = np.tanh(x @ p["W1"] + p["b1"])
        r = a @ p["W2"] + p["b2"] - y
        losses[t] = 0.5 / batch * np.sum(r * r)
        g = r / batch  # d loss / d yhat
        da = (g @ p["W2"].T) * (1.0 - a * a)
        grads = {"W1": x.T @ da, "b1": da.sum(0), "W2": a.T @ g, "b2": g.sum(0)}
        for name in p:
            p[name] -= lr * grads[name]
    return p, losses
