"""The report of a workload measured over a ladder of message sizes (the collectives):
latency against size, one series per implementation, launch mode and pinning;
algorithm and bus bandwidth as nccl-tests define them; and each series' alpha-beta
fit with its residual and its ratio to the measurement at 1 KiB, 64 KiB and 8 MiB.

Only verified records are tabulated, plotted or fitted. The report (jaxpar.harness.report)
finds section() through the problem definition (Collectives.report_section) and imports
this module only when it renders; no implementation imports it.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

from jaxpar import registry
from jaxpar.harness import alphabeta

RATIO_SIZES = (1024, 64 * 1024, 8 * 1024 * 1024)


def size_text(nbytes: int) -> str:
    return registry.problem(alphabeta.COLLECTIVES_WORKLOAD).size_label({"bytes": nbytes})


def cell(record, fmt_time) -> str:
    """Median per collective, net of JAX's dispatch where it has one, and the bus bandwidth."""
    net = record.get("net_median_s")
    return (f"{fmt_time(record['time_s']['median'])}"
            + (f", net {fmt_time(net)}" if net is not None else "")
            + f" ({record['busbw_GBps']:.3g} GB/s)")


def series_label(key) -> str:
    impl, launch, pinned, transport = key
    return f"{impl} ({launch}{'' if pinned else ', unpinned'}; {transport})"


def _series(records, workload, collective, ranks, dtype):
    """(impl, launch, pinned, transport) -> {bytes: record}, in registry order."""
    order = {impl: i for i, impl in enumerate(registry.implementations(workload))}
    out = {}
    for r in records:
        if (r.get("status") == "ok" and r["workload"] == workload and r["algorithm"] == collective
                and r["ranks"] == ranks and r["dtype"] == dtype):
            key = (r["impl"], r["launch"], r.get("pinned", True), r.get("transport", "?"))
            out.setdefault(key, {})[r["sizes"]["bytes"]] = r
    return dict(sorted(out.items(), key=lambda kv: (order[kv[0][0]], kv[0][1], not kv[0][2])))


