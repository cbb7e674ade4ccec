"""Claim: statelessness makes distribution easy and safe, where C with MPI must manage state.

Measure: in each workload whose c_mpi keeps ghost cells (its `halo` region,
harness/codesize.py), the SLOC of halo state each JAX form manages against c_mpi's, and the
price at the largest P: the memory the timed runs added over the minimum the problem needs
(record memory.max_run_growth_bytes ÷ memory.min_bytes_per_rank, one device per process) and
the fraction of the memory-bandwidth limit reached (gbytes_per_s ÷ the run's own
bandwidth_gbps probe), each beside c_mpi's. Holds for a JAX form that manages no ghost cells
(no halo code): the state the claim says statelessness removes.
"""
from jaxpar.claims.verdict import (C_MPI, NotMeasured, Verdict, field_of, jax_forms, ratio, size_of,
                                   span, time_of, timed_workloads, value)

ID = "stateless_distribution"
QUOTE = ("JAX's stateless nature simplifies many tasks like JIT compilation, distribution, and "
         "parallelization. In contrast, managing state in C with MPI can be cumbersome and error-prone.")
MEASURE = ("halo (ghost-cell) SLOC of each JAX form against c_mpi's; memory growth ÷ the minimum "
           "and the fraction of the bandwidth limit, beside c_mpi's")
SECTION = "Code size"
REGION = "regions.halo.sloc"


def _halo(ctx, workload, impl) -> int:
    return int(((ctx.size_row(workload, impl) or {}).get("regions") or {}).get("halo", {}).get("sloc", 0))


def _price(ctx, v, record, label):
    """Add the memory and bandwidth figures of one record; return the bandwidth fraction."""
    memory = record.get("memory") or {}
    if memory.get("min_bytes_per_rank") and memory.get("devices_per_process") == 1:
        v.figure(ctx, f"{label}: memory growth in the timed runs ÷ the minimum",
                 ratio(field_of(record, "memory.max_run_growth_bytes"),
                       field_of(record, "memory.min_bytes_per_rank")), "×")
    if record.get("bandwidth_gbps") and record.get("gbytes_per_s"):
        return v.figure(ctx, f"{label}: fraction of the bandwidth limit",
                        ratio(field_of(record, "gbytes_per_s"), field_of(record, "bandwidth_gbps")), "")
    return None


def evaluate(ctx) -> Verdict:
    v = Verdict(ID, QUOTE, MEASURE, SECTION)
    workloads = [w for w in timed_workloads(ctx) if _halo(ctx, w, C_MPI)]
    if not workloads:
        raise NotMeasured("no workload of this run keeps ghost cells in c_mpi (no halo region)")
    outcomes, lines, fractions, used, explicit = [], [], {}, [], {}
    for workload in workloads:
        runs = [r for r in ctx.ok if r["workload"] == workload]
        top = max((r["ranks"] for r in runs), default=None)
        base = [r for r in runs if r["impl"] == C_MPI and r["ranks"] == top]
        if not base:
            continue
        c_lines = int(v.figure(ctx, f"{workload}: c_mpi halo SLOC", value(size_of(workload, C_MPI, REGION)), "SLOC"))
        best_c = min(base, key=time_of)
        used.append(best_c)
        fractions[C_MPI] = _price(ctx, v, best_c, f"{workload} c_mpi P = {top}")
        for impl in jax_forms(workload):
            mine = [r for r in runs if r["impl"] == impl and r["ranks"] == top]
            if not mine:
                continue
            halo = _halo(ctx, workload, impl)
            if halo:
                v.figure(ctx, f"{workload}: {impl} halo SLOC", value(size_of(workload, impl, REGION)), "SLOC")
            lines.append(halo)
            explicit[impl] = halo > 0
            best = min(mine, key=time_of)
            used.append(best)
            fractions[impl] = _price(ctx, v, best, f"{workload} {impl} P = {top} {best['launch']}")
            outcomes.append((f"{workload}/{impl}", halo == 0))
    if not outcomes:
        raise NotMeasured("no JAX form and c_mpi both verified at the largest P")
    decided = v.decide(outcomes)
    known = {k: f for k, f in fractions.items() if f is not None}
    v.regime = ctx.regime(used)
    v.deciding = f"halo SLOC: c_mpi {c_lines}, JAX forms {span(lines, 'd')}"
    v.summary = (f"c_mpi manages ghost cells in {c_lines} SLOC; the JAX forms in {span(lines, 'd')} "
                 f"({decided}: only a form with no halo code is free of that state)"
                 + (f"; of the bandwidth limit, c_mpi reaches {100 * known[C_MPI]:.0f}% and the JAX "
                    f"forms {span([100 * f for k, f in known.items() if k != C_MPI], '.0f')}%"
                    if C_MPI in known and len(known) > 1 else "") + ".")
    own = [impl for impl, has in explicit.items() if has]
    left = [impl for impl, has in explicit.items() if not has]
    v.cause = ("Code: " + (f"{', '.join(own)} exchange halos into ghost cells they manage, as C does"
                           if own else "no JAX form manages ghost cells")
               + (f"; {', '.join(left)} leave{'s' if len(left) == 1 else ''} the halos to XLA" if left else "") + ".")
    return v
