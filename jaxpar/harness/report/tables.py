"""The report's tables: scaling (GFLOP/s against the GEMM rate, or GB/s against the
memory bandwidth), where the time goes, failures, JIT compile time, peak memory and code
size; each a Table built from the records (only verified ones, but for Failures)."""
from __future__ import annotations

import json

from jaxpar import registry
from jaxpar.harness import codesize, results, stats
from jaxpar.harness.report.format import Table, fmt, fmt_bytes, fmt_pct, fmt_signed, fmt_time
from jaxpar.harness.sweep import IMPLEMENTATIONS, WORKLOADS, size_label


BANDWIDTH_NOTE = (
    " HW limit: the memory bandwidth of the run's P cores at once, measured by STREAM2's DAXPY "
    "on those cores right after the run's timed repeats (the machine's bandwidth drifts; the "
    "hardware section gives the sweep's own probe, the fallback), and % HW the run's GB/s over it: GB/s counts the least "
    "traffic, IN and OUT each read and written once per iteration. GFLOP/s uses PRK's count, "
    "(2(4R+1) + 1) per interior point. α-β ideal: those bytes at that bandwidth plus the halo "
    "exchange of the busiest rank, each message priced by the sendrecv fit of the same "
    "transport measured by the collectives workload in this sweep (\"fit\"), else by the MPI "
    "ping-pong's alpha and beta (\"ping-pong\"; — without either); ideal/median near 1 is as "
    "fast as the model allows. Flags: IQR over {noisy:.0f}% of the median (noise), efficiency "
    "over 100% (at P > 1: noise or cache effects, e.g. blocks that fit a cache the whole grid "
    "does not), or a rate above the bandwidth limit (a grid that fits the caches).")


def scaling_table(sweep, rows) -> Table:
    spec = WORKLOADS[sweep["workload"]]
    if registry.problem(sweep["workload"]).limit == "bandwidth":
        return bandwidth_scaling_table(sweep, rows, spec)
    table = Table(
        f"{sweep['name']}: {sweep['workload']}, {sweep['scaling']} scaling",
        ["impl", "alg.", "launch", "P", "dtype", "size", f"median/{spec.time_unit}", "min",
         "IQR", "GFLOP/s", "speedup", "eff.", "% HW", "of P concurrent dgemms", "α-β ideal", "source",
         "ideal/median", "flags"],
        note=("Speedup and efficiency against the same implementation at P = 1; "
              + ("strong scaling: fixed global size, speedup T(1)/T(P), efficiency T(1)/(P T(P))."
                 if sweep["scaling"] == "strong" else
                 f"weak scaling: size per rank fixed ({spec.weak_key} grows with P), "
                 "speedup P T(1)/T(P), efficiency T(1)/T(P).")
              + " HW limit: P x single-core GEMM rate. Of P concurrent dgemms: the rate over P "
              "times the per-copy rate of the single-core GEMM running on several cores at once "
              "(the hardware section says how many), the limit when the ranks share caches, "
              "memory bandwidth and clocks. α-β ideal: the FLOPs at P x the single-core "
              "GEMM rate plus the collectives the implementation issues, each priced by the "
              "alpha-beta fit of the same collective over the same transport measured by the "
              "collectives workload in this sweep (source \"fit\"), else by textbook algorithms "
              "with the MPI ping-pong's alpha and beta (\"ping-pong\"; — without either); "
              "ideal/median near 1 is as fast as the "
              f"model allows. Flags: IQR over {100 * stats.NOISY_IQR:.0f}% of the median (noise), "
              "efficiency over 100% (at P > 1: noise or cache effects, not real superlinear "
              "scaling unless it repeats), or a rate above the GEMM limit."))
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}
    for r in sorted(rows, key=lambda r: (r["dtype"], json.dumps(r["problem"][3]), order[r["impl"]],
                                         str(r["algorithm"]), r["ranks"], r["launch"])):
        t = r["time"]
        table.rows.append([r["impl"], r["algorithm"] or "—", r["launch"], r["ranks"], r["dtype"],
                           size_label(r["workload"], r["sizes"]), fmt_time(t["median"]),
                           fmt_time(t["min"]), fmt_time(t["iqr"]), fmt(r["gflops"], ".2f"),
                           fmt(r["speedup"], ".2f"), fmt_pct(r["efficiency"]),
                           fmt_pct(r["hw_efficiency"]), fmt_pct(r["concurrent_efficiency"]),
                           fmt_time(r["model_time"]),
                           r["model_source"] or "—", fmt(r["of_model"], ".2f"), "; ".join(stats.flags(r)) or "—"])
    return table