def section(workload, records, outdir, save, fmt_time, markdown_table, Table) -> tuple[list, list, list]:
    """(markdown lines, tables, plot stems) of one ladder workload."""
    ok = [r for r in records if r.get("status") == "ok" and r["workload"] == workload]
    md, tables, plots = [f"## {workload}: latency and bandwidth against message size", ""], [], []
    if not ok:
        return md + [f"No verified {workload} run.", ""], tables, plots
    fits = alphabeta.fits(ok)
    md += [NOTE, ""]
    groups = sorted({(r["ranks"], r["dtype"]) for r in ok})
    for ranks, dtype in groups:
        collectives = [c for c in registry.problem(workload).algorithms
                       if any(r["algorithm"] == c and r["ranks"] == ranks and r["dtype"] == dtype for r in ok)]
        fig, axes = plt.subplots(1, len(collectives), figsize=(4.6 * len(collectives) + 3, 4.2),
                                 squeeze=False, layout="constrained")
        fit_table = Table(f"{workload}, P = {ranks}, {dtype}: alpha-beta fits",
                          ["collective", "series", "alpha", "beta (1/bandwidth)", "rms residual",
                           "max residual"] + [f"fit/measured at {size_text(m)}" for m in RATIO_SIZES])
        for ax, collective in zip(axes[0], collectives):
            series = _series(ok, workload, collective, ranks, dtype)
            sizes = sorted({m for s in series.values() for m in s})
            table = Table(f"{collective}, P = {ranks}, {dtype}: median latency per collective "
                          "(bus bandwidth)", ["bytes"] + [series_label(k) for k in series])
            for m in sizes:
                table.rows.append([size_text(m)] + [cell(s[m], fmt_time) if m in s else "—"
                                                     for s in series.values()])
            noops = [[r["noop_call_s"] for r in s.values() if r.get("noop_call_s")]
                     for s in series.values()]
            if any(noops):  # the range over the sizes
                table.rows.append(["JAX call running none"] + [
                    f"{fmt_time(min(n))} to {fmt_time(max(n))}" if n else "—" for n in noops])
            tables.append(table)
            md += [f"### {table.title}", "", markdown_table(table), ""]
            for i, (key, points) in enumerate(series.items()):
                xs = sorted(points)
                med = [points[m]["time_s"]["median"] for m in xs]
                err = [[t - points[m]["time_s"]["q1"] for m, t in zip(xs, med)],
                       [points[m]["time_s"]["q3"] - t for m, t in zip(xs, med)]]
                ax.errorbar(xs, med, yerr=err, label=series_label(key), color=f"C{i % 10}",
                            marker="osD^vP*Xph"[i % 10], linestyle="-" if key[2] else ":",
                            markersize=4, capsize=2, fillstyle="full" if key[1] == "mpirun" else "none")
                f = fits.get((key[0], key[1], key[2], collective, ranks, dtype))
                if f:
                    ratios = [alphabeta.ratio_at(f, m, alphabeta.measured(points[m])) if m in points
                              else None for m in RATIO_SIZES]
                    fit_table.rows.append([collective, series_label(key), fmt_time(f["alpha_s"]),
                                           f"{f['beta_s_per_byte'] * 1e9:.3g} ns/B "
                                           f"({1e-9 / f['beta_s_per_byte']:.3g} GB/s)"
                                           if f["beta_s_per_byte"] > 0 else "0",
                                           f"{100 * f['rms_rel_residual']:.0f}%",
                                           f"{100 * f['max_rel_residual']:.0f}%"]
                                          + ["—" if v is None else f"{v:.2f}" for v in ratios])
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("message size (bytes per rank)")
            ax.set_ylabel("median time per collective (s)")
            ax.set_title(collective)
            ax.grid(True, which="both", alpha=0.3)
        handles = {}
        for ax in axes[0]:
            for h, label in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(label, h)
        fig.legend(list(handles.values()), list(handles), loc="outside right center", fontsize=7)
        fig.suptitle(f"{workload}: latency against message size, P = {ranks}, {dtype} "
                     "(bars: IQR; dotted: unpinned)")
        stem = save(fig, outdir, f"{workload}_latency_p{ranks}_{dtype}")
        plots.append(stem)
        md += [f"![latency against size]({stem}.png)", "",
               f"Latency per collective against message size, log-log ([SVG]({stem}.svg)).", ""]
        tables.append(fit_table)
        md += [f"### {fit_table.title}", "", FIT_NOTE, "", markdown_table(fit_table), ""]
    return md, tables, plots


NOTE = """\
Each configuration times a jitted program (JAX) or a loop (C, mpi4py) of `iterations`
back-to-back collectives on the same buffers, with a barrier before each timed repeat and the
maximum over ranks; the time is per collective. Message size: each rank's buffer (its
contribution, for allgather). Bus bandwidth as nccl-tests: algbw = S / t with S the bytes
of the result (P x size for allgather), busbw = algbw x 2(P-1)/P for allreduce, (P-1)/P for
allgather, 1 for bcast and sendrecv. JAX under mpirun rides on gloo; jax_mpi4jax on MPI
through mpi4jax; single-process JAX on XLA's in-process collectives. JAX's `bcast` is a psum
of the buffer masked to zero off the root (lax has no one-to-all broadcast). "JAX call running none":
the median time of one call of the same jitted program run for zero iterations, over the
sizes: JAX's dispatch (ordered effects included, for mpi4jax), plus, at large sizes, the
allocation and zeroing of the output buffer; paid once per timed call, not per collective. "net" is the median per collective without it (median - dispatch /
iterations); a workload pays the dispatch once per run, so its collectives are priced net."""

FIT_NOTE = """\
t(m) = alpha + beta m fitted to the medians by least squares on the relative residuals (a
small message weighs as much as a large one); residuals are (fit - measured) / measured. These
fits price the communication in the other workloads' α-β ideal times, each implementation
with the collectives of its own transport."""
