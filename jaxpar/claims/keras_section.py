"""The report's test of the seed talk's claim about Keras 3 on JAX: that Keras keeps JAX's
speed (step time against raw JAX and jax_auto, jit with shardings, which is what Keras's
DataParallel compiles to), and that it makes distribution simpler (code size), with compile
time beside them. Built from the verified SGD records and the code-size counts only."""
from __future__ import annotations

import json
import statistics

from jaxpar import registry

KERAS = "keras"
WORKLOAD = next(e.workload for e in registry.ENTRIES if e.impl == KERAS)  # SGD, its only one
BASELINE = "jax_auto"             # the target: Keras within TARGET x of it
OTHERS = ("jax", "jax_auto", "c_mpi")
TARGET = 1.3


def _key(r):
    return (r["dtype"], json.dumps(r["sizes"], sort_keys=True), r["launch"], r["ranks"])


def _step(r):
    return r[registry.problem(WORKLOAD).time_field]["median"]


def rows(records) -> list[dict]:
    """One row per (dtype, size, launch, P) with a verified keras run: the median step time
    of keras and of each of OTHERS in the same configuration (None where it did not run;
    c_mpi has no single-process launch, so its mpirun run is shown there too)."""
    ok = [r for r in records if r.get("status") == "ok" and r["workload"] == WORKLOAD]
    by = {(r["impl"], _key(r)): r for r in ok}
    out = []
    for r in sorted((r for r in ok if r["impl"] == KERAS), key=_key):
        dtype, size, launch, ranks = _key(r)
        row = {"dtype": dtype, "sizes": r["sizes"], "launch": launch, "ranks": ranks, KERAS: _step(r)}
        for impl in OTHERS:
            other = by.get((impl, _key(r))) or by.get((impl, (dtype, size, "mpirun", ranks)))
            row[impl] = _step(other) if other else None
            if impl == BASELINE:
                row["baseline_local"] = other.get("local_s") if other else None
        row["local"] = r.get("local_s")
        row["ratio"] = row[KERAS] / row[BASELINE] if row[BASELINE] else None
        out.append(row)
    return out


def compile_and_size(records, counted) -> list[dict]:
    """Per implementation (keras, then OTHERS): SLOC and tokens of its file, and the range of
    its compile times over the verified runs of the workload (None for C)."""
    out = []
    for impl in (KERAS,) + OTHERS:
        size = next((c for c in counted if c["workload"] == WORKLOAD and c["impl"] == impl
                     and "error" not in c), None)
        compiles = [r["compile_s"] for r in records if r.get("status") == "ok"
                    and r["workload"] == WORKLOAD and r["impl"] == impl and r.get("compile_s") is not None]
        out.append({"impl": impl, "sloc": size["sloc"] if size else None,
                    "tokens": size["tokens"] if size else None,
                    "compile_min": min(compiles, default=None), "compile_max": max(compiles, default=None),
                    "compile_median": statistics.median(compiles) if compiles else None})
    return out


def verdict(step_rows, sizes) -> str:
    """One line, from the numbers: how many configurations keep within TARGET x jax_auto, and
    the code size of keras against jax_auto's."""
    ratios = [r["ratio"] for r in step_rows if r["ratio"] is not None]
    if not ratios:
        return "No configuration ran both keras and jax_auto: the claim is not tested here."
    within = sum(ratio <= TARGET for ratio in ratios)
    speed = ("holds" if within == len(ratios) else "does not hold" if within == 0
             else f"holds in {within} of {len(ratios)} configurations")
    sloc = {s["impl"]: s["sloc"] for s in sizes}
    simpler = ""
    if sloc.get(KERAS) and sloc.get(BASELINE):
        fewer = sloc[KERAS] < sloc[BASELINE]
        simpler = (f"; on code size Keras is {'smaller' if fewer else 'not smaller'}: "
                   f"{sloc[KERAS]} SLOC against jax_auto's {sloc[BASELINE]}"
                   + (f", jax's {sloc['jax']}" if sloc.get("jax") else "")
                   + (f" and c_mpi's {sloc['c_mpi']}" if sloc.get("c_mpi") else ""))
    return (f"Verdict: \"Keras keeps JAX's speed\" {speed} here (keras ÷ jax_auto "
            f"{min(ratios):.2f}–{max(ratios):.2f} against a target of {TARGET}){simpler}.")


