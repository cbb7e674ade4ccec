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
    runs = [r for r in ctx.ok if (r.get("op_by_op_s") or {}).get("median")]
    if not runs:
        raise NotMeasured("no verified run timed its program op by op (sweep key op_by_op)")
    outcomes, gains = [], []
    for r in sorted(runs, key=where):
        gain = v.figure(ctx, f"{where(r)}: op by op ÷ jitted",
                        ratio(field_of(r, "op_by_op_s.median"), field_of(r, time_path(r))), "×")
        gains.append(gain)
        outcomes.append((f"{r['workload']}/{r['impl']}" + (f"/{r['algorithm']}" if r.get("algorithm") else ""),
                         gain >= SPEEDUP))
    decided = v.decide(outcomes)
    v.regime = ctx.regime(runs)
    v.deciding = f"op by op ÷ jitted {span(gains, '.3g')}× (target ≥ {SPEEDUP:g})"
    v.summary = (f"Jitted, the same program runs {span(gains, '.3g')}× as fast as op by op "
                 f"({decided}).")
    v.cause = ("Per-op dispatch from Python and loops unrolled in Python, which one compiled "
               "program replaces; the compile time is reported apart (JIT compile time).")
    return v
