"""Claim: Keras simplifies multi-device distribution over core JAX.

Measure: the code a user writes (SLOC, tokens) of keras against jax_auto and jax, and the
lines that change from one device to P (the `distribution` region, harness/codesize.py) in
each. Holds in each of the two comparisons with jax_auto where keras writes fewer.
"""
from jaxpar import registry
from jaxpar.claims.verdict import KERAS, NotMeasured, Verdict, ratio, size_of, value

ID = "keras_distribution"
QUOTE = ("One of the challenges with core JAX is managing computations across multiple devices. "
         "With Keras Core's integration, this process is streamlined ... removing much of the "
         "manual overhead associated with setting up multi-device computations in core JAX.")
MEASURE = "keras against jax_auto (and jax): SLOC, tokens, and the SLOC that change from one device to P"
SECTION = "Keras 3 on JAX: the talk's claim"
OTHERS = ("jax_auto", "jax")
REGION = "regions.distribution.sloc"


def evaluate(ctx) -> Verdict:
    v = Verdict(ID, QUOTE, MEASURE, SECTION)
    workload = next((e.workload for e in registry.ENTRIES if e.impl == KERAS), None)
    if not any(r["impl"] == KERAS for r in ctx.ok):
        raise NotMeasured("no keras run verified in this run")
    if ctx.size_row(workload, KERAS) is None or ctx.size_row(workload, OTHERS[0]) is None:
        raise NotMeasured("no code-size count of keras and jax_auto")
    dist = lambda impl: ((ctx.size_row(workload, impl) or {}).get("regions") or {}).get("distribution")  # noqa: E731
    sloc = v.figure(ctx, "keras SLOC ÷ jax_auto's", ratio(size_of(workload, KERAS, "sloc"),
                                                          size_of(workload, OTHERS[0], "sloc")), "×")
    v.figure(ctx, "keras tokens ÷ jax_auto's", ratio(size_of(workload, KERAS, "tokens"),
                                                     size_of(workload, OTHERS[0], "tokens")), "×")
    lines = {}
    for impl in (KERAS,) + OTHERS:
        if dist(impl):
            lines[impl] = int(v.figure(ctx, f"{impl}: SLOC that change from one device to P",
                                       value(size_of(workload, impl, REGION)), "SLOC"))
    if KERAS not in lines or OTHERS[0] not in lines:
        raise NotMeasured("keras or jax_auto has no distribution region to count")
    outcomes = [("code size", sloc < 1), ("lines from one device to P", lines[KERAS] < lines[OTHERS[0]])]
    decided = v.decide(outcomes)
    v.regime = "source code, any machine"
    v.deciding = (f"keras ÷ jax_auto SLOC {sloc:.2f}; one device to P: keras {lines[KERAS]}, "
                  f"jax_auto {lines[OTHERS[0]]} SLOC")
    v.summary = (f"keras is {sloc:.2f}× jax_auto's SLOC, and {lines[KERAS]} of its SLOC change from one "
                 f"device to P against jax_auto's {lines[OTHERS[0]]}"
                 + (f" and jax's {lines['jax']}" if "jax" in lines else "") + f" ({decided}).")
    v.cause = "Code size only: the distribution API (DataParallel) against a mesh and shardings by hand."
    return v
