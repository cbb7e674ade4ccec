"""Claim: JAX beats C with MPI for heavy numerical work.

Measure: per workload and size, the best JAX time (any hand-written JAX form, algorithm and
launch) over the best c_mpi time, at P = 1 and at the largest P of the run. Holds where JAX
is faster. The attribution (harness/attribution.py) says where the gap is: local kernel,
transport or the rest.
"""
from jaxpar.claims import attributed
from jaxpar.claims.verdict import (C_MPI, NotMeasured, Verdict, aggregate, configuration, field_of,
                                   jax_forms, ratio, span, time_of, time_path, timed_workloads, where)

ID = "beats_c_mpi"
QUOTE = ("When comparing JAX to the combination of C with the Message Passing Interface (MPI), "
         "there are clear advantages in favor of JAX ... many see it as a top choice for heavy "
         "computer work.")
MEASURE = "best JAX time ÷ best c_mpi time per workload, at P = 1 and at the largest P"
SECTION = "Where the time goes"


def pairs(ctx) -> list[tuple]:
    """(label, JAX records, c_mpi records) per workload, dtype and size at P = 1 and at the
    workload's largest P, where both verified: what the verdict and the report's summary
    figure compare."""
    configs = {}
    for r in ctx.ok:
        if r["workload"] in timed_workloads(ctx):
            side = "c" if r["impl"] == C_MPI else "jax" if r["impl"] in jax_forms(r["workload"]) else None
            if side:
                configs.setdefault(configuration(r), {}).setdefault(side, []).append(r)
    top = {w: max(p for (w2, p, _, _) in configs if w2 == w) for (w, _, _, _) in configs}
    return [(f"{workload} {dtype} P = {ranks}", runs["jax"], runs["c"])
            for (workload, ranks, dtype, _), runs in sorted(configs.items())
            if ranks in (1, top[workload]) and "c" in runs and "jax" in runs]


def evaluate(ctx) -> Verdict:
    v = Verdict(ID, QUOTE, MEASURE, SECTION)
    outcomes, shares, causes, used = [], [], [], []
    for label, jax_runs, c_runs in pairs(ctx):
        used += c_runs + jax_runs
        best, base = min(jax_runs, key=time_of), min(c_runs, key=time_of)
        share = v.figure(ctx, f"{label}: best JAX ({best['impl']}, {best['launch']}) ÷ best c_mpi",
                         ratio(aggregate("min", [field_of(r, time_path(r)) for r in jax_runs]),
                               aggregate("min", [field_of(r, time_path(r)) for r in c_runs])), "×")
        shares.append(share)
        outcomes.append((label, share < 1))
        gap = attributed.gap_text(ctx, best, base)
        causes.append(f"{label}: {where(best)} is {share:.2f}× c_mpi's" + (f", {gap}" if gap else ""))
    if not outcomes:
        missing = ctx.failed(impl=C_MPI)
        raise NotMeasured("no configuration has both a verified c_mpi and a verified JAX run"
                          + (f" ({len(missing)} c_mpi run(s) failed)" if missing else ""))
    decided = v.decide(outcomes)
    v.regime = ctx.regime(used)
    v.deciding = f"best JAX ÷ best c_mpi {span(shares)}"
    v.summary = f"The best JAX form takes {span(shares)}× c_mpi's time ({decided})."
    v.cause = "; ".join(causes) + "."
    return v
