"""Summary statistics of repeat times and the scaling metrics derived from them."""
from __future__ import annotations

import numpy as np


def summarize(times) -> dict:
    t = np.asarray(times, dtype=np.float64)
    q1, median, q3 = np.percentile(t, [25, 50, 75])
    return {"median": float(median), "min": float(t.min()), "max": float(t.max()),
            "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1)}
