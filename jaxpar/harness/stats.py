"""Summary statistics of repeat times and the scaling metrics derived from them."""
from __future__ import annotations

import numpy as np

from jaxpar.rank.timing import summarize  # noqa: F401  (the repeat summary, re-exported)


# ---------------------------------------------------------------- scaling metrics
# T(P) is the median time at P ranks (or devices); T(1) the same implementation's at P = 1.
# Strong scaling keeps the global size: ideal T(P) = T(1) / P.
# Weak scaling keeps the size per rank: ideal T(P) = T(1).

def speedup(t_one: float, t: float, ranks: int, scaling: str = "strong") -> float:
    """Strong: T(1) / T(P). Weak: P T(1) / T(P), the scaled speedup (work grows with P)."""
    return t_one / t if scaling == "strong" else ranks * t_one / t


def parallel_efficiency(t_one: float, t: float, ranks: int, scaling: str = "strong") -> float:
    """Speedup over P: 1 is perfect scaling. Strong: T(1) / (P T(P)). Weak: T(1) / T(P)."""
    return speedup(t_one, t, ranks, scaling) / ranks


def ideal_time(t_one: float, ranks: int, scaling: str = "strong") -> float:
    return t_one / ranks if scaling == "strong" else t_one


def hardware_efficiency(gflops: float, ranks: int, core_gflops: float) -> float:
    """Achieved rate over the hardware limit: P times the single-core GEMM rate."""
    return gflops / (ranks * core_gflops)


def bandwidth_limit(bandwidth: dict | None, ranks: int) -> float | None:
    """The memory bandwidth (GB/s) of P ranks, one core each: the STREAM probe's at the
    most cores it ran on that P still fills (sweep.json's bandwidth["gbps_by_cores"], keyed by
    the number of cores as text); None without the probe."""
    measured = {int(cores): rate for cores, rate in (bandwidth or {}).items()}
    usable = [cores for cores in measured if cores <= ranks]
    return measured[max(usable)] if usable else None


def record_bandwidth(record: dict, bandwidth: dict | None) -> float | None:
    """The bandwidth limit of a run: the run's own probe, right after its timed repeats on
    its cores (record["bandwidth_gbps"], jaxpar.rank.side.bandwidth_probe), else the sweep's at its
    start (bandwidth_limit)."""
    return record.get("bandwidth_gbps") or bandwidth_limit(bandwidth, record["ranks"])


def hw_fraction(record: dict, core_gflops: dict, bandwidth: dict | None) -> float | None:
    """A verified record's rate over its workload's hardware limit: GB/s over the memory
    bandwidth of P cores (bandwidth_limit) for a bandwidth-bound workload, else GFLOP/s over
    P x the single-core GEMM rate of its dtype; None where that limit was not measured."""
    from jaxpar import registry

    if registry.problem(record["workload"]).limit == "bandwidth":
        gbps = record_bandwidth(record, bandwidth)
        return record["gbytes_per_s"] / gbps if gbps and record.get("gbytes_per_s") is not None else None
    rate = core_gflops.get(record["dtype"])
    return (hardware_efficiency(record["gflops"], record["ranks"], rate)
            if rate and record.get("gflops") is not None else None)


