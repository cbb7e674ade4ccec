"""The report's sections in prose: its head (what ran, on what, and the environment and
hardware limit), the methodology, where the time goes (a table, a plot and sentences
against C/MPI per workload) and peak memory per rank; each returns markdown lines (and
the tables and plots it made)."""
from __future__ import annotations

from jaxpar import registry
from jaxpar.harness import attribution
from jaxpar.harness.report.format import markdown_table
from jaxpar.harness.report.plots import plot_attribution
from jaxpar.harness.report.tables import (MEMORY_NOTE, _attribution_order, attribution_table,
                                          memory_table)
from jaxpar.harness.sweep import IMPLEMENTATIONS, WORKLOADS, size_label


def head_section(meta, records) -> list:
    """The report's title and one line of environment: when, where and what ran (counts of
    each status)."""
    env = meta.get("environment") or {}
    counts = {s: sum(r.get("status") == s for r in records)
              for s in ("ok", "failed_check", "failed_launch", "crashed", "timeout")}
    return [f"# {meta['config'].get('title', 'jaxpar comparison')}", "",
            f"Started {meta.get('started', '?')} on {env.get('hostname', '?')} "
            f"({env.get('cpu_model', '?')}, {env.get('cpu_count', '?')} CPUs). "
            f"{len(records)} of {meta.get('planned', '?')} configurations recorded: {counts['ok']} verified, "
            f"{counts['failed_check']} failed their check, {counts['failed_launch']} ran with another "
            f"number of ranks than requested, {counts['crashed']} crashed, "
            f"{counts['timeout']} timed out.", ""]


def environment_section(meta) -> list:
    """The command and the "Environment and hardware limit" section: versions, BLAS, the
    single-core and concurrent GEMM rates, the memory bandwidth and the MPI ping-pong of the
    sweep."""
    core = meta["hardware"].get("core_gemm_gflops", {})
    env = meta.get("environment") or {}
    versions = env.get("versions", {})
    md = [f"Command: `{' '.join(meta.get('command', []))}`", "",
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
    return md + [""]


def methodology_section(sweeps) -> list:
    """The "Methodology" section: METHODOLOGY and each sweep's repeats."""
    counts_text = "; ".join(f"{sw['name']}: {sw['repeats']} timed repeats after {sw['warmup']} warm-up"
                            for sw in sweeps)
    return ["## Methodology", "", METHODOLOGY, "", f"Repeats per configuration: {counts_text}.", ""]


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
