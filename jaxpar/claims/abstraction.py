"""Claim: JAX's higher abstraction lets one focus on the algorithm, not the plumbing.

Measure: per workload, the code a user of each model writes (SLOC, tokens and cyclomatic
complexity, sweep.json's counts) of each JAX form over c_mpi's, with mpi4py, Python with MPI
and numpy but no JAX, as the control that tells JAX's share of a saving from Python's.
Holds for a JAX form that is smaller than c_mpi in SLOC and verified in this run (code that
did not run correctly saves nothing).
"""
from jaxpar.claims.verdict import (C_MPI, MPI4PY, Verdict, jax_forms, ratio, size_of, span,
                                   timed_workloads)

ID = "abstraction"
QUOTE = ("JAX provides a higher level of abstraction compared to C with MPI. This means that "
         "data scientists can focus more on algorithm design and less on the intricacies of "
         "parallelization, memory management, and inter-process communication.")
MEASURE = ("SLOC, tokens and cyclomatic complexity of each JAX form ÷ c_mpi's, per workload; "
           "mpi4py (Python without JAX) as the control")
SECTION = "Code size"
METRICS = (("sloc", "SLOC"), ("tokens", "tokens"), ("ccn_total", "cyclomatic complexity"))


def evaluate(ctx) -> Verdict:
    v = Verdict(ID, QUOTE, MEASURE, SECTION)
    outcomes, jax_sloc, control_sloc, over_python, used = [], [], [], [], []
    for workload in timed_workloads(ctx):
        verified = {r["impl"] for r in ctx.ok if r["workload"] == workload}
        if C_MPI not in verified or ctx.size_row(workload, C_MPI) is None:
            continue
        for impl in jax_forms(workload) + [MPI4PY]:
            if impl not in verified or ctx.size_row(workload, impl) is None:
                continue
            used += [r for r in ctx.ok if r["workload"] == workload and r["impl"] == impl]
            for metric, name in METRICS:
                share = v.figure(ctx, f"{workload}: {impl} {name} ÷ c_mpi's",
                                 ratio(size_of(workload, impl, metric), size_of(workload, C_MPI, metric)), "×")
                if metric != "sloc":
                    continue
                if impl == MPI4PY:
                    control_sloc.append(share)
                    continue
                jax_sloc.append(share)
                outcomes.append((f"{workload}/{impl}", share < 1))
                if MPI4PY in verified and ctx.size_row(workload, MPI4PY) is not None:
                    over_python.append(v.figure(ctx, f"{workload}: {impl} SLOC ÷ mpi4py's", ratio(
                        size_of(workload, impl, "sloc"), size_of(workload, MPI4PY, "sloc")), "×"))
    decided = v.decide(outcomes)
    v.regime = "source code, any machine; the forms that verified in this run"
    v.deciding = f"JAX SLOC ÷ c_mpi's {span(jax_sloc)}" + (
        f" (mpi4py {span(control_sloc)})" if control_sloc else "")
    v.summary = (f"The JAX forms are {span(jax_sloc)}× c_mpi's SLOC ({decided})"
                 + (f"; mpi4py, Python with MPI but no JAX, is {span(control_sloc)}×, and the JAX "
                    f"forms are {span(over_python)}× mpi4py's: much of the saving is Python's"
                    if over_python else "") + ".")
    v.cause = ("Code size only: C spells out buffers, datatypes, requests and index arithmetic "
               "that a JAX mesh and its collectives, or numpy's slicing, imply.")
    return v