def scaling_rows(records, sweep: dict, core_gflops: dict, pingpong: dict | None = None,
                 collective_fits: dict | None = None, concurrent_gflops: dict | None = None,
                 bandwidth: dict | None = None) -> list[dict]:
    """One row per verified record of a sweep, with its scaling metrics.

    records: compare records (status "ok" only are used; a failed check is
    never a data point). sweep: a resolved sweep (name, workload, scaling).
    core_gflops: the single-core GEMM rate per dtype measured in the same run.
    The baseline of each row is the verified P = 1 run of the same
    implementation, algorithm, dtype and size (weak: size per rank), in the
    same launch mode where there is one (JAX at P = 1 is a single process).
    pingpong, collective_fits: the measured MPI ping-pong alpha and beta, and the alpha-beta
    fits of the collectives workload's records (jaxpar.harness.alphabeta.fits); with
    either, each row has its ideal time: the compute at P x the core rate plus the
    communication it issues, priced by the fits of its own transport where measured, else
    by the ping-pong ("model_time", "model_comm", "model_source"; None without).
    concurrent_gflops: per dtype, the mean rate per copy of the single-core GEMM run on
    several cores at once (sweep.json's core_gemm_gflops_concurrent[dtype]["gflops"]); with
    it, "concurrent_efficiency" is the achieved rate over P such copies.
    bandwidth: GB/s of the STREAM DAXPY probe by number of cores (bandwidth_limit). For a workload
    whose limit is "bandwidth" (the stencil) the hardware limit is that bandwidth, not the
    GEMM rate: "hw_efficiency" is the record's gbytes_per_s over it, and the ideal time's
    compute part is the least bytes moved at it ("concurrent_efficiency" does not apply).
    """
    from jaxpar.harness import alphabeta
    from jaxpar import registry
    from jaxpar.harness.sweep import WORKLOADS, per_rank_sizes

    spec = WORKLOADS[sweep["workload"]]
    definition = registry.problem(sweep["workload"])
    scaling = sweep["scaling"]

    def problem(r):
        sizes = r["sizes"] if scaling == "strong" else per_rank_sizes(r["workload"], r["sizes"], r["ranks"])
        return (r["impl"], r["algorithm"], r["dtype"], tuple(sorted(sizes.items())))

    ok = [r for r in records if r.get("status") == "ok" and sweep["name"] in r.get("sweeps", ())]
    baselines = {}
    for r in ok:
        if r["ranks"] == 1:
            baselines.setdefault(problem(r), {})[r["launch"]] = r
    rows = []
    for r in ok:
        times = r[spec.time_field]
        candidates = baselines.get(problem(r), {})
        base = candidates.get(r["launch"]) or next(iter(candidates.values()), None)
        t_one = base[spec.time_field]["median"] if base else None
        rate = core_gflops.get(r["dtype"])
        comm = alphabeta.comm_model(r, collective_fits or {}, pingpong)
        priced = rate and (pingpong or collective_fits)  # no measured communication: no model
        by_bandwidth = definition.limit == "bandwidth"
        gbps = record_bandwidth(r, bandwidth) if by_bandwidth else None
        compute = definition.compute_seconds(r, rate, gbps) if priced else None
        hw = hw_fraction(r, core_gflops, bandwidth)
        communication = definition.comm_seconds(r, comm) if priced else None
        model = None if compute is None or communication is None else compute + communication
        rows.append({
            "id": r["id"], "label": r.get("label", r["id"]), "workload": r["workload"],
            "impl": r["impl"], "algorithm": r["algorithm"], "launch": r["launch"],
            "transport": r.get("transport"),
            "ranks": r["ranks"], "dtype": r["dtype"], "sizes": r["sizes"],
            "problem": problem(r), "time": times, "gflops": r.get("gflops"),
            "baseline_id": base["id"] if base else None,
            "ideal_time": ideal_time(t_one, r["ranks"], scaling) if base else None,
            "speedup": speedup(t_one, times["median"], r["ranks"], scaling) if base else None,
            "efficiency": parallel_efficiency(t_one, times["median"], r["ranks"], scaling) if base else None,
            "gbytes_per_s": r.get("gbytes_per_s"),
            "limit": definition.limit,
            "hw_efficiency": hw,
            "concurrent_efficiency": (
                hardware_efficiency(r["gflops"], r["ranks"], (concurrent_gflops or {})[r["dtype"]])
                if not by_bandwidth and (concurrent_gflops or {}).get(r["dtype"])
                and r.get("gflops") is not None else None),
            "model_time": model,
            "model_comm": communication,
            "model_source": " + ".join(sorted(comm.used)) or None,
            "of_model": model / times["median"] if model else None,
            "iqr_fraction": times["iqr"] / times["median"] if times["median"] > 0 else None,
            # the spread of the repeats carried into the metrics: values at the q3 and q1 times
            "efficiency_range": ([parallel_efficiency(t_one, times[q], r["ranks"], scaling)
                                  for q in ("q3", "q1")] if base and times["q1"] > 0 else None),
            "hw_efficiency_range": ([hw * times["median"] / times[q] for q in ("q3", "q1")]
                                    if hw is not None and times["q1"] > 0 else None),
        })
    return rows


NOISY_IQR = 0.10  # a row whose IQR is more than this fraction of its median is flagged


def flags(row: dict) -> list[str]:
    """What a reader should doubt about a scaling row: noise, and more than ideal."""
    out = []
    if row.get("iqr_fraction") is not None and row["iqr_fraction"] > NOISY_IQR:
        out.append(f"noisy: IQR {100 * row['iqr_fraction']:.0f}% of median")
    if row.get("efficiency") is not None and row["efficiency"] > 1.0 and row["ranks"] > 1:
        out.append("efficiency > 100%")
    if row.get("hw_efficiency") is not None and row["hw_efficiency"] > 1.0:
        out.append("above the bandwidth limit" if row.get("limit") == "bandwidth"
                   else "above the GEMM limit")
    return out
