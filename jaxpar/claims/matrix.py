"""Claim: JAX gives fast matrix work through XLA with no manual optimisation.

Measure: the runner's local-kernel probe (jaxpar/rank/localkernel.py) times each run's own
local work, at the run's own shapes, with the implementation's library on one core: XLA's dot
for the JAX forms, OpenBLAS through CBLAS for c_mpi. At P = 1, in each workload whose limit is
the GEMM rate: the fastest XLA time over c_mpi's. Holds where XLA is within TOLERANCE of
OpenBLAS, which a C user calls without tuning either.
"""
from jaxpar import registry
from jaxpar.claims.verdict import (C_MPI, NotMeasured, Verdict, aggregate, configuration, field_of,
                                   ratio, span, timed_workloads)

ID = "xla_matmul"
QUOTE = ("While C with MPI can be fine-tuned for performance, JAX inherently provides accelerated "
         "matrix operations, removing the onus of manual optimization.")
MEASURE = ("XLA's local kernel time ÷ OpenBLAS's (c_mpi) on one core, at P = 1, at the run's own "
           "shapes (the local-kernel probe)")
SECTION = "Where the time goes"
TOLERANCE = 1.10   # XLA at most 10% slower than OpenBLAS: as fast, within this VM's noise


def evaluate(ctx) -> Verdict:
    v = Verdict(ID, QUOTE, MEASURE, SECTION)
    probed = [r for r in ctx.ok if r["ranks"] == 1 and r.get("local_s")
              and registry.problem(r["workload"]).limit == "gemm" and r["workload"] in timed_workloads(ctx)]
    configs = {}
    for r in probed:
        library = registry.entry(r["workload"], r["impl"]).kernel_library
        if r["impl"] == C_MPI or library == registry.XLA:
            configs.setdefault(configuration(r), {}).setdefault(
                "cblas" if r["impl"] == C_MPI else "xla", []).append(r)
    outcomes, shares, used = [], [], []
    for (workload, _, dtype, _), runs in sorted(configs.items()):
        if "cblas" not in runs or "xla" not in runs:
            continue
        used += runs["cblas"] + runs["xla"]
        label = f"{workload} {dtype} {registry.problem(workload).size_label(runs['cblas'][0]['sizes'])}"
        share = v.figure(ctx, f"{label}: XLA local time ÷ OpenBLAS's",
                         ratio(aggregate("min", [field_of(r, "local_s") for r in runs["xla"]]),
                               aggregate("min", [field_of(r, "local_s") for r in runs["cblas"]])), "×")
        shares.append(share)
        outcomes.append((label, share <= TOLERANCE))
    if not outcomes:
        raise NotMeasured("no P = 1 run of c_mpi and a JAX form with a local-kernel probe verified")
    decided = v.decide(outcomes)
    v.regime = ctx.regime(used)
    v.deciding = f"XLA ÷ OpenBLAS local time {span(shares)} (target ≤ {TOLERANCE})"
    v.summary = (f"XLA's dot takes {span(shares)}× OpenBLAS's time for the same local work on one "
                 f"core ({decided}; within {TOLERANCE}× counts as holding).")
    c_blas = (ctx.meta.get("environment") or {}).get("c_blas") or ""  # the C library's BLAS
    kernels = sorted({f"OpenBLAS {pool.get('version')} ({pool.get('architecture')} kernels)"
                      for r in used if r["impl"] == C_MPI for pools in r.get("thread_pools_per_rank") or []
                      for pool in pools if pool.get("internal_api") == "openblas"
                      and str(pool.get("version")) in c_blas})
    v.cause = (f"Local kernel: XLA's CPU dot against {' and '.join(kernels) or 'OpenBLAS'} at these "
               "shapes, each on one pinned core (OPENBLAS_CORETYPE, where set, chooses the kernels).")
    return v
