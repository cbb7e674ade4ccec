"""Claim: pmap and shard_map make parallelisation seamless.

Measure: in each strong-scaling sweep, the speedup at the largest P (T(1) / T(P), the same
implementation, algorithm, dtype and size; parallel efficiency is it over P) of each JAX form
in each launch mode, over c_mpi's speedup in the same configuration (its same algorithm, else
its fastest). Holds where the JAX form keeps at least RELATIVE of c_mpi's efficiency. The
attribution splits the JAX form's time at that P into local compute, priced communication and
the rest.
"""
from jaxpar.claims import attributed
from jaxpar.claims.verdict import (C_MPI, NotMeasured, Verdict, field_of, jax_forms, ratio, span,
                                   time_of, time_path, timed_workloads, where)

ID = "seamless_parallel"
QUOTE = ("Since each operation is self-contained and doesn't rely on an external state, "
         "parallelizing them using tools like jax.pmap or jax.vmap becomes a seamless endeavor.")
MEASURE = ("parallel efficiency at the largest P of each JAX form ÷ c_mpi's, in one process and "
           "under mpirun, with the attribution")
SECTION = "Where the time goes"
RELATIVE = 0.9   # within 10% of C/MPI's efficiency


def _key(r):
    return r["workload"], r["impl"], r.get("algorithm"), r["dtype"], repr(sorted(r["sizes"].items()))


def evaluate(ctx) -> Verdict:
    v = Verdict(ID, QUOTE, MEASURE, SECTION)
    strong = {s["name"] for s in ctx.meta.get("config", {}).get("sweeps", []) if s.get("scaling") == "strong"}
    runs = [r for r in ctx.ok if strong & set(r.get("sweeps", ())) and r["workload"] in timed_workloads(ctx)]
    ones = {}
    for r in runs:
        if r["ranks"] == 1:
            ones.setdefault(_key(r), r)
    top = max((r["ranks"] for r in runs), default=1)
    if top < 2:
        raise NotMeasured("no verified strong-scaling run at P > 1")
    at_top = [r for r in runs if r["ranks"] == top and _key(r) in ones]
    outcomes, relative, causes, used = [], [], [], []
    for r in sorted(at_top, key=where):
        if r["impl"] not in jax_forms(r["workload"]):
            continue
        bases = [c for c in at_top if c["impl"] == C_MPI and c["workload"] == r["workload"]
                 and c["dtype"] == r["dtype"] and c["sizes"] == r["sizes"]]
        base = next((c for c in bases if c.get("algorithm") == r.get("algorithm")), None) or (
            min(bases, key=time_of) if bases else None)
        if base is None:
            continue
        mine, theirs = ones[_key(r)], ones[_key(base)]
        used += [r, base, mine, theirs]
        speedup = ratio(field_of(mine, time_path(mine)), field_of(r, time_path(r)))
        c_speedup = ratio(field_of(theirs, time_path(theirs)), field_of(base, time_path(base)))
        label = f"{r['workload']}/{r['impl']}" + (f"/{r['algorithm']}" if r.get("algorithm") else "") + f" {r['launch']}"
        s = v.figure(ctx, f"{where(r)}: speedup over its P = 1", speedup, "×")
        share = v.figure(ctx, f"{where(r)}: its efficiency ÷ c_mpi's ({base.get('algorithm') or '—'})",
                         ratio(speedup, c_speedup), "×")
        relative.append(share)
        outcomes.append((label, share >= RELATIVE))
        split = attributed.shares_text(ctx, r)
        if share < RELATIVE:
            causes.append(f"{label}: speedup {s:.2f} against c_mpi's {s / share:.2f}"
                          + (f"; its time at P = {top}: {split}" if split else ""))
    if not outcomes:
        raise NotMeasured("no JAX form and c_mpi both verified at P = 1 and the largest P")
    decided = v.decide(outcomes)
    v.regime = ctx.regime(used)
    v.deciding = f"JAX efficiency ÷ c_mpi's at P = {top}: {span(relative)} (target ≥ {RELATIVE})"
    v.summary = (f"At P = {top} the JAX forms keep {span(relative)} of c_mpi's parallel efficiency "
                 f"({decided}).")
    v.cause = ("; ".join(causes) + ".") if causes else "Every JAX form scales as c_mpi does here."
    return v
