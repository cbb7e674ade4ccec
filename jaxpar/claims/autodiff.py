"""Claim: automatic differentiation saves time and removes sources of error.

Measure: in each workload whose c_mpi derives a gradient by hand (its `gradient` region,
harness/codesize.py), the SLOC of that hand-derived code in c_mpi and mpi4py against the
gradient code of each JAX form (a jax.value_and_grad call) and Keras (none: fit
differentiates), and the agreement of every trajectory with the float64 reference (the
records' errors; each passed its tolerance, or it would not be verified). Holds for a JAX
form that writes fewer gradient lines than c_mpi and verified.
"""
from jaxpar import registry
from jaxpar.claims.verdict import (C_MPI, KERAS, MPI4PY, NotMeasured, Verdict, aggregate, field_of,
                                   jax_forms, size_of, span, value, timed_workloads)

ID = "autodiff"
QUOTE = ("One of JAX's standout features is its capability for automatic differentiation. In the "
         "realm of machine learning, where gradient computations are ubiquitous, this feature alone "
         "can save vast amounts of time and reduce potential sources of error.")
MEASURE = ("SGD: SLOC of the hand-derived gradient in c_mpi and mpi4py against the gradient code "
           "of each JAX form (jax.value_and_grad) and Keras; the trajectories' errors against float64")
SECTION = "Code size"
REGION = "regions.gradient.sloc"


def _lines(ctx, v, workload, impl) -> int:
    """The SLOC of impl's gradient region, as a figure; 0 (no figure) where it has none."""
    row = ctx.size_row(workload, impl)
    if row is None:
        raise NotMeasured(f"no code-size count of {workload}/{impl}")
    if not (row.get("regions") or {}).get("gradient"):
        return 0
    return int(v.figure(ctx, f"{workload}: {impl} gradient SLOC", value(size_of(workload, impl, REGION)), "SLOC"))


def evaluate(ctx) -> Verdict:
    v = Verdict(ID, QUOTE, MEASURE, SECTION)
    outcomes, hand, auto, used = [], {}, [], []
    workloads = [w for w in timed_workloads(ctx)
                 if ((ctx.size_row(w, C_MPI) or {}).get("regions") or {}).get("gradient")]
    if not workloads:
        raise NotMeasured("no workload of this run derives a gradient by hand (no gradient region)")
    for workload in workloads:
        error = registry.problem(workload).error_fields[0]
        verified = {r["impl"] for r in ctx.ok if r["workload"] == workload}
        for impl in (C_MPI, MPI4PY):
            if impl in verified:
                hand[impl] = _lines(ctx, v, workload, impl)
        if C_MPI not in hand:
            continue
        for impl in jax_forms(workload) + [KERAS]:
            runs = [r for r in ctx.ok if r["workload"] == workload and r["impl"] == impl]
            if not runs:
                continue
            used += runs
            lines = _lines(ctx, v, workload, impl)
            auto.append(lines)
            v.figure(ctx, f"{workload}: {impl} largest {error} over its runs",
                     aggregate("max", [field_of(r, error) for r in runs]), "relative")
            outcomes.append((f"{workload}/{impl}", lines < hand[C_MPI]))
        base = [r for r in ctx.ok if r["workload"] == workload and r["impl"] == C_MPI]
        if base:
            v.figure(ctx, f"{workload}: c_mpi largest {error} over its runs",
                     aggregate("max", [field_of(r, error) for r in base]), "relative")
    decided = v.decide(outcomes)
    v.regime = ctx.regime(used) + "; code size on any machine"
    v.deciding = (f"hand-derived gradient: c_mpi {hand[C_MPI]} SLOC"
                  + (f", mpi4py {hand[MPI4PY]}" if MPI4PY in hand else "")
                  + f"; JAX and Keras {span(auto, 'd')}")
    v.summary = (f"c_mpi derives the MLP's gradient by hand in {hand[C_MPI]} SLOC"
                 + (f" and mpi4py in {hand[MPI4PY]}" if MPI4PY in hand else "")
                 + f"; the JAX forms and Keras write {span(auto, 'd')} ({decided}), and every "
                 "verified trajectory agrees with the float64 reference within its tolerance.")
    v.cause = ("Code size and correctness only: the time it saves a person is not measured; "
               "each hand-derived gradient here was checked against the same reference.")
    return v
