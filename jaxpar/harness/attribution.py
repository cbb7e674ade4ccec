"""Where the time goes: each verified run's measured time per time unit split into

  local   its busiest rank's local work (Problem.local_work) at the implementation's own
          measured kernel rate: the record's local_s, timed by the runner in the same run
          with the implementation's library (jaxpar/rank/localkernel.py);
  comm    the collectives the implementation issues (Problem.comm_seconds), priced by the
          collectives workload's α-β fits of its own transport, else the MPI ping-pong
          (jaxpar.harness.alphabeta.comm_model);
  rest    measured - local - comm: framework overhead, load imbalance, padding, idle
          time. Negative where communication overlapped with compute (or the model
          overprices it).

The three sum to the measured median by construction. The report's "Where the time
goes" section (jaxpar.harness.report) tabulates and plots the rows, and compares each
implementation with c_mpi in the same configuration (gap_sentences).
"""
from __future__ import annotations

import json

from jaxpar import registry
from jaxpar.harness import alphabeta

BASELINE = "c_mpi"   # the implementation every other is compared with


def split(record: dict, problem, comm_model) -> dict:
    """{"measured", "local", "comm", "rest", "model": local + comm, "of_model": measured /
    model} of a record's median time per time unit; comm, rest, model and of_model are None
    where the model cannot price the communication (no fits, no ping-pong)."""
    measured = record[problem.time_field]["median"]
    local = record["local_s"]
    comm = problem.comm_seconds(record, comm_model)
    if comm is None:
        return {"measured": measured, "local": local, "comm": None, "rest": None, "model": None,
                "of_model": None}
    model = local + comm
    return {"measured": measured, "local": local, "comm": comm, "rest": measured - local - comm,
            "model": model, "of_model": measured / model if model > 0 else None}


def rows(records, fits: dict, pingpong: dict | None) -> list[dict]:
    """One row per verified record of a workload without a ladder size that has local_s:
    the record's identity (id, workload, impl, algorithm, launch, transport, ranks, dtype,
    sizes, local_kernel), its split and the source of its communication's price."""
    out = []
    for r in records:
        if (r.get("status") != "ok" or r.get("local_s") is None
                or registry.problem(r["workload"]).ladder):
            continue
        model = alphabeta.comm_model(r, fits, pingpong)
        parts = split(r, registry.problem(r["workload"]), model)
        out.append({key: r.get(key) for key in ("id", "workload", "impl", "algorithm", "launch",
                                                "transport", "ranks", "dtype", "sizes",
                                                "local_kernel")}
                   | parts | {"comm_source": " + ".join(sorted(model.used)) or None})
    return out


def configuration(row) -> tuple:
    """What two rows must share to be compared: workload, P, dtype, sizes."""
    return row["workload"], row["ranks"], row["dtype"], json.dumps(row["sizes"], sort_keys=True)


def baseline_for(row, rows_: list[dict]) -> dict | None:
    """The c_mpi row (under mpirun) of row's configuration: the same algorithm where c_mpi
    has it, else the workload's first (jax_auto, which takes none, is priced as SUMMA;
    jax_mpi4jax's summa_allreduce stands beside c_mpi's summa)."""
    candidates = [c for c in rows_ if c["impl"] == BASELINE and c["launch"] == "mpirun"
                  and configuration(c) == configuration(row) and c["comm"] is not None]
    algorithms = registry.problem(row["workload"]).algorithms
    for algorithm in (row["algorithm"], algorithms[0] if algorithms else None):
        match = next((c for c in candidates if c["algorithm"] == algorithm), None)
        if match:
            return match
    return None


def gap(row, base) -> dict:
    """row against base, in percent of base's measured time: the total gap and the points
    each part contributes (local, comm, rest), which sum to it."""
    scale = 100 / base["measured"]
    return {"gap": (row["measured"] - base["measured"]) * scale,
            **{part: (row[part] - base[part]) * scale for part in ("local", "comm", "rest")}}
