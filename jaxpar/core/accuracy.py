"""The error measure of every correctness check: normwise relative error
against a float64 reference, max |result - reference| / max |reference|,
which stays meaningful where individual reference entries are near zero."""
from __future__ import annotations

import numpy as np


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
