"""Claim: JAX is a faster NumPy.

Measure: at P = 1, per workload and size, the fastest JAX form's time over mpi4py's (numpy on
the same core, the same algorithm). Holds where JAX is faster.
"""
from jaxpar.claims.verdict import (MPI4PY, NotMeasured, Verdict, aggregate, configuration, field_of,
                                   jax_forms, ratio, span, time_of, time_path, timed_workloads)

ID = "fast_numpy"
QUOTE = ("Fast NumPy: JAX makes the usual NumPy stuff faster. It changes them to work better with "
         "fast machines, making calculations quick and right.")
MEASURE = "fastest JAX form's time ÷ mpi4py's (numpy) at P = 1, per workload and size"
SECTION = "The claims' figures"


def evaluate(ctx) -> Verdict:
    v = Verdict(ID, QUOTE, MEASURE, SECTION)
    configs = {}
    for r in ctx.ok:
        if r["ranks"] == 1 and r["workload"] in timed_workloads(ctx):
            side = "numpy" if r["impl"] == MPI4PY else "jax" if r["impl"] in jax_forms(r["workload"]) else None
            if side:
                configs.setdefault(configuration(r), {}).setdefault(side, []).append(r)
    outcomes, shares, used = [], [], []
    for (workload, _, dtype, _), runs in sorted(configs.items()):
        if "numpy" not in runs or "jax" not in runs:
            continue
        used += runs["numpy"] + runs["jax"]
        best = min(runs["jax"], key=time_of)
        label = f"{workload} {dtype}"
        share = v.figure(ctx, f"{label}: fastest JAX ({best['impl']}) ÷ fastest mpi4py, P = 1",
                         ratio(aggregate("min", [field_of(r, time_path(r)) for r in runs["jax"]]),
                               aggregate("min", [field_of(r, time_path(r)) for r in runs["numpy"]])), "×")
        shares.append(share)
        outcomes.append((label, share < 1))
    if not outcomes:
        raise NotMeasured("no verified P = 1 run of both mpi4py and a JAX form")
    decided = v.decide(outcomes)
    v.regime = ctx.regime(used)
    v.deciding = f"JAX ÷ numpy time {span(shares)}"
    v.summary = f"At P = 1 the fastest JAX form takes {span(shares)}× numpy's time ({decided})."
    v.cause = ("Fusion of elementwise work and no per-call Python where JAX leads; the local "
               "kernel (XLA's dot against numpy's OpenBLAS) where it trails (Where the time goes).")
    return v
