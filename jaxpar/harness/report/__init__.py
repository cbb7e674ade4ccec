"""The report of a sweep: results.csv, plots (PNG and SVG) and report.md, all
rendered from results.jsonl and sweep.json in the results directory, so that
`python -m jaxpar.compare --plot-only DIR` gives the same report again.

Only verified records ("ok") are plotted or enter the scaling tables; every
other record is listed under Failures with its error.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator, NullFormatter, NullLocator  # noqa: E402

from jaxpar import registry  # noqa: E402
from jaxpar.claims import keras_section as keras_claim  # noqa: E402
from jaxpar.harness import alphabeta, attribution, codesize, latency, results, stats  # noqa: E402
from jaxpar.harness.sweep import IMPLEMENTATIONS, WORKLOADS, size_label  # noqa: E402

# Series styles, assigned in registry order (a new implementation, algorithm or workload
# gets the next one), and readable in greyscale: an implementation has a colour and a
# marker (and a hatch in bar charts), an algorithm a fill, a launch mode a line style.
COLORS = {impl: f"C{i % 10}" for i, impl in enumerate(IMPLEMENTATIONS)}
IMPL_MARKERS = {impl: "osD^vP*Xph"[i % 10] for i, impl in enumerate(IMPLEMENTATIONS)}
HATCHES = {impl: ["", "//", "..", "xx", "\\\\", "oo", "--", "++"][i % 8] for i, impl in enumerate(IMPLEMENTATIONS)}
LINESTYLES = {"mpirun": "-", "single-process": "--"}
_ALGORITHMS = list(dict.fromkeys(a for e in registry.ENTRIES for a in e.algorithms))
FILLS = {**{a: ("full", "none", "top", "left")[i % 4] for i, a in enumerate(_ALGORITHMS)}, None: "full"}
WORKLOAD_MARKERS = {w: "oDsv"[i % 4] for i, w in enumerate(registry.WORKLOADS)}


def style(impl, algorithm, launch) -> dict:
    return dict(color=COLORS[impl], marker=IMPL_MARKERS[impl], fillstyle=FILLS[algorithm],
                linestyle=LINESTYLES[launch], label=series_name(impl, algorithm, launch))


@dataclass
class Table:
    title: str
    header: list
    rows: list = field(default_factory=list)
    note: str = ""


@dataclass
class Report:
    tables: list          # Tables, in report order
    plots: list           # file stems; each has .png and .svg
    markdown: str


# ---------------------------------------------------------------- formatting

def fmt_time(seconds) -> str:
    if seconds is None:
        return "—"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_signed(seconds) -> str:
    return "-" + fmt_time(-seconds) if seconds < 0 else fmt_time(seconds)


def fmt(value, spec=".3g", suffix="") -> str:
    return "—" if value is None else f"{value:{spec}}{suffix}"


def fmt_pct(value) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def series_name(impl, algorithm, launch) -> str:
    return f"{impl}{'/' + algorithm if algorithm else ''} ({launch})"


# ---------------------------------------------------------------- tables

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


def gap_sentences(rows) -> list[str]:
    """For each implementation other than c_mpi, against c_mpi under mpirun in the same
    configuration (attribution.baseline_for): its gap (or lead) in percent of c_mpi's time,
    split into points of local kernel, transport and overhead (the rest)."""
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}
    sentences = []
    for r in sorted(rows, key=_attribution_order(order)):
        base = None if r["impl"] == attribution.BASELINE or r["comm"] is None else \
            attribution.baseline_for(r, rows)
        if base is None:
            continue
        g = attribution.gap(r, base)
        sign = 1 if g["gap"] >= 0 else -1  # a lead's points are what each part gains
        points = [round(sign * g[key]) + 0 for key in ("local", "comm", "rest")]  # + 0: no -0
        algorithm = ""
        if WORKLOADS[r["workload"]].algorithms:
            algorithm = (r["algorithm"] or "no algorithm") + (
                f" against c_mpi's {base['algorithm']}" if base["algorithm"] != r["algorithm"] else "") + ", "
        sentences.append(
            f"{r['impl']}'s {abs(g['gap']):.0f}% {'gap to' if sign > 0 else 'lead over'} C/MPI in "
            f"{r['workload']} ({algorithm}P = {r['ranks']}, {r['dtype']}, "
            f"{size_label(r['workload'], r['sizes'])}; "
            f"{r['launch']}, {r['transport']}) is {points[0]} points of local kernel, "
            f"{points[1]} of transport and {points[2]} of overhead.")
    return sentences


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


def fmt_bytes(nbytes, prefix="") -> str:
    """Bytes in binary units, 3 significant digits ("12.5 MiB"); — for None."""
    if nbytes is None:
        return "—"
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if abs(nbytes) >= scale:
            return f"{prefix}{nbytes / scale:.3g} {unit}"
    return f"{prefix}{nbytes} B"


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


def memory_section(workloads, records):
    """The "Peak memory per rank" section: (markdown lines, tables), a table per workload
    with a verified run that recorded its memory; no lines where none did."""
    md, tables = [], []
    for workload in workloads:
        table = memory_table(workload, records)
        if not table.rows:
            continue
        tables.append(table)
        ladder = registry.problem(workload).ladder
        md += [f"### {workload}", ""] + ([f"Each series at its largest {ladder} only.", ""] if ladder else [])
        md += [markdown_table(table), ""]
    return (["## Peak memory per rank", "", MEMORY_NOTE, ""] + md if tables else []), tables


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


def markdown_table(table: Table) -> str:
    escape = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(escape(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- plots

def _save(fig, outdir, stem) -> str:
    results.add_to_manifest(outdir, [f"{stem}.png", f"{stem}.svg"])  # listed before written
    fig.savefig(Path(outdir) / f"{stem}.png", dpi=110)
    # The layout the PNG got, kept for the SVG: constrained layout is solved again at every
    # save otherwise, and was a third of the report's time (default compare: 18 of 53 s
    # under cProfile)
    fig.set_layout_engine("none")
    fig.savefig(Path(outdir) / f"{stem}.svg")
    plt.close(fig)
    return stem


def _panels(rows):
    """Rows grouped into panels, one per problem they scale (dtype and size, or size per
    rank) and, where they use several algorithms, per algorithm (an implementation
    that takes none, such as jax_auto, in each): key (dtype, size, algorithm or "")."""
    algorithms = sorted({r["algorithm"] for r in rows} - {None})
    split = algorithms if len(algorithms) > 1 else [None]
    panels = {}
    for r in rows:
        for algorithm in split:
            if algorithm is None or r["algorithm"] in (algorithm, None):
                panels.setdefault((r["dtype"], json.dumps(r["problem"][3]), algorithm or ""), []).append(r)
    return sorted(panels.items())


def _figure_legend(fig, axes, extra=()):
    """One legend for the figure: every line of every panel once, in implementation order."""
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}
    labels = sorted(handles, key=lambda label: (order[label.split("/")[0].split(" ")[0]], label))
    pairs = [(handles[label], label) for label in labels] + list(extra)
    fig.legend([h for h, _ in pairs], [label for _, label in pairs], loc="outside right center",
               fontsize=8)


def _series(rows):
    """Rows of one panel grouped into lines (impl, algorithm, launch), each with its
    P = 1 baseline prepended where the line has no P = 1 point of its own."""
    by_id = {r["id"]: r for r in rows}
    lines = {}
    for r in rows:
        lines.setdefault((r["impl"], r["algorithm"], r["launch"]), []).append(r)
    for key, line in lines.items():
        base = by_id.get(line[0]["baseline_id"])
        if base and all(r["ranks"] != 1 for r in line):
            line.append(base)
        line.sort(key=lambda r: r["ranks"])
    # a P = 1 run alone on its line is shown as the first point of the lines it is the baseline of
    # (JAX at P = 1 is one process, the baseline of the mpirun line too)
    alone = [key for key, line in lines.items() if all(r["ranks"] == 1 for r in line)]
    for key in alone:
        if any(key[:2] == other[:2] and key != other for other in lines):
            del lines[key]
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}
    return sorted(lines.items(), key=lambda kv: (order[kv[0][0]], str(kv[0][1]), kv[0][2]))


def _panel_title(sweep, key, rows):
    r, algorithm = rows[0], key[2]
    prefix = f"{algorithm} (and those without one), " if algorithm else ""
    if sweep["scaling"] == "strong":
        return f"{prefix}{size_label(r['workload'], r['sizes'])} {r['dtype']}"
    per_rank = dict(r["problem"][3])
    weak = WORKLOADS[r["workload"]].weak_key
    return f"{prefix}{weak} = {per_rank[weak]:g} per rank, {r['dtype']}"


def _rank_axis(ax, ranks):
    ax.set_xscale("log", base=2)
    ax.set_xticks(ranks)
    ax.set_xticklabels([str(p) for p in ranks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("P (ranks or devices)")


def plot_time(sweep, rows, outdir) -> str:
    panels = _panels(rows)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 2.5, 4.4), squeeze=False,
                             layout="constrained")
    ranks = sorted({r["ranks"] for r in rows} | {1})
    unit = WORKLOADS[sweep["workload"]].time_unit
    for ax, (key, panel) in zip(axes[0], panels):
        for (impl, algorithm, launch), line in _series(panel):
            p = [r["ranks"] for r in line]
            med = [r["time"]["median"] for r in line]
            err = [[r["time"]["median"] - r["time"]["q1"] for r in line],
                   [r["time"]["q3"] - r["time"]["median"] for r in line]]
            ax.errorbar(p, med, yerr=err, capsize=3, **style(impl, algorithm, launch))
            ideal = [r["ideal_time"] for r in line]
            if all(v is not None for v in ideal):
                ax.plot(p, ideal, color=COLORS[impl], linestyle=":", linewidth=1, alpha=0.7)
        _rank_axis(ax, ranks)
        ax.set_yscale("log")
        ax.set_ylabel(f"time per {unit} (median, IQR bars)")
        ax.set_title(_panel_title(sweep, key, panel), fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    _figure_legend(fig, axes[0], [(Line2D([], [], color="gray", linestyle=":"),
                                   "ideal: T(1)/P" if sweep["scaling"] == "strong" else "ideal: T(1)")])
    fig.suptitle(f"{sweep['name']}: time against P ({sweep['scaling']} scaling)")
    return _save(fig, outdir, f"{sweep['name']}_time")


def plot_efficiency(sweep, rows, outdir) -> str:
    panels = _panels(rows)
    fig, axes = plt.subplots(2, len(panels), figsize=(5.2 * len(panels) + 2.5, 7.5), squeeze=False,
                             sharex=True, layout="constrained")
    ranks = sorted({r["ranks"] for r in rows} | {1})
    for col, (key, panel) in enumerate(panels):
        top, bottom = axes[0][col], axes[1][col]
        for (impl, algorithm, launch), line in _series(panel):
            for ax, metric in ((top, "efficiency"), (bottom, "hw_efficiency")):
                pts = [r for r in line if r[metric] is not None]
                if not pts:
                    continue
                # bars: the metric at the q3 and q1 repeat times (the IQR carried through)
                spread = [r[f"{metric}_range"] or [r[metric], r[metric]] for r in pts]
                err = [[r[metric] - lo for r, (lo, hi) in zip(pts, spread)],
                       [hi - r[metric] for r, (lo, hi) in zip(pts, spread)]]
                ax.errorbar([r["ranks"] for r in pts], [r[metric] for r in pts], yerr=err, capsize=3,
                            **style(impl, algorithm, launch))
        top.axhline(1.0, color="gray", linestyle=":", linewidth=1)
        top.set_ylabel("parallel efficiency vs own P = 1 (IQR bars)")
        top.set_title(_panel_title(sweep, key, panel), fontsize=10)
        bottom.axhline(1.0, color="gray", linestyle=":", linewidth=1)
        bottom.set_ylabel("fraction of the memory bandwidth of P cores"
                          if registry.problem(sweep["workload"]).limit == "bandwidth"
                          else "fraction of P x single-core GEMM rate")
        for ax in (top, bottom):
            _rank_axis(ax, ranks)
            ax.set_ylim(0, max(1.1, 1.05 * ax.get_ylim()[1]))
            ax.grid(True, alpha=0.3)
        top.set_xlabel("")
    _figure_legend(fig, axes[0], [(Line2D([], [], color="gray", linestyle=":"), "ideal")])
    fig.suptitle(f"{sweep['name']}: efficiency against P ({sweep['scaling']} scaling)")
    return _save(fig, outdir, f"{sweep['name']}_efficiency")


def plot_gflops_vs_size(workload, records, core_gflops, outdir, bandwidth=None) -> str | None:
    """GFLOP/s against FLOPs per time unit, one panel per P, with the GEMM limit; for a
    bandwidth-bound workload (the stencil) GB/s against bytes per iteration, with the
    memory bandwidth of P cores."""
    spec = WORKLOADS[workload]
    ok = [r for r in records if r.get("status") == "ok" and r["workload"] == workload]
    if not ok:
        return None
    ranks = sorted({r["ranks"] for r in ok})
    if registry.problem(workload).limit == "bandwidth":
        return _plot_rate_vs_size(workload, ok, ranks, outdir, "gbytes_per_s", "bytes_per_iteration",
                                  {p: _median([stats.record_bandwidth(r, bandwidth) for r in ok
                                               if r["ranks"] == p]) for p in ranks},
                                  "GB/s (median time, IQR bars)", "least bytes moved per iteration",
                                  "memory bandwidth", "gbps_vs_size")
    top = 1.1 * max([r["gflops"] for r in ok] + [max(ranks) * rate for rate in core_gflops.values()])
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}
    fig, axes = plt.subplots(1, len(ranks), figsize=(5.2 * len(ranks) + 2.5, 4.4), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, p in zip(axes[0], ranks):
        lines = {}
        for r in ok:
            if r["ranks"] == p:
                lines.setdefault((r["impl"], r["algorithm"], r["launch"], r["dtype"]), []).append(r)
        for (impl, algorithm, launch, dtype), line in sorted(
                lines.items(), key=lambda kv: (order[kv[0][0]], str(kv[0][1:]))):
            line.sort(key=lambda r: r[spec.flops_field])
            err = _rate_bars(line, "gflops", spec.time_field)
            series = style(impl, algorithm, launch)
            series["label"] += f" {dtype}" if len(core_gflops) > 1 else ""
            ax.errorbar([r[spec.flops_field] for r in line], [r["gflops"] for r in line], yerr=err,
                        capsize=3, **series)
        for dtype, rate in core_gflops.items():
            ax.axhline(p * rate, color="gray", linestyle=":", linewidth=1)
            ax.annotate(f"HW limit {dtype}: {p} x {rate:.1f}", (0.02, p * rate), fontsize=7,
                        xycoords=("axes fraction", "data"), va="bottom", color="gray")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # labels on minor ticks collide
        ax.set_xlabel(f"problem size: FLOP per {spec.time_unit}")
        ax.set_ylabel("GFLOP/s (median time, IQR bars)")
        ax.set_title(f"P = {p}", fontsize=10)
        ax.set_ylim(0, top)
        ax.grid(True, which="both", alpha=0.3)
    _figure_legend(fig, axes[0])
    fig.suptitle(f"{workload}: GFLOP/s against problem size")
    return _save(fig, outdir, f"{workload}_gflops_vs_size")


def _rate_bars(line, rate_field, time_field):
    """Error bars of a rate at the median time: the rate at the q3 and q1 repeat times."""
    t = [r[time_field] for r in line]
    return [[r[rate_field] * (1 - s["median"] / s["q3"]) for r, s in zip(line, t)],
            [r[rate_field] * (s["median"] / s["q1"] - 1) if s["q1"] > 0 else 0 for r, s in zip(line, t)]]


def _median(values):
    values = sorted(v for v in values if v)
    return values[len(values) // 2] if values else None


def _plot_rate_vs_size(workload, ok, ranks, outdir, rate_field, size_field, limits, ylabel, xlabel,
                       limit_name, stem) -> str:
    """One panel per P: each implementation's rate against its problem size, with the limit
    of P (limits[P], None where unmeasured) dotted."""
    spec = WORKLOADS[workload]
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}
    top = 1.1 * max([r[rate_field] for r in ok] + [v for v in limits.values() if v])
    fig, axes = plt.subplots(1, len(ranks), figsize=(5.2 * len(ranks) + 2.5, 4.4), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, p in zip(axes[0], ranks):
        lines = {}
        for r in ok:
            if r["ranks"] == p:
                lines.setdefault((r["impl"], r["algorithm"], r["launch"]), []).append(r)
        for (impl, algorithm, launch), line in sorted(lines.items(), key=lambda kv: (order[kv[0][0]], str(kv[0][1:]))):
            line.sort(key=lambda r: r[size_field])
            err = _rate_bars(line, rate_field, spec.time_field)
            ax.errorbar([r[size_field] for r in line], [r[rate_field] for r in line], yerr=err, capsize=3,
                        **style(impl, algorithm, launch))
        if limits.get(p):
            ax.axhline(limits[p], color="gray", linestyle=":", linewidth=1)
            ax.annotate(f"{limit_name} of {p} core(s): {limits[p]:.1f}", (0.02, limits[p]), fontsize=7,
                        xycoords=("axes fraction", "data"), va="bottom", color="gray")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"problem size: {xlabel}")
        ax.set_ylabel(ylabel)
        ax.set_title(f"P = {p}", fontsize=10)
        ax.set_ylim(0, top)
        ax.grid(True, which="both", alpha=0.3)
    _figure_legend(fig, axes[0])
    fig.suptitle(f"{workload}: {ylabel.split(' ')[0]} against problem size")
    return _save(fig, outdir, f"{workload}_{stem}")


def plot_curves(workload, records, outdir) -> tuple[str | None, list]:
    """The per-step curves of every verified run of a workload whose problem has one (SGD:
    the losses), overlaid per problem; returns (stem, notes)."""
    problem = registry.problem(workload)
    curve = problem.curve
    ok = [r for r in records if r.get("status") == "ok" and r["workload"] == workload and r.get(curve.field)]
    if not ok:
        return None, []
    problems = {}
    for r in ok:
        key = json.dumps([r["sizes"], r.get("options"), r.get("seed"), r["dtype"]], sort_keys=True)
        problems.setdefault(key, []).append(r)
    chosen = sorted(problems.values(), key=len, reverse=True)[:4]
    fig, axes = plt.subplots(1, len(chosen), figsize=(5.5 * len(chosen), 4.4), squeeze=False,
                             layout="constrained")
    notes = []
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}
    for ax, group in zip(axes[0], chosen):
        group.sort(key=lambda r: (order[r["impl"]], r["launch"], r["ranks"]))
        markevery = max(1, len(group[0][curve.field]) // 10)
        for i, r in enumerate(group):
            values = r[curve.field]
            ax.plot(range(1, len(values) + 1), values, color=COLORS[r["impl"]],
                    linestyle=LINESTYLES[r["launch"]], marker=IMPL_MARKERS[r["impl"]],
                    markevery=(i % markevery, markevery), fillstyle="none", alpha=0.8,
                    label=f"{r['impl']} ({r['launch']}) P={r['ranks']}")
        first = group[0][curve.field]
        spread = max(abs(a - b) / max(abs(b), 1e-300) for r in group for a, b in zip(r[curve.field], first))
        title = f"{problem.size_label(group[0]['sizes'])} {group[0]['dtype']}"
        notes.append(f"{title}: {len(group)} runs; largest relative difference between curves "
                     f"{spread:.2g}")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(curve.xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(curve.ylabel)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{curve.title} of every implementation, overlaid")
    return _save(fig, outdir, f"{workload}_{curve.stem}"), notes


# The parts of a run's time in the attribution plot, each readable in greyscale (a hatch).
ATTRIBUTION_PARTS = (("local", "local compute", "0.3", ""), ("comm", "communication", "0.6", "//"),
                     ("rest", "the rest", "0.88", ".."))


def plot_attribution(workload, rows, outdir) -> str | None:
    """One stacked bar per run, one panel per problem (dtype and size): local compute,
    communication and the rest stacked from zero (a negative rest drawn below zero), and the
    measured median as a black tick: the bar's top where the rest is not negative."""
    rows = [r for r in rows if r["comm"] is not None]
    if not rows:
        return None
    order = {impl: i for i, impl in enumerate(IMPLEMENTATIONS)}
    problems = {}
    for r in sorted(rows, key=_attribution_order(order)):
        problems.setdefault((r["dtype"], json.dumps(r["sizes"], sort_keys=True)), []).append(r)
    widths = [max(3.0, 0.45 * len(group) + 1.2) for group in problems.values()]
    fig, axes = plt.subplots(1, len(problems), figsize=(sum(widths) + 2.0, 5.2), squeeze=False,
                             width_ratios=widths, layout="constrained")
    unit = WORKLOADS[workload].time_unit
    for ax, ((dtype, _), group) in zip(axes[0], problems.items()):
        top = max(r["measured"] for r in group)
        scale, label = next(((f, u) for f, u in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")) if top >= f),
                            (1e-9, "ns"))
        x = range(len(group))
        stacked = [0.0] * len(group)
        for key, name, color, hatch in ATTRIBUTION_PARTS:
            values = [r[key] / scale for r in group]
            # the rest sits on the others where positive, and hangs below zero where negative
            bottoms = [0.0 if key == "rest" and v < 0 else b for v, b in zip(values, stacked)]
            ax.bar(x, values, 0.7, bottom=bottoms, color=color, hatch=hatch, edgecolor="black",
                   linewidth=0.5, label=name)
            stacked = [b + max(v, 0.0) if key == "rest" else b + v for v, b in zip(values, stacked)]
        ax.scatter(x, [r["measured"] / scale for r in group], marker="_", s=300, color="black",
                   zorder=3, label="measured median")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(list(x))
        ax.set_xticklabels([f"{r['impl']} {r['algorithm'] or ''}\nP={r['ranks']} {r['launch']}"
                            for r in group], rotation=90, fontsize=7)
        ax.set_ylabel(f"time per {unit} ({label})")
        ax.set_title(f"{size_label(workload, group[0]['sizes'])} {dtype}", fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=8)
    fig.suptitle(f"{workload}: where the time goes (local compute + communication + the rest)")
    return _save(fig, outdir, f"{workload}_attribution")


def plot_codesize(rows, outdir) -> str | None:
    rows = [r for r in rows if "error" not in r]
    if not rows:
        return None
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    impls = [i for i in IMPLEMENTATIONS if any(r["impl"] == i for r in rows)]
    width = 0.8 / len(impls)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
    for ax, (metric, label) in zip(axes, (("sloc", "SLOC (pygount)"), ("tokens", "tokens (lizard)"),
                                         ("ccn_total", "cyclomatic complexity, summed (lizard)"))):
        for j, impl in enumerate(impls):
            values = [next((r[metric] for r in rows if r["workload"] == w and r["impl"] == impl), 0)
                      for w in workloads]
            bars = ax.bar([i + (j - (len(impls) - 1) / 2) * width for i in range(len(workloads))],
                          values, width, color=COLORS[impl], hatch=HATCHES[impl], edgecolor="black",
                          linewidth=0.5, label=impl)
            ax.bar_label(bars, fontsize=7)
        ax.set_xticks(range(len(workloads)))
        ax.set_xticklabels(workloads)
        ax.set_title(label, fontsize=10)
    axes[0].legend(fontsize=8)
    fig.suptitle("Code size of each implementation (implementation files only)")
    return _save(fig, outdir, "codesize")


def plot_codesize_vs_performance(rows, outdir) -> str | None:
    rows = [r for r in rows if "error" not in r and r.get("hw_efficiency") is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
    placed = []  # label positions so far: a label near another goes below it
    for r in rows:
        x, y = r["sloc"], 100 * r["hw_efficiency"]
        ax.scatter(x, y, color=COLORS[r["impl"]], marker=WORKLOAD_MARKERS.get(r["workload"], "o"), s=60,
                   edgecolors="black", linewidths=0.5)
        near = sum(abs(x - px) < 6 and abs(y - py) < 3 for px, py in placed)
        placed.append((x, y))
        ax.annotate(f"{r['impl']} ({r['workload']}, {r['perf_launch']})", (x, y),
                    textcoords="offset points", xytext=(5, 4 - 10 * near), fontsize=7)
    ax.set_xlim(0, 1.15 * max(r["sloc"] for r in rows))
    ax.set_xlabel("SLOC of the implementation (pygount)")
    ax.set_ylabel(f"best % of hardware limit at P = {max(r['perf_ranks'] for r in rows)} "
                  "(launch mode labelled)")
    ax.set_ylim(bottom=0)
    ax.grid(True, which="both", alpha=0.3)
    handles = [Line2D([], [], color="gray", marker=m, linestyle="", label=w)
               for w, m in WORKLOAD_MARKERS.items() if any(r["workload"] == w for r in rows)]
    ax.legend(handles=handles, fontsize=8)
    ax.set_title("Code size against achieved performance")
    return _save(fig, outdir, "codesize_vs_performance")


# ---------------------------------------------------------------- the report

def attribution_section(workloads, records, fits, pingpong, outdir):
    """The "Where the time goes" section: per workload a table, a stacked bar plot and the
    sentences comparing each implementation with c_mpi. Returns (markdown lines, tables,
    plot stems); no lines where no verified run has a local-kernel time."""
    rows = attribution.rows(records, fits, pingpong)
    if not rows:
        return [], [], []
    md = ["## Where the time goes", "",
          "Each run's measured time split into its local compute at its own library's measured "
          "rate, its communication priced by the α-β model, and the rest (overhead, imbalance, "
          "padding, idle time); see each table's note. Against C/MPI, a gap (or lead) in percent "
          "of c_mpi's time is the sum of its points of local kernel, transport and overhead (each "
          "part's difference over c_mpi's measured time, under mpirun, in the same "
          "configuration).", ""]
    tables, stems = [], []
    for workload in workloads:
        mine = [r for r in rows if r["workload"] == workload]
        if not mine:
            continue
        table = attribution_table(workload, mine)
        tables.append(table)
        md += [f"### {workload}", "", table.note, "", markdown_table(table), ""]
        stem = plot_attribution(workload, mine, outdir)
        if stem:
            stems.append(stem)
            md += [f"![{workload}: where the time goes]({stem}.png)", "",
                   f"{workload}: local compute, communication and the rest of each run, stacked; "
                   f"a negative rest hangs below zero; black tick: the measured median "
                   f"([SVG]({stem}.svg)).", ""]
        sentences = gap_sentences(mine)
        md += [f"- {text}" for text in sentences] + ([""] if sentences else [])
    return md, tables, stems



def render(outdir) -> Report:
    """Write results.csv, the plots and report.md in outdir; return the tables and plots."""
    outdir = Path(outdir)
    meta = json.loads((outdir / "sweep.json").read_text())
    records = results.load(outdir / "results.jsonl")
    listed = results.manifest(outdir)  # None: a directory from before the manifest
    results.add_to_manifest(outdir, results.FILES)
    results.write_csv(outdir / "results.csv", records)
    core = meta["hardware"].get("core_gemm_gflops", {})
    sweeps = meta["config"]["sweeps"]
    workloads = list(dict.fromkeys(s["workload"] for s in sweeps))
    tables, plots, md = [], [], []

    env = meta.get("environment") or {}
    versions = env.get("versions", {})
    counts = {s: sum(r.get("status") == s for r in records)
              for s in ("ok", "failed_check", "failed_launch", "crashed", "timeout")}
    md += [f"# {meta['config'].get('title', 'jaxpar comparison')}", "",
           f"Started {meta.get('started', '?')} on {env.get('hostname', '?')} "
           f"({env.get('cpu_model', '?')}, {env.get('cpu_count', '?')} CPUs). "
           f"{len(records)} of {meta.get('planned', '?')} configurations recorded: {counts['ok']} verified, "
           f"{counts['failed_check']} failed their check, {counts['failed_launch']} ran with another "
           f"number of ranks than requested, {counts['crashed']} crashed, "
           f"{counts['timeout']} timed out.", "",
           f"Command: `{' '.join(meta.get('command', []))}`", "",
           "## Environment and hardware limit", "",
           f"- MPI: {env.get('mpi_library', '?')}; Python {env.get('python', '?')}; "
           + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + f"; git {env.get('git_commit')}",
           f"- BLAS: numpy {env.get('numpy_blas')}, C {env.get('c_blas')}; C SGD tanh: {env.get('c_tanh')}"]
    for dtype, rate in core.items():
        md.append(f"- Single-core GEMM rate, {dtype} (numpy, one pinned core, one thread, "
                  f"n = {meta['hardware'].get('gemm_n')}): **{rate:.2f} GFLOP/s**, measured at the start of "
                  "this sweep. The hardware limit at P ranks is P times this rate.")
    for dtype, rate in meta["hardware"].get("core_gemm_gflops_concurrent", {}).items():
        if rate["copies"] > 1:
            md.append(f"- The same GEMM, {dtype}, on {rate['copies']} pinned cores at once: "
                      f"**{rate['gflops']:.2f} GFLOP/s** per copy (mean; each copy: "
                      + ", ".join(f"{v:.2f}" for v in rate["per_copy"]) + "), the per-core rate "
                      "when the ranks share caches, memory bandwidth and clocks; the scaling "
                      "tables' \"of P concurrent dgemms\" is the achieved rate over P times it.")
    memory_bandwidth = meta["hardware"].get("bandwidth")
    if memory_bandwidth:
        on = lambda rates: ", ".join(f"**{rate:.2f} GB/s** on {cores} core{'s' if int(cores) > 1 else ''}"
                                     for cores, rate in rates.items())
        md.append(f"- Memory bandwidth (STREAM2's DAXPY a = a + q b in C, one thread per core, "
                  f"{memory_bandwidth['n']} doubles an array, 24 bytes an element, best of 10): "
                  + on(memory_bandwidth["gbps_by_cores"]) + " at once, measured at the start of this "
                  "sweep. Each stencil run also measures it on its own cores right after its timed "
                  "repeats, and that is its hardware limit (the bandwidth of a shared machine "
                  "drifts); this one stands in where a run has none. The DAXPY updates in place, "
                  "as the IN += 1 and OUT += of the stencil do. STREAM's triad a = b + q c, by STREAM's count of "
                  "24 bytes, which leaves out the read its store causes (write-allocate): "
                  + on(memory_bandwidth["triad_gbps_by_cores"]) + ".")
    ping = meta["hardware"].get("pingpong")
    if ping:
        md.append(f"- MPI ping-pong between two ranks: latency alpha = {ping['alpha_s'] * 1e6:.2f} µs, "
                  f"bandwidth {ping['bandwidth_GBps']:.2f} GB/s.")
    counts_text = "; ".join(f"{sw['name']}: {sw['repeats']} timed repeats after {sw['warmup']} warm-up"
                            for sw in sweeps)
    md += ["", "## Methodology", "", METHODOLOGY, "", f"Repeats per configuration: {counts_text}.", ""]

    failures = failure_table(records)
    tables.append(failures)
    md += ["## Failures", ""]
    md += [markdown_table(failures), ""] if failures.rows else ["None: every recorded configuration passed its check.", ""]

    scaling_csv, fits = [], alphabeta.fits(records)
    ladders = [w for w in workloads if registry.problem(w).ladder]
    for workload in ladders:  # the collectives: their fits price the others' communication
        text, ladder_tables, stems = latency.section(workload, records, outdir, _save, fmt_time,
                                                     markdown_table, Table)
        md += text
        tables += ladder_tables
        plots += stems
    bandwidth = (memory_bandwidth or {}).get("gbps_by_cores")
    concurrent = {dtype: rate["gflops"]
                  for dtype, rate in meta["hardware"].get("core_gemm_gflops_concurrent", {}).items()}
    for sweep in sweeps:
        if sweep["workload"] in ladders:
            continue
        rows = stats.scaling_rows(records, sweep, core, meta["hardware"].get("pingpong"), fits,
                                  concurrent, bandwidth)
        scaling_csv += [{"sweep": sweep["name"], "scaling": sweep["scaling"], **row} for row in rows]
        table = scaling_table(sweep, rows)
        tables.append(table)
        md += [f"## Sweep {sweep['name']} ({sweep['workload']}, {sweep['scaling']} scaling)", "",
               table.note, ""]
        md += [markdown_table(table), ""] if rows else ["No verified configuration.", ""]
        if len({r["ranks"] for r in rows}) > 1:  # a sweep at one P has no scaling to plot
            for stem, caption in ((plot_time(sweep, rows, outdir), "Time against P"),
                                  (plot_efficiency(sweep, rows, outdir),
                                   "Parallel efficiency (top) and fraction of the hardware limit (bottom) against P")):
                plots.append(stem)
                md += [f"![{caption}]({stem}.png)", "", f"{caption} ([SVG]({stem}.svg)). "
                       "Dotted lines: ideal scaling from each implementation's own P = 1 time. "
                       "At P = 1 a JAX run is one process, the first point of both its lines.", ""]

    text, time_tables, stems = attribution_section(
        [w for w in workloads if w not in ladders], records, fits, meta["hardware"].get("pingpong"), outdir)
    md += text
    tables += time_tables
    plots += stems

    compiles = compile_table(records)
    tables.append(compiles)
    md += ["## JIT compile time", "", compiles.note, ""]
    md += [markdown_table(compiles), ""] if compiles.rows else ["No verified run compiles.", ""]

    text, memory_tables = memory_section(workloads, records)
    md += text
    tables += memory_tables
    results.write_scaling_csv(outdir / "scaling.csv", scaling_csv)

    md += ["## Rate against problem size", ""]
    for workload in [w for w in workloads if w not in ladders]:
        stem = plot_gflops_vs_size(workload, records, core, outdir, bandwidth)
        if stem:
            plots.append(stem)
            rate, size = (("GB/s", "least bytes per iteration")
                          if registry.problem(workload).limit == "bandwidth" else ("GFLOP/s", "FLOP count"))
            md += [f"![{workload}: {rate} against size]({stem}.png)", "",
                   f"{workload}: {rate} of every verified run against its {size}, one panel per P; "
                   f"dotted: the hardware limit ([SVG]({stem}.svg)).", ""]

    for workload in workloads:
        curve = registry.problem(workload).curve
        if curve is None:
            continue
        stem, notes = plot_curves(workload, records, outdir)
        md += [f"## {curve.title}", ""]
        if stem:
            plots.append(stem)
            md += [f"![{curve.title}]({stem}.png)", "",
                   f"{curve.ylabel.capitalize()} per {curve.xlabel} of every verified {workload} run, "
                   f"overlaid ([SVG]({stem}.svg)). Every implementation starts from the same inputs "
                   "and does the same work, so the curves should coincide.", ""] + [f"- {n}" for n in notes] + [""]
        else:
            md += [f"No verified {workload} run.", ""]

    # counted when the sweep started, so that a later rendering reports the code that ran
    counted = meta.get("codesize") or codesize.table(workloads)
    rows = codesize_rows(records, counted, core, bandwidth)
    table = codesize_table(rows)
    tables.append(table)
    md += ["## Code size", "", table.note, "", markdown_table(table), ""]
    for stem, caption in ((plot_codesize(rows, outdir), "Code size per implementation"),
                          (plot_codesize_vs_performance(rows, outdir),
                           "Code size against achieved performance (best fraction of the hardware "
                           "limit at the largest P)")):
        if stem:
            plots.append(stem)
            md += [f"![{caption}]({stem}.png)", "", f"{caption} ([SVG]({stem}.svg)).", ""]

    text, claim_tables = keras_claim.section(records, counted, Table, markdown_table, fmt_time, size_label)
    md += text
    tables += claim_tables

    md += ["## Files", "", "- `results.jsonl`: one record per configuration (schema: "
           "`jaxpar/schema/record.schema.json`), each with its environment.",
           "- `results.csv`: the same records, flattened, with the environment of each run.",
           "- `scaling.csv`: one row per verified run of each sweep with the metrics of the tables "
           "(speedup, efficiency, fraction of the hardware limit, α-β ideal, flags).",
           "- `sweep.json`: the resolved config and plan, "
           "the hardware measurements, the code-size counts and the environment of this sweep.",
           "- `manifest.json`: every file jaxpar wrote here (a re-rendering removes only those).", ""]
    markdown = "\n".join(md)
    (outdir / "report.md").write_text(markdown)
    # plots of an earlier rendering that this one did not redraw: only those the manifest lists
    # (a directory without a manifest: none), never a file jaxpar did not write
    drawn = {f"{stem}.{ext}" for stem in plots for ext in ("png", "svg")}
    stale = [n for n in listed or () if n.endswith((".png", ".svg")) and n not in drawn]
    for name in stale:
        (outdir / name).unlink(missing_ok=True)
    results.write_manifest(outdir, [n for n in results.manifest(outdir) if n not in stale])
    return Report(tables=tables, plots=plots, markdown=markdown)


METHODOLOGY = """\
Every configuration ran as its own launch: `mpirun -n P python -m jaxpar.run ...` for every
implementation, and for the JAX implementations also one process with P devices
(`--devices P`, launch "single-process"); at P = 1 the JAX run is a single process in both
modes. Every rank (or device) is pinned to one core, with one BLAS/XLA thread. Each run
generates the same seeded inputs, places them (not timed), compiles (JAX; timed separately as
`compile_s`), runs the warm-up repeats (not timed), then the timed repeats: a barrier before each,
and each repeat's time is the maximum over ranks. Tables give the median, minimum and
interquartile range (IQR) of the repeat times; GFLOP/s uses the median. Every result is checked
against a float64 numpy reference; a run that fails its check is listed under Failures and
neither plotted nor used as a baseline. Speedup and efficiency compare each implementation with
itself at P = 1 (same launch mode where there is one); the hardware limit is P times the
single-core GEMM rate measured at the start of the sweep, and for the stencil, which is
memory-bound, the memory bandwidth of P cores measured by STREAM2's DAXPY at the start of
the sweep."""
