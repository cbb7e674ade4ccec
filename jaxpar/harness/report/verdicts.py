"""The report's answer first: the verdicts table (one row per claim of the talk, with its
deciding figure and a link to the section that backs it), the key findings written from the
verdicts, the summary figure (per workload, the best JAX against the best C/MPI: time ratio
against code-size ratio), and, at the end, every verdict's figures with their derivations.
The verdicts themselves come from jaxpar.claims."""
from __future__ import annotations

import re

from jaxpar import registry
from jaxpar.claims import heavy
from jaxpar.claims.verdict import C_MPI, HOLDS, MIXED, NOT_MEASURED, Context, time_of
from jaxpar.harness.report.format import Table

FIGURES = "The claims' figures"
MARK = {HOLDS: "✅ holds", "does not hold": "❌ does not hold", MIXED: "◐ mixed", NOT_MEASURED: "— not measured"}


def anchor(heading: str) -> str:
    """The link target GitHub and most markdown viewers give a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return "#" + text.replace(" ", "-")


def table(verdicts, links=True) -> Table:
    """One row per claim; links=False for a terminal (the section named, not linked), and
    "figures" for a document that has the claims' figures but not the report's other
    sections (docs/results.md)."""
    out = Table("Verdicts: the talk's claims, measured here", ["claim", "verdict", "deciding figure", "backed by"])
    for v in verdicts:
        linked = links is True or (links == "figures" and v["section"] == FIGURES)
        out.rows.append([v["claim"], MARK[v["verdict"]], v["deciding"] or "—",
                         f"[{v['section']}]({anchor(v['section'])})" if linked
                         else v["section"] + (" (report.md)" if links == "figures" else "")])
    return out


def opening(verdicts, markdown_table, links=True) -> list[str]:
    """The verdicts table and the key findings: at most one screen, right after the title."""
    measured = [v for v in verdicts if v["verdict"] != NOT_MEASURED]
    md = ["## Verdicts", "",
          "Each claim of the seed talk, judged on this run's verified records and code-size counts "
          "(`verdicts.json` holds every figure with its derivation; the claim's own words and "
          f"measure are in [{FIGURES}]({anchor(FIGURES)})). A verdict holds only in its regime: "
          "this machine, these P and transports.", "", markdown_table(table(verdicts, links)), "",
          "### Key findings", ""]
    md += [f"- **{v['claim']}**: {v['summary']} ({v['regime']})" for v in measured]
    skipped = [v["claim"] for v in verdicts if v["verdict"] == NOT_MEASURED]
    if skipped:
        md.append(f"- Not measured here: {', '.join(skipped)}; each says why in [{FIGURES}]({anchor(FIGURES)}).")
    return md + [""]


def details(verdicts) -> list[str]:
    """Every verdict with the talk's words, the measure, the regime, the cause and its figures."""
    md = [f"## {FIGURES}", "",
          "Each figure is computed from `results.jsonl` and `sweep.json` by the derivation "
          "stored beside it in `verdicts.json` (`python -m jaxpar.claims DIR --check` recomputes "
          "them all).", ""]
    for v in verdicts:
        md += [f"### {v['claim']}: {v['verdict']}", "", f"> {v['quote']}", "",
               f"- Measure: {v['measure']}", f"- Verdict: {v['summary']}"]
        md += [f"- Regime: {v['regime']}"] if v["regime"] else []
        md += [f"- Cause: {v['cause']}"] if v["cause"] else []
        if v["figures"]:
            md += ["", "| figure | value |", "| --- | --- |"]
            md += [f"| {f['name']} | {f['value']:.4g}{' ' + f['unit'] if f['unit'] else ''} |" for f in v["figures"]]
        md.append("")
    return md


def summary_points(records, meta) -> list[dict]:
    """Per workload, dtype and P (1 and the largest) where both verified: the best JAX form's
    time over the best c_mpi time, and that JAX form's SLOC over c_mpi's."""
    ctx = Context(records, meta)
    points = []
    for label, jax_runs, c_runs in heavy.pairs(ctx):
        best, base = min(jax_runs, key=time_of), min(c_runs, key=time_of)
        mine, theirs = ctx.size_row(best["workload"], best["impl"]), ctx.size_row(base["workload"], C_MPI)
        if mine and theirs:
            points.append({"label": label, "workload": best["workload"], "impl": best["impl"],
                           "ranks": best["ranks"], "time_ratio": time_of(best) / time_of(base),
                           "sloc_ratio": mine["sloc"] / theirs["sloc"]})
    return points


def plot_summary(records, meta, outdir, save) -> str | None:
    """The summary figure: one marker per workload (hollow at P = 1, filled at the largest
    P), the best JAX over the best C/MPI in time (x) and code size (y); a legend names each
    point, so no label can sit on another."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from jaxpar.harness.report.styles import WORKLOAD_MARKERS

    points = summary_points(records, meta)
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.6 + 0.22 * len(points)))
    handles = []
    for i, p in enumerate(points):
        filled = p["ranks"] > 1
        ax.plot(p["time_ratio"], p["sloc_ratio"], linestyle="none", marker=WORKLOAD_MARKERS[p["workload"]],
                markersize=10, color=f"C{registry.WORKLOADS.index(p['workload']) % 10}",
                fillstyle="full" if filled else "none", markeredgewidth=1.8)
        handles.append(Line2D([], [], linestyle="none", marker=WORKLOAD_MARKERS[p["workload"]],
                              color=f"C{registry.WORKLOADS.index(p['workload']) % 10}",
                              fillstyle="full" if filled else "none",
                              label=f"{p['label']}: {p['impl']} {p['time_ratio']:.2f}× time, "
                                    f"{p['sloc_ratio']:.2f}× SLOC"))
    ax.axvline(1, color="grey", linewidth=0.8, linestyle=":")
    ax.axhline(1, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_xlabel("best JAX time ÷ best c_mpi time (left of 1: JAX faster)")
    ax.set_ylabel("that JAX form's SLOC ÷ c_mpi's (below 1: JAX smaller)")
    ax.set_ylim(0, max(1.2, max(p["sloc_ratio"] for p in points) * 1.15))
    ax.set_title("The best JAX against C/MPI, per workload\n(hollow: P = 1, filled: the largest P)")
    ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
    fig.tight_layout()
    return save(fig, outdir, "summary")
