"""Peak memory per rank: what the runner records around the warm-up and timed repeats.

Per process (a rank, or the one process of a single-process JAX run with all its
devices), from Linux's /proc/self/status:

  rss_before_run_bytes     VmRSS just before the first warm-up repeat;
  peak_rss_run_bytes       VmHWM after the last repeat, the high-water mark having been
                           reset to the current RSS before the first (writing "5" to
                           /proc/self/clear_refs, Linux >= 4.0): the peak during the runs;
  rss_after_run_bytes      VmRSS after the last repeat (what the runs left allocated);
  peak_rss_process_bytes   the process's peak since it started: the largest high-water
                           mark read in it, before each reset and after each window.

Where /proc cannot be read or the reset fails, method is "getrusage": the peak is
resource.getrusage's ru_maxrss, the process's peak so far, an upper bound on the runs'
peak (rss_before_run_bytes and rss_after_run_bytes are then null where /proc is missing).

XLA's own figures, where JAX has them: device.memory_stats() of each of the process's
devices before and after the runs (None on CPU; the allocator's peak_bytes_in_use spans the
process's life, XLA has no reset); the compiled kernel's memory_analysis() is kept by
jaxpar.core.jaxenv in the PreparedRun's details["xla_memory"].
"""
from __future__ import annotations

import resource
import sys

STATUS = "/proc/self/status"
CLEAR_REFS = "/proc/self/clear_refs"
PROC, RUSAGE = "proc_clear_refs", "getrusage"   # the record's "method"
DEVICE_STATS = ("bytes_in_use", "peak_bytes_in_use", "bytes_limit")


def status_bytes(path=STATUS) -> dict | None:
    """{"VmRSS": bytes, "VmHWM": bytes} of this process, None where path cannot be read
    or lacks either line."""
    values = {}
    try:
        with open(path) as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    number, unit = rest.split()  # "  123456 kB"
                    values[key] = int(number) * (1024 if unit == "kB" else 1)
    except (OSError, ValueError):
        return None
    return values if len(values) == 2 else None


def maxrss_bytes() -> int:
    """resource.getrusage's ru_maxrss in bytes (Linux reports KiB, macOS bytes)."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024


_process_peak = 0  # the largest high-water mark read in this process, across its resets


def _seen(nbytes: int) -> int:
    """The process's peak so far, given one more reading of it."""
    global _process_peak
    _process_peak = max(_process_peak, nbytes)
    return _process_peak


class Window:
    """start() before the runs, stop() after: this process's peak RSS in between.

        window = Window().start()
        ... run ...
        per_rank = window.stop()

    The kernel's RSS counters are per-CPU and read approximately: two readings of the same
    amount can differ by a few pages.
    """

    def __init__(self, status=STATUS, clear_refs=CLEAR_REFS):
        self.status, self.clear_refs = status, clear_refs
        self.method = self.before = None

    def start(self) -> "Window":
        first = status_bytes(self.status)
        self.method, self.before = RUSAGE, None if first is None else first["VmRSS"]
        if first is not None:
            _seen(first["VmHWM"])  # the mark the reset drops
            try:
                with open(self.clear_refs, "w") as out:
                    out.write("5")  # VmHWM := VmRSS
                reset = status_bytes(self.status)
            except OSError:  # no such file, not writable, or a kernel before 4.0 (EINVAL)
                reset = None
            # a reset mark is the current RSS: it dropped, or it was there already
            if reset is not None and (reset["VmHWM"] < first["VmHWM"] or first["VmHWM"] <= reset["VmRSS"]):
                self.method, self.before = PROC, reset["VmRSS"]
        return self

    def stop(self) -> dict:
        now = status_bytes(self.status)
        method = self.method if now is not None else RUSAGE
        if method == PROC:  # at least the RSS it started from (the counters are approximate)
            peak = max(now["VmHWM"], self.before)
            process = _seen(peak)
        else:  # the process's peak so far (ru_maxrss misses what a reset dropped): an upper bound
            process = peak = _seen(max(maxrss_bytes(), 0 if now is None else now["VmHWM"]))
        return {"method": method,
                "rss_before_run_bytes": self.before,
                "peak_rss_run_bytes": peak,
                "rss_after_run_bytes": None if now is None else now["VmRSS"],
                "peak_rss_process_bytes": process}


def device_stats(devices) -> list | None:
    """device.memory_stats() of each device (its id and the DEVICE_STATS it reports), or
    None where no device reports any (JAX on CPU)."""
    stats = []
    for device in devices:
        reported = device.memory_stats() or {}
        stats.append({"id": device.id, **{k: int(reported[k]) for k in DEVICE_STATS if k in reported}})
    return stats if any(len(s) > 1 for s in stats) else None


def device_window(before, after) -> list | None:
    """The devices' stats after the runs, each with its bytes_in_use before them."""
    if after is None:
        return None
    ahead = {s["id"]: s.get("bytes_in_use") for s in before or ()}
    return [{**s, "bytes_in_use_before_run": ahead.get(s["id"])} for s in after]


def record(per_rank: list, devices_per_process: int, min_bytes_per_rank, device_stats_per_rank) -> dict:
    """The record's "memory": every process's Window.stop() (per_rank, in rank order), their
    maxima, and the workload's minimum per rank (Problem.min_memory_bytes, None where it
    gives none). A process of a single-process JAX run holds devices_per_process devices'
    data: its figures are the process's, not one device's."""
    methods = {r["method"] for r in per_rank}
    growth = [r["peak_rss_run_bytes"] - r["rss_before_run_bytes"] for r in per_rank
              if r["rss_before_run_bytes"] is not None]
    stats = None if all(s is None for s in device_stats_per_rank) else device_stats_per_rank
    return {"method": PROC if methods == {PROC} else RUSAGE,
            "per_rank": per_rank,
            "max_peak_rss_run_bytes": max(r["peak_rss_run_bytes"] for r in per_rank),
            "max_run_growth_bytes": max(growth) if len(growth) == len(per_rank) else None,
            "min_bytes_per_rank": None if min_bytes_per_rank is None else int(min_bytes_per_rank),
            "devices_per_process": devices_per_process,
            "xla_device_stats": stats}
