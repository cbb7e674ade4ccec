"""The report's plots, each saved as PNG and SVG (and listed in the manifest first) by
styles._save: time and efficiency against P, rate against problem size, per-step
curves, where the time goes, and code size."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter, NullLocator  # noqa: E402

from jaxpar import registry  # noqa: E402
from jaxpar.harness import stats  # noqa: E402
from jaxpar.harness.report.styles import (COLORS, HATCHES, IMPL_MARKERS, LAUNCH_FILLS,  # noqa: E402
                                          LINESTYLES, _save, style)
from jaxpar.harness.report.tables import _attribution_order  # noqa: E402
from jaxpar.harness.sweep import IMPLEMENTATIONS, WORKLOADS, size_label  # noqa: E402


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
    """SLOC against the best fraction of the hardware limit at the workload's largest P, one
    panel per workload: each implementation a point in its colour and marker (those of every
    other plot), filled where its best run was under mpirun, hollow where single-process, all
    named in one legend: no text at the points, which would collide where implementations
    share a size and a rate. The rates span decades, so the axis is logarithmic (linear where
    one is 0)."""
    rows = [r for r in rows if "error" not in r and r.get("hw_efficiency") is not None]
    if not rows:
        return None
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    percent = [100 * r["hw_efficiency"] for r in rows]
    log = min(percent) > 0
    fig, axes = plt.subplots(1, len(workloads), figsize=(4.2 * len(workloads) + 2.2, 4.2), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, workload in zip(axes[0], workloads):
        mine = [r for r in rows if r["workload"] == workload]
        for r in mine:
            filled = LAUNCH_FILLS.get(r["perf_launch"], "full") == "full"
            ax.plot(r["sloc"], 100 * r["hw_efficiency"], linestyle="", marker=IMPL_MARKERS[r["impl"]],
                    markersize=8, color=COLORS[r["impl"]], fillstyle="full" if filled else "none",
                    markeredgecolor="black" if filled else COLORS[r["impl"]],
                    markeredgewidth=0.6 if filled else 1.5)
        ax.set_xlim(0, 1.1 * max(r["sloc"] for r in mine))
        ax.set_xlabel("SLOC of the implementation (pygount)")
        ax.set_title(f"{workload}, P = {mine[0]['perf_ranks']}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    ax = axes[0][0]
    if log:
        ax.set_yscale("log")
        ax.set_ylim(min(percent) / 1.6, 1.6 * max(percent))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        # minor labels collide over several decades; over one or two, 2 and 5 of each read
        few = max(percent) / min(percent) < 100
        ax.yaxis.set_minor_formatter(FuncFormatter(
            lambda v, _: f"{v:g}" if few and f"{v:.0e}"[0] in "25" else ""))
    else:  # a point at 0 drawn whole
        ax.set_ylim(-0.04 * max(percent), 1.1 * max(percent))
    ax.set_ylabel("best % of the hardware limit at the largest P")
    impls = [i for i in IMPLEMENTATIONS if any(r["impl"] == i for r in rows)]
    handles = [Line2D([], [], color=COLORS[i], marker=IMPL_MARKERS[i], markeredgecolor="black",
                      markeredgewidth=0.6, markersize=8, linestyle="", label=i) for i in impls]
    handles += [Line2D([], [], color="gray", marker="o", markersize=8, linestyle="", fillstyle=fill,
                       markeredgecolor="black" if fill == "full" else "gray", label=f"best run: {launch}")
                for launch, fill in LAUNCH_FILLS.items() if any(r["perf_launch"] == launch for r in rows)]
    fig.legend(handles=handles, loc="outside right center", fontsize=8)
    fig.suptitle("Code size against achieved performance")
    return _save(fig, outdir, "codesize_vs_performance")
