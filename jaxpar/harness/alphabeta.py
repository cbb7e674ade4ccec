"""The alpha-beta fit of measured collective latencies, and the communication
model (jaxpar.core.costmodel.CommModel) each record's ideal time is priced with.

The medians fitted are JAX's net of its per-call dispatch (net_median_s), which a
workload pays once per run, not per collective.

fit(): t(m) = alpha + beta m by least squares on the relative residuals
(t_fit - t) / t, so that an 8-byte latency weighs as much as a 64 MiB one: an
ordinary least-squares line through points spanning seven decades is the line
of the largest few, and its alpha is noise. alpha and beta are kept >= 0.
The fit's residual is the root-mean-square relative residual.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jaxpar import registry
from jaxpar.core.costmodel import CommModel, Line

COLLECTIVES_WORKLOAD = "collectives"


def fit(nbytes, seconds) -> dict:
    """{"alpha_s", "beta_s_per_byte", "rms_rel_residual", "max_rel_residual", "points",
    "max_bytes"}: the line prices messages up to max_bytes, the largest measured, only."""
    m, t = np.asarray(nbytes, dtype=np.float64), np.asarray(seconds, dtype=np.float64)
    if m.shape != t.shape or m.size < 2 or np.any(t <= 0) or np.any(m < 0):
        raise ValueError("fit needs at least two (bytes >= 0, seconds > 0) points")
    # minimise sum(((alpha + beta m) / t - 1)^2): linear least squares in (alpha, beta)
    design = np.column_stack([1 / t, m / t])
    (alpha, beta), *_ = np.linalg.lstsq(design, np.ones_like(t), rcond=None)
    if alpha < 0:   # latency below resolution: a line through the origin
        alpha, beta = 0.0, float(np.sum(m / t) / np.sum((m / t) ** 2))
    if beta < 0:    # flat: the relative-error-weighted mean time
        alpha, beta = float(np.sum(1 / t) / np.sum(1 / t ** 2)), 0.0
    relative = (alpha + beta * m) / t - 1
    return {"alpha_s": float(alpha), "beta_s_per_byte": float(beta),
            "rms_rel_residual": float(np.sqrt(np.mean(relative ** 2))),
            "max_rel_residual": float(np.max(np.abs(relative))), "points": int(m.size),
            "max_bytes": float(m.max()), "bytes": m.tolist(), "seconds": t.tolist()}


@dataclass(frozen=True)
class Measured:
    """The measured latencies themselves, interpolated linearly between adjacent sizes (a
    transport whose latency is no line, e.g. gloo's plateau, is priced as measured)."""
    nbytes: tuple
    seconds: tuple

    @property
    def max_bytes(self) -> float:
        return self.nbytes[-1]

    def seconds_at(self, nbytes: float) -> float:
        return float(np.interp(nbytes, self.nbytes, self.seconds))


def measured(record) -> float:
    """The median per collective; JAX's net of the dispatch of its call, which a workload
    pays once per run."""
    net = record.get("net_median_s")
    return record["time_s"]["median"] if net is None else net


def series_key(record) -> tuple:
    """What a latency series is measured over: all but the message size."""
    return (record["impl"], record["launch"], record.get("pinned", True), record["algorithm"],
            record["ranks"], record["dtype"])


def fits(records) -> dict:
    """series_key -> fit, over the verified collectives records (a failed check is no point)."""
    points = {}
    for r in records:
        if r.get("workload") == COLLECTIVES_WORKLOAD and r.get("status") == "ok":
            median = measured(r)
            if median > 0:
                points.setdefault(series_key(r), []).append((r["sizes"]["bytes"], median))
    return {key: fit(*zip(*sorted(p))) for key, p in points.items() if len(p) >= 2}


def transport_impl(record) -> str | None:
    """The collectives implementation that measures the record's transport: the same
    implementation where the collectives workload has it, else the first with the same
    transport in this launch mode (jax_auto's collectives are jax's)."""
    impls = registry.implementations(COLLECTIVES_WORKLOAD)
    if record["impl"] in impls:
        return record["impl"]
    transport = registry.entry(record["workload"], record["impl"]).transport(record["launch"])
    return next((i for i in impls if registry.entry(COLLECTIVES_WORKLOAD, i).transport(
        record["launch"]) == transport), None)


def comm_model(record, all_fits: dict, pingpong: dict | None, measured: bool = False) -> CommModel:
    """The model a record's communication is priced with: the fitted collectives of its own
    transport (same launch, pinning and dtype; each group size measured), else the ping-pong.
    measured: the measured latencies, interpolated, instead of the fitted lines."""
    impl = transport_impl(record)
    lines = {}
    for (i, launch, pinned, collective, ranks, dtype), f in all_fits.items():
        if (i, launch, pinned, dtype) == (impl, record["launch"], record.get("pinned", True),
                                          record["dtype"]):
            lines[(collective, ranks)] = (Measured(tuple(f["bytes"]), tuple(f["seconds"])) if measured
                                          else Line(f["alpha_s"], f["beta_s_per_byte"], f["max_bytes"]))
    ping = (pingpong["alpha_s"], pingpong["beta_s_per_byte"]) if pingpong else None
    return CommModel(lines, ping)


def ratio_at(f: dict, nbytes: float, measured: float) -> float:
    """fit / measured at one message size."""
    return (f["alpha_s"] + f["beta_s_per_byte"] * nbytes) / measured if measured > 0 else math.nan
