"""Run the paired implementations of every workload under identical conditions,
across rank counts and sizes, and write a report.

    python -m jaxpar.compare                      # the embedded default sweep
    python -m jaxpar.compare --quick              # a smaller one, about 30 s
    python -m jaxpar.compare --config experiments/strong_weak.toml
    python -m jaxpar.compare --impls c_mpi,jax --ranks 1,2 --size m=2048,k=2048,n=2048
    python -m jaxpar.compare --resume results/20250101-120000     # finish an interrupted sweep
    python -m jaxpar.compare --plot-only results/20250101-120000  # redraw the report

Each configuration runs as its own `mpirun -n P python -m jaxpar.run ...` (JAX
also as one process with P devices) with a timeout; one that crashes, hangs or
fails its check is recorded with its error and the sweep goes on. See
docs/compare.md. Exit status: 0 all verified, 1 some configuration failed,
2 invalid config or flags (before anything runs), 130 interrupted.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jaxpar import registry
from jaxpar.harness import codesize
from jaxpar.harness import sweep as sweeps
from jaxpar.harness.sweep import ConfigError


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m jaxpar.compare",
        description="Run workloads x implementations x algorithms x P x sizes x dtypes and write "
                    "results.jsonl, results.csv, plots and report.md.",
        epilog="LIST is comma-separated. Flags override the config's value in every sweep. "
               "Exit status: 0 all verified, 1 some failed, 2 invalid config or flags, 130 interrupted.")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", metavar="TOML", help="sweep config (default: the embedded one)")
    source.add_argument("--quick", action="store_true", help="the embedded quick config (~30 s)")
    source.add_argument("--resume", metavar="DIR",
                        help="finish the sweep in DIR, skipping configurations it has a record of")
    source.add_argument("--plot-only", metavar="DIR", help="re-render the report of DIR; run nothing")
    parser.add_argument("--output", metavar="DIR", help="results directory (default results/<timestamp>)")
    parser.add_argument("--workloads", metavar="LIST",
                        help="only these workloads' sweeps: " + ", ".join(sweeps.WORKLOADS))
    parser.add_argument("--impls", metavar="LIST", help="implementations: " + ", ".join(sweeps.IMPLEMENTATIONS))
    parser.add_argument("--algorithms", metavar="LIST", help="algorithms, applied to the workloads that have "
                        "them: " + "; ".join(f"{w} {', '.join(spec.algorithms)}"
                                            for w, spec in sweeps.WORKLOADS.items() if spec.algorithms))
    parser.add_argument("--launch", metavar="LIST", help="launch modes: mpirun, single-process (JAX only)")
    parser.add_argument("--ranks", metavar="LIST", help="rank counts P, e.g. 1,2")
    parser.add_argument("--dtypes", metavar="LIST", help="float64, float32")
    parser.add_argument("--scaling", metavar="MODE", help="strong or weak")
    parser.add_argument("--size", metavar="[WORKLOAD:]K=V,...", action="append",
                        help="a size (repeatable); replaces the sizes of the sweeps it fits, keys left "
                             "out taken from their first size; e.g. m=1024,k=1024,n=1024 or sgd:batch=512")
    for name in ("repeats", "warmup", "seed", "timeout"):
        parser.add_argument(f"--{name}", metavar="N", help=f"{name} of every configuration"
                            + (" (seconds)" if name == "timeout" else ""))
    parser.add_argument("--dry-run", action="store_true", help="print the configurations and exit")
    return parser


SWEEP_FLAGS = ("workloads", "impls", "algorithms", "launch", "ranks", "dtypes", "scaling", "size",
               "repeats", "warmup", "seed", "timeout")


def _number(flag, text, kind):
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"--{flag}: {text!r} is not {'an integer' if kind is int else 'a number'}") from None


def overrides_from(args) -> dict:
    out = {}
    for flag, key in (("impls", "implementations"), ("algorithms", "algorithms"), ("launch", "launch"),
                      ("dtypes", "dtypes")):
        if getattr(args, flag) is not None:
            out[key] = [v.strip() for v in getattr(args, flag).split(",")]
    if args.ranks is not None:
        out["ranks"] = [_number("ranks", v.strip(), int) for v in args.ranks.split(",")]
    if args.scaling is not None:
        out["scaling"] = args.scaling
    for flag in ("repeats", "warmup", "seed"):
        if getattr(args, flag) is not None:
            out[flag] = _number(flag, getattr(args, flag), int)
    if args.timeout is not None:
        out["timeout"] = _number("timeout", args.timeout, float)
    return out


def load_config(args) -> dict:
    """The resolved config of a new sweep: file or embedded, with the flags applied."""
    if args.config:
        raw = sweeps.load_file(args.config)
    else:
        name = "quick" if args.quick else "default"
        raw = sweeps.parse_toml(sweeps.embedded(name), f"embedded {name}.toml")
    sizes = [sweeps.parse_size_flag(s) for s in args.size or []]
    workloads = [w.strip() for w in args.workloads.split(",")] if args.workloads else None
    raw = sweeps.apply_overrides(raw, overrides_from(args), sizes, workloads)
    return sweeps.resolve(raw)


def prepare_output(path: Path) -> Path:
    if (path / "results.jsonl").exists() or (path / "sweep.json").exists():
        raise ConfigError(f"{path} already holds a sweep: continue it with --resume {path}, "
                          "or choose another --output")
    try:
        path.mkdir(parents=True, exist_ok=True)
        if any(path.iterdir()):  # its report.md, results.csv or plots would be overwritten
            raise ConfigError(f"output directory {path} is not empty and not a jaxpar.compare results "
                              "directory: choose a new or empty --output")
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ConfigError(f"output directory {path} is not writable: {exc.strerror or exc}") from None
    return path


def existing_sweep(path: Path, flag: str) -> Path:
    for name in ("sweep.json", "results.jsonl") if flag == "--plot-only" else ("sweep.json",):
        if not (path / name).is_file():
            raise ConfigError(f"{flag} {path}: no {name} there (not a jaxpar.compare results directory)")
    if flag == "--resume" and not os.access(path, os.W_OK):
        raise ConfigError(f"{flag} {path}: the directory is not writable")
    from jaxpar.harness import results
    try:  # a corrupt file: exit 2 with its name (and line), not a traceback
        json.loads((path / "sweep.json").read_text())
        results.manifest(path)
        if (path / "results.jsonl").exists():
            results.load(path / "results.jsonl")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{flag} {path}: {exc}") from None
    return path


# ---------------------------------------------------------------- measurements

def environment() -> dict:
    """records.environment(), from a child: this process never initializes MPI."""
    code = "import json; from jaxpar.rank.records import environment; print(json.dumps(environment()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_hardware(config: dict, console) -> dict:
    from jaxpar.harness import launch
    from jaxpar.rank import probes

    settings = config["hardware"]
    dtypes = sorted({d for s in config["sweeps"] for d in s["dtypes"]})
    out = {"gemm_n": settings["gemm_n"], "core_gemm_gflops": {}, "core_gemm_gflops_concurrent": {},
           "pingpong": None}
    # The same GEMM on as many cores at once as the largest run has ranks (at most one per
    # core): the per-core rate when the ranks share caches, memory bandwidth and clocks.
    copies = min(max(p for s in config["sweeps"] for p in s["ranks"]), len(os.sched_getaffinity(0)))
    for dtype in dtypes:
        with console.status(f"measuring the single-core GEMM rate ({dtype}, n = {settings['gemm_n']})"):
            out["core_gemm_gflops"][dtype] = probes.single_core_gemm_gflops(
                dtype, settings["gemm_n"], repeats=10)[0]  # the best of 10
        rates = [out["core_gemm_gflops"][dtype]]  # one copy: the rate just measured
        if copies > 1:
            with console.status(f"measuring the GEMM rate of {copies} cores at once ({dtype})"):
                rates = probes.single_core_gemm_gflops(dtype, settings["gemm_n"], repeats=10,
                                                         concurrent=copies)
            out["core_gemm_gflops_concurrent"][dtype] = {
                "copies": copies, "gflops": sum(rates) / len(rates), "per_copy": rates}
    if any(registry.problem(s["workload"]).limit == "bandwidth" for s in config["sweeps"]):
        # The memory bandwidth of 1 and of `copies` cores at once: the limit of a
        # bandwidth-bound workload (the stencil) at P ranks is that of min(P, copies) cores.
        out["bandwidth"] = {"n": settings["bandwidth_n"], "gbps_by_cores": {},
                            "triad_gbps_by_cores": {}, "per_copy": {}}
        for cores in sorted({1, copies}):
            with console.status(f"measuring the memory bandwidth of {cores} core(s) at once (STREAM)"):
                rates = probes.bandwidth_gbps(settings["bandwidth_n"], repeats=10, concurrent=cores)
            out["bandwidth"]["gbps_by_cores"][str(cores)] = sum(r["daxpy"] for r in rates)
            out["bandwidth"]["triad_gbps_by_cores"][str(cores)] = sum(r["triad"] for r in rates)
            out["bandwidth"]["per_copy"][str(cores)] = rates
    if settings["pingpong"] and max(p for s in config["sweeps"] for p in s["ranks"]) > 1:
        with console.status("measuring MPI ping-pong latency and bandwidth"):
            out["pingpong"] = launch.measure_pingpong()
        if out["pingpong"] is None:
            console.print("[yellow]MPI ping-pong failed; the report goes without it[/]")
    return out


# ---------------------------------------------------------------- running

def run_configurations(configs: list[dict], hardware: dict, env: dict) -> list[dict]:
    """Run one launch group (sweep.launch_groups): one configuration, or several that differ
    only in the workload's ladder size; return a record for each, in order."""
    from jaxpar.harness.launch import run_launch

    config, start = configs[0], time.perf_counter()
    timeout = sum(c["timeout"] for c in configs)
    records = run_launch(config["workload"], config["ranks"], sweeps.runner_args(configs),
                         timeout=timeout, single_process=config["launch"] == "single-process",
                         expected=len(configs))
    wall = (time.perf_counter() - start) / len(configs)
    # each configuration's record, matched by algorithm and sizes; a failure record, last,
    # stands for every configuration the launch did not finish
    done = {(r.get("algorithm"), json.dumps(r.get("sizes"), sort_keys=True)): r
            for r in records if "verified" in r}
    failure = records[-1] if "verified" not in records[-1] else None
    return [finish(c, done.get((c["algorithm"], json.dumps(c["sizes"], sort_keys=True)))
                   or failure or {"status": "crashed", "error": "the launch wrote no record of it"},
                   hardware, env, wall) for c in configs]