def bandwidth_scaling_table(sweep, rows, spec) -> Table:
    """The scaling table of a bandwidth-bound workload (the stencil): GB/s against the
    memory bandwidth of P cores, in place of GFLOP/s against the GEMM rate."""
    table = Table(
        f"{sweep['name']}: {sweep['workload']}, {sweep['scaling']} scaling",
        ["impl", "launch", "transport", "P", "dtype", "size", f"median/{spec.time_unit}", "min", "IQR",
         "GB/s", "GFLOP/s", "speedup", "eff.", "% HW", "α-β ideal", "source", "ideal/median", "flags"],
        note=("Speedup and efficiency against the same implementation at P = 1; "
              + ("strong scaling: fixed global size, speedup T(1)/T(P), efficiency T(1)/(P T(P))."
                 if sweep["scaling"] == "strong" else
                 f"weak scaling: area per rank fixed ({spec.weak_key} grows with sqrt(P)), "
                 "speedup P T(1)/T(P), efficiency T(1)/T(P).")
              + BANDWIDTH_NOTE.format(noisy=100 * stats.NOISY_IQR)))
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}
    for r in sorted(rows, key=lambda r: (r["dtype"], json.dumps(r["problem"][3]), order[r["impl"]],
                                         r["ranks"], r["launch"])):
        t = r["time"]
        table.rows.append([r["impl"], r["launch"], r.get("transport") or "—", r["ranks"], r["dtype"],
                           size_label(r["workload"], r["sizes"]), fmt_time(t["median"]),
                           fmt_time(t["min"]), fmt_time(t["iqr"]), fmt(r["gbytes_per_s"], ".2f"),
                           fmt(r["gflops"], ".2f"), fmt(r["speedup"], ".2f"), fmt_pct(r["efficiency"]),
                           fmt_pct(r["hw_efficiency"]), fmt_time(r["model_time"]),
                           r["model_source"] or "—", fmt(r["of_model"], ".2f"),
                           "; ".join(stats.flags(r)) or "—"])
    return table


def attribution_table(workload, rows) -> Table:
    """One workload's attribution rows (jaxpar.harness.attribution.rows): measured time per
    time unit = local compute + communication + the rest."""
    unit = WORKLOADS[workload].time_unit
    table = Table(
        f"{workload}: where the time goes",
        ["alg.", "impl (transport)", "launch", "P", "dtype", "size", f"measured/{unit}",
         "local compute", "communication", "the rest", "measured / model"],
        note=("Each verified run's median time per " + unit + " split in three, which sum to it. "
              "Local compute: the busiest rank's local work, timed with the implementation's own "
              "kernel library (" + kernel_libraries(workload) + ") by the runner in the same run, "
              "after its timed repeats, on every rank at once, at the run's block shapes (record "
              "field local_s, its library local_kernel). The local work of " + workload + ": "
              + local_work_text(workload) + ". Communication: the collectives the implementation "
              "issues, priced by the α-β fits of the collectives workload over the same transport "
              "(\"fit\"), else by the MPI ping-pong (\"ping-pong\"); none at P = 1. The rest = "
              "measured - local - communication: framework overhead, load imbalance, padding, "
              "idle time; it is negative where communication overlapped with compute (or the "
              "model overprices it). Percentages are of the measured time; measured / model is "
              "the measured time over local + communication. A run whose communication cannot "
              "be priced (neither fits nor ping-pong) shows —."))
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}

    def part(seconds, measured, source=None):
        if seconds is None:
            return "—"
        text = f"{fmt_signed(seconds)} ({100 * seconds / measured:.0f}%)"
        return text + (f" {source}" if source else "")

    for r in sorted(rows, key=_attribution_order(order)):
        table.rows.append([r["algorithm"] or "—", f"{r['impl']} ({r['transport']})", r["launch"],
                           r["ranks"], r["dtype"], size_label(workload, r["sizes"]),
                           fmt_time(r["measured"]), part(r["local"], r["measured"]),
                           part(r["comm"], r["measured"], r["comm_source"]),
                           part(r["rest"], r["measured"]), fmt(r["of_model"], ".2f")])
    return table