def misses(step_rows, fmt_time, size_label) -> list[str]:
    """A sentence per configuration over the target: keras's extra time per step against
    jax_auto, split into local kernel (the runner's probe of the same work in XLA) and the
    rest, which is what fit adds (both issue the same collectives)."""
    out = []
    for r in step_rows:
        if r["ratio"] is None or r["ratio"] <= TARGET:
            continue
        extra = r[KERAS] - r[BASELINE]
        where = (f"P = {r['ranks']}, {r['launch']}, {r['dtype']}, {size_label(WORKLOAD, r['sizes'])}")
        if r["local"] is None or r["baseline_local"] is None:
            out.append(f"- {where}: keras takes {fmt_time(extra)} a step more than jax_auto "
                       "(no local-kernel probe to split it).")
            continue
        local = r["local"] - r["baseline_local"]
        out.append(f"- {where}: keras takes {fmt_time(extra)} a step more than jax_auto, "
                   f"{fmt_time(local) if local >= 0 else '-' + fmt_time(-local)} of it in the local "
                   f"kernel and {fmt_time(extra - local) if extra >= local else '-' + fmt_time(local - extra)} "
                   "outside it: fit's cost per call, its Python loop of one jitted step per batch "
                   "and each batch's copy from the host (experiments/keras_fit_overheads.py splits it).")
    return out


def section(records, counted, Table, markdown_table, fmt_time, size_label) -> tuple[list, list]:
    """(markdown lines, tables) of the section; nothing where no keras run was verified."""
    step_rows = rows(records)
    if not step_rows:
        return [], []
    unit = registry.problem(WORKLOAD).time_unit
    steps = Table(f"Keras against raw JAX and C/MPI: {WORKLOAD} time per {unit}",
                  ["dtype", "size", "launch", "P", KERAS, *OTHERS, "keras ÷ jax_auto"],
                  note=f"Median time per {unit} of each verified run in the same configuration; "
                       f"target: keras within {TARGET}× of jax_auto. c_mpi runs under mpirun only: "
                       "its mpirun time is shown in the single-process rows too.")
    for r in step_rows:
        steps.rows.append([r["dtype"], size_label(WORKLOAD, r["sizes"]), r["launch"], r["ranks"],
                           *(fmt_time(r[i]) for i in (KERAS,) + OTHERS),
                           "—" if r["ratio"] is None else f"{r['ratio']:.2f}"])
    sizes = compile_and_size(records, counted)
    costs = Table("Keras against raw JAX and C/MPI: code size and compile time",
                  ["impl", "SLOC", "tokens", "compile (median)", "compile (range)"],
                  note="SLOC (pygount) and tokens (lizard) of the implementation's file; the compile "
                       f"time of its verified {WORKLOAD} runs (keras: the seconds JAX reported tracing, "
                       "lowering and compiling in the first two fit() calls; the others: lower() + "
                       "compile() of the whole run). C has no JIT.")
    for s in sizes:
        costs.rows.append([s["impl"], s["sloc"] if s["sloc"] is not None else "—",
                           s["tokens"] if s["tokens"] is not None else "—", fmt_time(s["compile_median"]),
                           "—" if s["compile_min"] is None
                           else f"{fmt_time(s['compile_min'])} – {fmt_time(s['compile_max'])}"])
    missed = misses(step_rows, fmt_time, size_label)
    md = ["## Keras 3 on JAX: the talk's claim", "", verdict(step_rows, sizes), "",
          steps.note, "", markdown_table(steps), ""]
    md += (["Where keras misses the target:", ""] + missed + [""]) if missed else []
    md += [costs.note, "", markdown_table(costs), ""]
    return md, [steps, costs]
