"""The results of a sweep on disk: results.jsonl (one record per configuration,
appended atomically) and results.csv (the same records, flattened).

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
    "core_gemm_gflops": lambda r: r.get("core_gemm_gflops"),
    "verified": lambda r: r.get("verified"),
    "max_rel_error": max_error,
    "tolerance": lambda r: r.get("tolerance"),
    "final_loss": lambda r: r.get("final_loss"),
    "wall_s": lambda r: r.get("wall_s"),
    "sweeps": lambda r: " ".join(r.get("sweeps", [])),
    "label": lambda r: r.get("label"),
    "error": lambda r: r.get("error"),
}


def write_csv(path, records) -> None:
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for r in records:
            writer.writerow(["" if (v := get(r)) is None else v for get in COLUMNS.values()])
    os.replace(tmp, path)