def finish(config: dict, record: dict, hardware: dict, env: dict, wall: float) -> dict:
    identity = {k: config[k] for k in ("id", "label", "sweeps", "workload", "impl", "algorithm", "launch",
                                       "ranks", "dtype", "sizes", "repeats", "warmup", "seed", "options")}
    out = {**identity, **record, "id": config["id"], "sweeps": config["sweeps"],
           "pinned": config.get("pinned", True)}
    reported = (record.get("ranks"), record.get("processes"))
    expected = (config["ranks"], 1 if config["launch"] == "single-process" else config["ranks"])
    if "verified" in record and reported != expected:
        # e.g. a launcher that does not match the MPI library starts P 1-rank jobs: the last
        # one's record is no P-rank result, whatever its check says
        out.update(status="failed_launch", ranks=config["ranks"], reported_ranks=reported[0],
                   reported_processes=reported[1],
                   error=f"requested P = {config['ranks']} ({config['launch']}) but the run "
                         f"reported {reported[0]} rank(s) in {reported[1]} process(es)")
    out.setdefault("environment", env)
    out["core_gemm_gflops"] = hardware["core_gemm_gflops"].get(config["dtype"])
    out["timeout_s"] = config["timeout"]
    out["wall_s"] = wall
    return out


INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


def _raise_interrupt(signum, frame):
    """Ctrl-C or kill: unwind, the launchers killing their children on the way out
    (core/lifetime.py); further signals are ignored while it unwinds."""
    for s in INTERRUPTS:
        signal.signal(s, signal.SIG_IGN)
    raise KeyboardInterrupt


