"""Correctness checks against a float64 numpy reference.

The error measure is normwise: max |result - reference| / max |reference|,
which stays meaningful where individual reference entries are near zero.
"""
from __future__ import annotations

import numpy as np

# Stated tolerances on the normwise relative error, per dtype of the run.
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}


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
