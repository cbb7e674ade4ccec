"""Claim: jax.jit makes repeated work much faster.

Measure: the same JAX program run op by op (jax.disable_jit(): every primitive dispatched on
its own, loops in Python) against jitted, at P = 1, in the same run (the runner's op-by-op
repeats, record["op_by_op_s"]). Holds where the jitted program is at least SPEEDUP times as
fast.
"""
from jaxpar.claims.verdict import NotMeasured, Verdict, field_of, ratio, span, time_path, where

ID = "jit"
QUOTE = ("Using jax.jit: This tool in JAX changes Python work into machine language. This makes "
         "things run much faster, especially if you do the same thing many times.")
MEASURE = "op-by-op time ÷ jitted time of the same JAX program, at P = 1, in the same run"
SECTION = "The claims' figures"
SPEEDUP = 2.0   # "much faster": at least twice


def evaluate(ctx) -> Verdict:
    v = Verdict(ID, QUOTE, MEASURE, SECTION)
    runs = [r for r in ctx.ok if (r.get("op_by_op_s") or {}).get("median")
            and (r.get("op_by_op") or {}).get("verified", True)]
    if not runs:
        raise NotMeasured("no verified run timed its program op by op (sweep key op_by_op)")
    outcomes, gains, recompiled, dispatched = [], [], [], []
    for r in sorted(runs, key=where):
        gain = v.figure(ctx, f"{where(r)}: op by op ÷ jitted",
                        ratio(field_of(r, "op_by_op_s.median"), field_of(r, time_path(r))), "×")
        gains.append(gain)
        label = f"{r['workload']}/{r['impl']}" + (f"/{r['algorithm']}" if r.get("algorithm") else "")
        outcomes.append((label, gain >= SPEEDUP))
        # JAX 0.10 compiles an un-jitted shard_map's primitives anew on every call: there
        # the gain is mostly compile time, elsewhere it is Python's per-op dispatch
        compiles = (r.get("op_by_op") or {}).get("compiles_per_repeat") or 0
        (recompiled if compiles else dispatched).append((label, gain, compiles))
    decided = v.decide(outcomes)
    v.regime = ctx.regime(runs)
    v.deciding = f"op by op ÷ jitted {span(gains)}× (target ≥ {SPEEDUP:g})"
    v.summary = f"Jitted, the same program runs {span(gains)}× as fast as op by op ({decided})."
    parts = []
    if dispatched:
        parts.append("op by op with cached primitives (per-op dispatch from Python, loops in Python): "
                     + ", ".join(f"{label} {gain:.3g}×" for label, gain, _ in dispatched)
                     + (" (a program of one op gains nothing from jit)" if min(g for _, g, _ in dispatched) < SPEEDUP else ""))
    if recompiled:
        parts.append("op by op recompiling its primitives on every call (un-jitted shard_map and pmap in "
                     "JAX 0.10), so mostly compile time: "
                     + ", ".join(f"{label} {gain:.3g}× ({compiles:g} compilations a call)"
                                 for label, gain, compiles in recompiled))
    v.cause = "; ".join(parts) + ". The jitted program's own compile time is reported apart (JIT compile time)."
    return v
