"""The report of a sweep: results.csv, plots (PNG and SVG) and report.md, all
rendered from results.jsonl and sweep.json in the results directory, so that
`python -m jaxpar.compare --plot-only DIR` gives the same report again.

Only verified records ("ok") are plotted or enter the scaling tables; every
other record is listed under Failures with its error.

render() here puts the report together from its parts: format (Table, Report, the cell
formats, markdown), tables (each table of the report), plots (every figure), styles (the
series styles the plots share, and the saving of a figure), sections (the prose
sections: the head and environment, methodology, where the time goes, peak memory). A
workload with a section of its own (the collectives' latency and fits) names it in its
problem definition (Problem.report_section, "module:function"), which render() imports
only then: the report imports no workload by name.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

from jaxpar import claims, registry
from jaxpar.claims import keras_section as keras_claim
from jaxpar.harness import alphabeta, codesize, results, stats
from jaxpar.harness.report.format import (Report, Table, fmt, fmt_bytes, fmt_pct, fmt_signed,
                                          fmt_time, markdown_table, series_name)
from jaxpar.harness.report.plots import (ATTRIBUTION_PARTS, plot_attribution, plot_codesize,
                                         plot_codesize_vs_performance, plot_curves, plot_efficiency,
                                         plot_gflops_vs_size, plot_time)
from jaxpar.harness.report import verdicts as verdict_section
from jaxpar.harness.report.sections import (METHODOLOGY, attribution_section, environment_section,
                                            gap_sentences, head_section, memory_section,
                                            methodology_section)
from jaxpar.harness.report.styles import (COLORS, FILLS, HATCHES, IMPL_MARKERS, LAUNCH_FILLS,
                                          LINESTYLES, WORKLOAD_MARKERS, _save, style)
from jaxpar.harness.report.tables import (BANDWIDTH_NOTE, MEMORY_NOTE, attribution_table,
                                          bandwidth_scaling_table, codesize_rows, codesize_table,
                                          compile_table, failure_table, kernel_libraries,
                                          local_work_text, memory_table, scaling_table)
from jaxpar.harness.sweep import size_label

__all__ = [
    "Report", "Table", "fmt", "fmt_bytes", "fmt_pct", "fmt_signed", "fmt_time", "markdown_table",
    "series_name", "ATTRIBUTION_PARTS", "plot_attribution", "plot_codesize",
    "plot_codesize_vs_performance", "plot_curves", "plot_efficiency", "plot_gflops_vs_size",
    "plot_time", "METHODOLOGY", "attribution_section", "environment_section", "head_section", "gap_sentences",
    "memory_section", "methodology_section", "COLORS", "FILLS", "HATCHES", "IMPL_MARKERS",
    "LAUNCH_FILLS", "LINESTYLES", "WORKLOAD_MARKERS", "style", "BANDWIDTH_NOTE", "MEMORY_NOTE",
    "attribution_table", "bandwidth_scaling_table", "codesize_rows", "codesize_table",
    "compile_table", "failure_table", "kernel_libraries", "local_work_text", "memory_table",
    "scaling_table", "render", "workload_section"]


def workload_section(workload):
    """A workload's own report section, the function its problem definition names in
    report_section ("module:function"), imported now; None where it names none. It is
    called as section(workload, records, outdir, save, fmt_time, markdown_table, Table)
    and returns (markdown lines, tables, plot stems)."""
    path = registry.problem(workload).report_section
    if not path:
        return None
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


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
    tables, plots = [], []
    # The answer first: the talk's claims judged on this run, then the details that back them.
    judged = claims.evaluate(records, meta)
    claims.write(outdir, judged)
    verdict_table = verdict_section.table(judged, links=False)
    md = head_section(meta, records) + verdict_section.opening(judged, markdown_table)
    stem = verdict_section.plot_summary(records, meta, outdir, _save)
    if stem:
        plots.append(stem)
        md += [f"![The best JAX against C/MPI]({stem}.png)", "",
               "Per workload, the best JAX form's time over the best c_mpi time (x, log scale) "
               "against that form's SLOC over c_mpi's (y), at P = 1 (hollow) and the largest P "
               f"(filled); the legend gives each point's figures ([SVG]({stem}.svg)).", ""]
    md += environment_section(meta) + methodology_section(sweeps)
    memory_bandwidth = meta["hardware"].get("bandwidth")

    failures = failure_table(records)
    tables.append(failures)
    md += ["## Failures", ""]
    md += [markdown_table(failures), ""] if failures.rows else ["None: every recorded configuration passed its check.", ""]

    scaling_csv, fits = [], alphabeta.fits(records)
    ladders = [w for w in workloads if registry.problem(w).ladder]
    for workload in workloads:  # e.g. the collectives: their fits price the others' communication
        section = workload_section(workload)
        if section is None:
            continue
        text, own_tables, stems = section(workload, records, outdir, _save, fmt_time, markdown_table,
                                          Table)
        md += text
        tables += own_tables
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
                           "limit at the largest P; one panel per workload; filled: "
                           "that best run was under mpirun, hollow: single-process)")):
        if stem:
            plots.append(stem)
            md += [f"![{caption}]({stem}.png)", "", f"{caption} ([SVG]({stem}.svg)).", ""]

    text, claim_tables = keras_claim.section(records, counted, Table, markdown_table, fmt_time, size_label)
    md += text
    tables += claim_tables

    md += verdict_section.details(judged)
    md += ["## Files", "", "- `verdicts.json`: the verdicts, each figure with its derivation from "
           "`results.jsonl` and `sweep.json` (docs/compare.md, \"verdicts.json\").",
           "- `results.jsonl`: one record per configuration (schema: "
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
    return Report(tables=tables, plots=plots, markdown=markdown, verdicts=verdict_table)
