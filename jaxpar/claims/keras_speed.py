"""Claim: Keras on JAX keeps JAX's speed.

Measure: the step time of keras over jax_auto (jit with shardings: what Keras's DataParallel
compiles to) in every configuration both verified, against keras_section.TARGET. Keras's fit
has a cost per call (its Python loop over the jitted step, callbacks, the batches' copies)
that a run of T steps spreads over T: the cause names how much of the extra time per step
is the local kernel and how much is outside it, and that extra time per fit call.
"""
from jaxpar.claims import keras_section
from jaxpar.claims.verdict import (KERAS, NotMeasured, Verdict, configuration, field_of, ratio, span,
                                   time_of, time_path)

ID = "keras_speed"
QUOTE = ("With this integration, when you define a model in Keras, you're not just getting the "
         "simplicity of Keras; you're also reaping all the advantages JAX brings to the table. "
         "From automatic differentiation to lightning-fast matrix operations, the marriage of "
         "Keras and JAX ensures that your models are both easy to define and quick to train.")
MEASURE = f"keras step time ÷ jax_auto's in the same configuration (target ≤ {keras_section.TARGET})"
SECTION = "Keras 3 on JAX: the talk's claim"


def evaluate(ctx) -> Verdict:
    v = Verdict(ID, QUOTE, MEASURE, SECTION)
    base = {(configuration(r), r["launch"]): r for r in ctx.ok if r["impl"] == keras_section.BASELINE}
    outcomes, shares, causes, used = [], [], [], []
    for r in sorted((r for r in ctx.ok if r["impl"] == KERAS), key=lambda r: (r["ranks"], r["launch"])):
        other = base.get((configuration(r), r["launch"]))
        if other is None:
            continue
        used += [r, other]
        label = f"P = {r['ranks']} {r['launch']} {r['dtype']}"
        share = v.figure(ctx, f"{label}: keras step ÷ jax_auto's",
                         ratio(field_of(r, time_path(r)), field_of(other, time_path(other))), "×")
        shares.append(share)
        outcomes.append((label, share <= keras_section.TARGET))
        extra = time_of(r) - time_of(other)
        steps = r["sizes"].get("steps")
        local = (r["local_s"] - other["local_s"]) if r.get("local_s") and other.get("local_s") else None
        causes.append(f"{label}: {1e3 * extra:+.2f} ms a step"
                      + (f" ({1e3 * local:+.2f} in the local kernel, {1e3 * (extra - local):+.2f} outside it)"
                         if local is not None else "")
                      + (f", {1e3 * extra * steps:+.1f} ms per fit call of {steps} steps" if steps else ""))
    if not outcomes:
        failed = ctx.failed(impl=KERAS)
        raise NotMeasured("no configuration verified both keras and jax_auto"
                          + (f" (keras failed in {len(failed)} run(s))" if failed else ""))
    decided = v.decide(outcomes)
    v.regime = ctx.regime(used)
    v.deciding = f"keras ÷ jax_auto step {span(shares)} (target ≤ {keras_section.TARGET})"
    v.summary = f"Keras's step takes {span(shares)}× jax_auto's ({decided})."
    v.cause = "; ".join(causes) + ". Outside the local kernel is what fit adds per call and per step."
    return v