def run_sweep(outdir: Path, meta: dict, console) -> None:
    """Run every planned configuration that results.jsonl has no record of."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from jaxpar.harness import results

    path = outdir / "results.jsonl"
    if results.repair(path):
        console.print("[yellow]cut off an unfinished last line of results.jsonl[/]")
    done = {r["id"] for r in results.load(path)} if path.exists() else set()
    todo = [c for c in meta["plan"] if c["id"] not in done]
    if done:
        console.print(f"{len(done)} configuration(s) already done; {len(todo)} to run")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                  console=console, refresh_per_second=2) as progress:
        task = progress.add_task("", total=len(meta["plan"]), completed=len(meta["plan"]) - len(todo))
        for group in sweeps.launch_groups(todo):
            progress.update(task, description=group[0]["label"] + (f" (+{len(group) - 1} sizes)"
                                                                   if len(group) > 1 else ""))
            for config, record in zip(group, run_configurations(group, meta["hardware"],
                                                                meta["environment"])):
                results.append(path, record)
                progress.advance(task)
                print_record(console, config, record)


def print_record(console, config, record) -> None:
    from jaxpar.harness import results
    from jaxpar.harness.report import fmt_time

    if record["status"] == "ok":
        median = results.time_summary(record)["median"]
        rate = (f", {record['gflops']:.2f} GFLOP/s" if record.get("gflops") is not None else
                f", {record['algbw_GBps']:.3f} GB/s" if record.get("algbw_GBps") is not None else "")
        console.print(f"[green]ok[/]      {config['label']}: {fmt_time(median)} per "
                      f"{sweeps.WORKLOADS[config['workload']].time_unit}{rate}")
    else:
        detail = record.get("error") or f"max relative error {results.max_error(record)}"
        console.print(f"[red]{record['status']}[/] {config['label']}: {detail}")


def print_summary(report, console) -> None:
    """The report's tables, less the columns too wide or too uniform for a terminal, and
    last the verdicts on the talk's claims."""
    from rich.table import Table

    for t in report.tables + ([report.verdicts] if report.verdicts else []):
        if not t.rows:
            continue
        keep = [i for i, name in enumerate(t.header)
                if name not in ("files", "comment lines")
                and not (name == "dtype" and len({row[i] for row in t.rows}) == 1)]
        title = t.title + (f" ({t.rows[0][t.header.index('dtype')]})"
                           if "dtype" in t.header and t.header.index("dtype") not in keep else "")
        table = Table(title=title, title_justify="left", header_style="bold", pad_edge=False)
        for i in keep:
            table.add_column(t.header[i], overflow="fold")
        for row in t.rows:
            table.add_row(*(str(row[i]) for i in keep))
        console.print(table)


