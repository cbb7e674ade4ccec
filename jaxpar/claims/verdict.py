"""What every claim shares: the run it judges (Context), figures that carry their own
derivation, and the four verdicts.

A figure's value is never typed in: it is computed from its derivation by `compute`, the
same function that recomputes verdicts.json from results.jsonl and sweep.json
(docs/compare.md, "verdicts.json"). A derivation is a source or an operation:

  source     {"record": ID, "field": "time_per_step_s.median"}      a record's field
             {"codesize": {"workload": W, "impl": I, "field": "sloc"}}  sweep.json's counts
  operation  {"op": "value", "of": D}
             {"op": "ratio", "numerator": D, "denominator": D}
             {"op": "min" | "max" | "mean", "of": [D, ...]}

where each D is again a source or an operation.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from jaxpar import registry
from jaxpar.harness import results
from jaxpar.harness.attribution import configuration  # noqa: F401  (what two records share to be compared)

HOLDS, FAILS, MIXED, NOT_MEASURED = "holds", "does not hold", "mixed", "not measured"
VERDICTS = (HOLDS, FAILS, MIXED, NOT_MEASURED)
KERAS = "keras"       # Keras on JAX: judged apart from the JAX forms written by hand
C_MPI = "c_mpi"       # the C with MPI every claim is measured against
MPI4PY = "mpi4py"     # Python with MPI and numpy, without JAX: the control


class NotMeasured(Exception):
    """A claim cannot be judged from this run; the message is the reason, one line."""


@dataclass
class Context:
    """The run a claim judges: every record, the verified ones, the code-size counts of
    sweep.json and sweep.json itself."""
    records: list
    meta: dict
    ok: list = field(init=False)

    def __post_init__(self):
        self.ok = [r for r in self.records if r.get("status") == "ok"]
        self.by_id = {r["id"]: r for r in self.records}
        self.codesize = [c for c in self.meta.get("codesize") or [] if "error" not in c]
        self._derived = {}

    def derived(self, name: str, compute):
        """compute(), once per Context: what several claims derive from the same records."""
        if name not in self._derived:
            self._derived[name] = compute()
        return self._derived[name]

    def record(self, record_id: str) -> dict:
        if record_id not in self.by_id:
            raise NotMeasured(f"record {record_id} is not in results.jsonl")
        return self.by_id[record_id]

    def size_row(self, workload: str, impl: str) -> dict | None:
        return next((c for c in self.codesize if c["workload"] == workload and c["impl"] == impl), None)

    def failed(self, **match) -> list:
        """Records that match and did not verify (failed check, crash, timeout)."""
        return [r for r in self.records if r.get("status") != "ok"
                and all(r.get(k) == v for k, v in match.items())]

    def regime(self, records) -> str:
        """CPU model, cores, P and transports of the records a verdict rests on."""
        env = self.meta.get("environment") or {}
        ranks = sorted({r["ranks"] for r in records})
        transports = sorted({r.get("transport") or "?" for r in records})
        return (f"{env.get('cpu_model', '?')}, {env.get('cpu_count', '?')} cores; "
                f"P = {', '.join(map(str, ranks))}; {', '.join(transports)}")


# ---------------------------------------------------------------- derivations

def field_of(record: dict, path: str) -> dict:
    return {"record": record["id"], "field": path}


def size_of(workload: str, impl: str, path: str) -> dict:
    return {"codesize": {"workload": workload, "impl": impl, "field": path}}


def ratio(numerator: dict, denominator: dict) -> dict:
    return {"op": "ratio", "numerator": numerator, "denominator": denominator}


def value(of: dict) -> dict:
    return {"op": "value", "of": of}


def aggregate(op: str, of: list) -> dict:
    return {"op": op, "of": list(of)}


def dotted(obj, path: str):
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            raise NotMeasured(f"no field {path}")
        obj = obj[key]
    if not isinstance(obj, (int, float)) or isinstance(obj, bool):
        raise NotMeasured(f"field {path} is not a number: {obj!r}")
    return obj


def compute(derivation: dict, records_by_id: dict, codesize: list) -> float:
    """The value of a derivation, from the records (by id) and the code-size rows."""
    if "record" in derivation:
        if derivation["record"] not in records_by_id:
            raise NotMeasured(f"record {derivation['record']} is not in results.jsonl")
        return dotted(records_by_id[derivation["record"]], derivation["field"])
    if "codesize" in derivation:
        want = derivation["codesize"]
        row = next((c for c in codesize if c["workload"] == want["workload"]
                    and c["impl"] == want["impl"] and "error" not in c), None)
        if row is None:
            raise NotMeasured(f"no code-size count of {want['workload']}/{want['impl']}")
        return dotted(row, want["field"])
    op = derivation["op"]
    again = lambda d: compute(d, records_by_id, codesize)  # noqa: E731
    if op == "value":
        return again(derivation["of"])
    if op == "ratio":
        denominator = again(derivation["denominator"])
        if denominator == 0:
            raise NotMeasured("a ratio's denominator is zero")
        return again(derivation["numerator"]) / denominator
    values = [again(d) for d in derivation["of"]]
    return {"min": min, "max": max, "mean": statistics.fmean}[op](values)


@dataclass
class Verdict:
    claim: str
    quote: str
    measure: str
    section: str          # the report's section that backs it (a heading of report.md)
    verdict: str = NOT_MEASURED
    summary: str = ""
    regime: str = ""
    cause: str = ""
    deciding: str = ""    # the figure that decides it, in a few words (the verdicts table)
    figures: list = field(default_factory=list)

    def figure(self, ctx: Context, name: str, derivation: dict, unit: str) -> float:
        """Add a figure computed from its derivation; return its value."""
        number = compute(derivation, ctx.by_id, ctx.codesize)
        self.figures.append({"name": name, "value": number, "unit": unit, "from": derivation})
        return number

    def decide(self, outcomes: list[tuple[str, bool]]) -> str:
        """holds / does not hold / mixed from (configuration, held) pairs; the mixed text
        says in which configurations it holds."""
        held = [label for label, ok in outcomes if ok]
        if not outcomes:
            raise NotMeasured("no configuration to judge")
        self.verdict = (HOLDS if len(held) == len(outcomes) else FAILS if not held else MIXED)
        if self.verdict == MIXED:
            return f"holds in {len(held)} of {len(outcomes)}: {', '.join(held)}"
        return self.verdict

    def as_dict(self) -> dict:
        return {"claim": self.claim, "quote": self.quote, "measure": self.measure,
                "verdict": self.verdict, "summary": self.summary, "regime": self.regime,
                "cause": self.cause, "deciding": self.deciding, "section": self.section,
                "figures": self.figures}


def jax_forms(workload: str) -> list[str]:
    """The hand-written JAX implementations of a workload (JAX computes; Keras apart)."""
    return [e.impl for e in registry.ENTRIES if e.workload == workload
            and e.runtime in registry.JAX_RUNTIMES and e.impl != KERAS]


def time_of(record: dict) -> float:
    return results.time_summary(record)["median"]


def time_path(record: dict) -> str:
    return registry.problem(record["workload"]).time_field + ".median"


def timed_workloads(ctx: Context) -> list[str]:
    """The workloads of this run that have one problem size per record (not a ladder)."""
    return [w for w in dict.fromkeys(r["workload"] for r in ctx.records)
            if not registry.problem(w).ladder]


def span(values, spec=".3g") -> str:
    """'a' or 'a–b' for the range of values."""
    lo, hi = min(values), max(values)
    return f"{lo:{spec}}" if f"{lo:{spec}}" == f"{hi:{spec}}" else f"{lo:{spec}}–{hi:{spec}}"


def where(record: dict) -> str:
    """A record's configuration in a few words."""
    problem = registry.problem(record["workload"])
    algorithm = f"/{record['algorithm']}" if record.get("algorithm") else ""
    return (f"{record['workload']} {record['impl']}{algorithm} P = {record['ranks']} "
            f"{record['launch']} ({record.get('transport')}), {record['dtype']}, "
            f"{problem.size_label(record['sizes'])}")