def kernel_libraries(workload) -> str:
    """Which library each implementation's local compute is timed with (the registry's
    kernel_library), e.g. "cblas: c_mpi; numpy: mpi4py; xla: jax, jax_pmap"."""
    by_library = {}
    for e in registry.ENTRIES:
        if e.workload == workload:
            by_library.setdefault(e.kernel_library, []).append(e.impl)
    return "; ".join(f"{library}: {', '.join(impls)}" for library, impls in by_library.items())


def local_work_text(workload) -> str:
    """What the workload's local work is: its problem definition's own description."""
    text = " ".join((registry.problem(workload).local_work.__doc__ or "").split())
    return text.rstrip(".") or "Problem.local_work"


def _attribution_order(order):
    return lambda r: (r["dtype"], json.dumps(r["sizes"], sort_keys=True), str(r["algorithm"]),
                      r["ranks"], order[r["impl"]], r["launch"])


def failure_table(records) -> Table:
    table = Table("Failures (never plotted)", ["configuration", "status", "error"])
    for r in records:
        if r.get("status") != "ok":
            error = r.get("error")
            if r.get("status") == "failed_check":
                error = (f"max relative error {results.max_error(r):.3g} > "
                         f"tolerance {r.get('tolerance')}")
            table.rows.append([r.get("label", r["id"]), r.get("status"), (error or "")[:200]])
    return table


def compile_table(records) -> Table:
    """The JIT compile time of every verified run that compiles (JAX), apart from its timing."""
    table = Table("JIT compile time (not in any timed repeat)",
                  ["workload", "impl", "alg.", "launch", "P", "dtype", "size", "compile"],
                  note="Ahead-of-time lower() + compile() of the kernel, maximum over ranks, measured "
                       "once per configuration before the warm-up; the repeats never include it. "
                       "keras compiles inside model.fit: its figure is the seconds JAX reported "
                       "tracing, lowering and compiling during the two fit() calls that prepare it.")
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}
    ok = [r for r in records if r.get("status") == "ok" and r.get("compile_s") is not None]
    for r in sorted(ok, key=lambda r: (r["workload"], order[r["impl"]], str(r["algorithm"]),
                                       r["launch"], r["ranks"], r["dtype"], json.dumps(r["sizes"]))):
        table.rows.append([r["workload"], r["impl"], r["algorithm"] or "—", r["launch"], r["ranks"],
                           r["dtype"], size_label(r["workload"], r["sizes"]), fmt_time(r["compile_s"])])
    return table


MEMORY_NOTE = (
    "Peak RSS: the largest resident set of any process during the warm-up and timed repeats "
    "(the kernel's high-water mark VmHWM, reset to the current RSS just before them; the gather "
    "and the check come after). It counts the interpreter, the libraries and the global inputs "
    "every rank is passed (the API's design), so the figures to read for copies are growth (the "
    "peak over the RSS just before the repeats: outputs, temporaries, copies, and memory the "
    "allocator keeps after a free; the runner drops each repeat's output before the next "
    "run) and XLA's. A single-process JAX run is one process holding "
    "all P devices: its peak and growth are the process's, its minimum P x one device's "
    "(shown as P x ...). XLA temp and args + outputs: the memory analysis of the compiled "
    "kernel, for one device's program (outputs that alias donated arguments counted once); — "
    "for C and numpy, and for keras, which compiles inside fit. Minimum: the least memory the "
    "busiest rank needs (the workload's min_memory_bytes), peak / min the peak RSS over it; — "
    "where the workload gives none. A ≤ marks a process whose high-water mark could not be "
    "reset (method getrusage): its peak is the process's since it started.")