def main(argv=None) -> int:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # a log file: no need to wrap the tables at 80 columns
        console = Console(width=160)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.resume or args.plot_only:
            flag = "--resume" if args.resume else "--plot-only"
            given = [f"--{f.replace('_', '-')}" for f in SWEEP_FLAGS + ("output", "dry_run")
                     if getattr(args, f) not in (None, False)]
            if given:
                raise ConfigError(f"{flag} uses the configuration saved in its directory; "
                                  f"drop {', '.join(given)}")
            outdir = existing_sweep(Path(args.resume or args.plot_only), flag)
            meta = json.loads((outdir / "sweep.json").read_text())
        else:
            config = load_config(args)
            plan = sweeps.plan(config)
            if args.dry_run:
                for c in plan:
                    print(f"{c['id']}\t{c['label']}\tsweeps: {', '.join(c['sweeps'])}")
                print(f"{len(plan)} configurations")
                return 0
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            outdir = prepare_output(Path(args.output) if args.output else Path("results") / stamp)
    except ConfigError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2

    from jaxpar.harness import report, results

    if args.plot_only:
        rendered = report.render(outdir)
        print_summary(rendered, console)
        console.print(f"report: {outdir / 'report.md'}")
        return 0

    # kill unwinds as Ctrl-C does; a signal ignored at start (a background job's SIGINT) stays so
    previous = {s: signal.signal(s, _raise_interrupt) for s in INTERRUPTS
                if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        if not args.resume:
            meta = {"config": config, "plan": plan, "planned": len(plan), "command":
                    ["python", "-m", "jaxpar.compare"] + list(sys.argv[1:] if argv is None else argv),
                    "started": datetime.datetime.now().isoformat(timespec="seconds"),
                    "environment": environment()}
            meta["hardware"] = measure_hardware(config, console)
            meta["codesize"] = codesize.table(list(dict.fromkeys(s["workload"] for s in config["sweeps"])))
            tmp = outdir / "sweep.json.tmp"
            tmp.write_text(json.dumps(meta, indent=1))
            os.replace(tmp, outdir / "sweep.json")
            results.add_to_manifest(outdir, results.FILES)
            console.print(f"{len(plan)} configurations -> {outdir}")
        run_sweep(outdir, meta, console)
    except KeyboardInterrupt:
        console.print(f"\n[yellow]interrupted[/]: the records so far are in {outdir / 'results.jsonl'}; "
                      f"continue with: python -m jaxpar.compare --resume {outdir}")
        return 130
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    rendered = report.render(outdir)
    print_summary(rendered, console)
    console.print(f"results: {outdir}/results.jsonl, results.csv; report: {outdir / 'report.md'} "
                  f"({len(rendered.plots)} plots)")
    return 0 if all(r.get("status") == "ok" for r in results.load(outdir / "results.jsonl")) else 1


if __name__ == "__main__":
    sys.exit(main())