def _memory_rows(workload, records):
    """The verified records of a workload that carry a memory record; for a workload with a
    ladder size (the collectives' bytes), only each series' largest."""
    ok = [r for r in records if r.get("status") == "ok" and r["workload"] == workload
          and r.get("memory")]
    ladder = registry.problem(workload).ladder
    if not ladder:
        return ok
    largest = {}
    for r in ok:
        key = json.dumps([r["impl"], r["algorithm"], r["launch"], r["ranks"], r["dtype"],
                          r.get("pinned"), {k: v for k, v in r["sizes"].items() if k != ladder}])
        if key not in largest or r["sizes"][ladder] > largest[key]["sizes"][ladder]:
            largest[key] = r
    return list(largest.values())


def memory_table(workload, records) -> Table:
    """Peak memory per rank of every verified run of a workload (the record's "memory" and
    details["xla_memory"]), against the workload's minimum where it gives one."""
    ladder = registry.problem(workload).ladder
    table = Table(f"{workload}: peak memory per rank",
                  ["impl", "alg.", "launch", "P", "dtype", "size", "peak RSS", "growth",
                   "XLA temp", "XLA args + outputs", "minimum", "peak / min"],
                  note=MEMORY_NOTE + (f" Each series at its largest {ladder} only." if ladder else ""))
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}
    for r in sorted(_memory_rows(workload, records),
                    key=lambda r: (r["dtype"], json.dumps(r["sizes"], sort_keys=True), order[r["impl"]],
                                   str(r["algorithm"]), r["ranks"], r["launch"])):
        m, xla = r["memory"], (r.get("details") or {}).get("xla_memory")
        bound = "≤ " if m["method"] != "proc_clear_refs" else ""
        devices, minimum = m["devices_per_process"], m["min_bytes_per_rank"]
        if minimum is None:
            min_text, ratio = "—", "—"
        else:
            min_text = fmt_bytes(minimum) if devices == 1 else f"{devices} x {fmt_bytes(minimum)}"
            ratio = f"{bound}{m['max_peak_rss_run_bytes'] / (devices * minimum):.3g}"
        launch = r["launch"] + (" unpinned" if r.get("pinned") is False else "")
        table.rows.append([
            r["impl"], r["algorithm"] or "—", launch, r["ranks"], r["dtype"],
            size_label(workload, r["sizes"]), fmt_bytes(m["max_peak_rss_run_bytes"], bound),
            fmt_bytes(m["max_run_growth_bytes"], bound),
            fmt_bytes(xla["temp_size_in_bytes"]) if xla else "—",
            fmt_bytes(xla["argument_size_in_bytes"] + xla["output_size_in_bytes"]
                      - xla["alias_size_in_bytes"]) if xla else "—",
            min_text, ratio])
    return table


def codesize_rows(records, counted, core_gflops, bandwidth=None):
    """The code-size table (counted: codesize.table() rows), each row with the best
    achieved performance of that implementation: its highest fraction of the hardware
    limit (stats.hw_fraction: the GEMM rate, or the memory bandwidth for the stencil) at
    the largest P any verified run of the workload reached."""
    rows = [dict(row) for row in counted]
    for row in rows:
        ok = [r for r in records if r.get("status") == "ok" and r["workload"] == row["workload"]]
        top = max((r["ranks"] for r in ok), default=None)
        effs = [(fraction, r["launch"]) for r in ok if r["ranks"] == top and r["impl"] == row["impl"]
                and (fraction := stats.hw_fraction(r, core_gflops, bandwidth)) is not None]
        best = max(effs, default=(None, None))
        row["perf_ranks"] = top
        row["hw_efficiency"], row["perf_launch"] = best
    return rows


def codesize_table(rows) -> Table:
    table = Table("Code size of each implementation",
                  ["workload", "impl", "files", "SLOC", "comment lines", "functions",
                   "CCN total", "CCN max", "tokens", "best % HW"],
                  note=codesize.NOTE)
    for row in rows:
        if "error" in row:
            table.rows.append([row["workload"], row["impl"], ", ".join(row["paths"])]
                              + ["—"] * 6 + [row["error"]])
            continue
        table.rows.append([row["workload"], row["impl"], ", ".join(row["paths"]), row["sloc"],
                           row["comment_lines"], row["functions"], row["ccn_total"], row["ccn_max"],
                           row["tokens"],
                           fmt_pct(row["hw_efficiency"]) + (f" at P={row['perf_ranks']} ({row['perf_launch']})"
                                                            if row["hw_efficiency"] is not None else "")])
    return table
