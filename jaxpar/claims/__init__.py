"""The seed talk's claims (shared/seed-talk.txt), each turned into a measured verdict.

One module per claim: its id, the talk's words (QUOTE), the measure (MEASURE), the report
section that backs it (SECTION) and evaluate(ctx), which reads the run's records and
sweep.json's code-size counts and returns a Verdict whose figures carry their derivations
(claims/verdict.py). A claim reads the registry and the records, never a workload by name.
A claim that cannot be judged from this run (a failed or missing configuration, a measure
the sweep did not take) is "not measured", with the reason.

    python -m jaxpar.claims RESULTS_DIR         # the verdicts of a compare run, as JSON
    python -m jaxpar.claims RESULTS_DIR --check # recompute verdicts.json's figures

Adding a claim: a module here with ID, QUOTE, MEASURE, SECTION and evaluate(ctx), and one
line in CLAIMS (docs/architecture.md, "Adding a claim").
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from jaxpar.claims import (abstraction, autodiff, heavy, jit, keras_distribution, keras_speed,
                           matrix, numpy_speed, seamless, stateless, unmeasured)
from jaxpar.claims.verdict import VERDICTS, Context, NotMeasured, Verdict, compute

# In the talk's order of argument: what JAX is, JAX against C with MPI, Keras on JAX.
CLAIMS = (numpy_speed, matrix, jit, seamless, abstraction, autodiff, stateless, heavy,
          keras_speed, keras_distribution)
FILE = "verdicts.json"
# The talk, beside the repository as the project's shared/ folder (not shipped with jaxpar).
TALK = Path(__file__).resolve().parents[2].parent / "shared" / "seed-talk.txt"


def evaluate(records: list, meta: dict) -> list[dict]:
    """Every claim's verdict on one compare run (results.jsonl's records, sweep.json)."""
    ctx = Context(records, meta)
    out = []
    for claim in CLAIMS:
        try:
            v = claim.evaluate(ctx)
        except NotMeasured as reason:
            v = Verdict(claim.ID, claim.QUOTE, claim.MEASURE, claim.SECTION,
                        summary=f"Not measured: {reason}.", deciding="—")
        out.append(v.as_dict())
    out += [v.as_dict() for v in unmeasured.verdicts(ctx)]
    return out


def recompute(verdicts: list, records: list, meta: dict, rel: float = 1e-12) -> list[str]:
    """The figures of verdicts (verdicts.json's list) whose value does not recompute from
    the records and sweep.json by their derivation; [] when all do."""
    ctx = Context(records, meta)
    wrong = []
    for v in verdicts:
        if v["verdict"] not in VERDICTS:
            wrong.append(f"{v['claim']}: unknown verdict {v['verdict']!r}")
        for figure in v["figures"]:
            try:
                again = compute(figure["from"], ctx.by_id, ctx.codesize)
            except NotMeasured as reason:
                wrong.append(f"{v['claim']}: {figure['name']}: {reason}")
                continue
            if not math.isclose(again, figure["value"], rel_tol=rel, abs_tol=0):
                wrong.append(f"{v['claim']}: {figure['name']}: {figure['value']} recomputes as {again}")
    return wrong


def load(outdir) -> tuple[list, dict]:
    from jaxpar.harness import results

    outdir = Path(outdir)
    return results.load(outdir / "results.jsonl"), json.loads((outdir / "sweep.json").read_text())


def write(outdir, verdicts: list) -> Path:
    path = Path(outdir) / FILE
    path.write_text(json.dumps(verdicts, indent=1) + "\n")
    return path


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m jaxpar.claims",
                                     description="The talk's claims judged on a compare run.")
    parser.add_argument("results", help="a results directory of python -m jaxpar.compare")
    parser.add_argument("--check", action="store_true",
                        help=f"recompute every figure of its {FILE} from results.jsonl and sweep.json")
    args = parser.parse_args(argv)
    try:
        records, meta = load(args.results)
    except (OSError, ValueError) as error:
        print(f"error: {args.results}: {error}", file=sys.stderr)
        return 2
    if args.check:
        try:
            verdicts = json.loads((Path(args.results) / FILE).read_text())
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        wrong = recompute(verdicts, records, meta)
        print("\n".join(wrong) or f"every figure of {FILE} recomputes "
              f"({sum(len(v['figures']) for v in verdicts)} figures)")
        return 1 if wrong else 0
    print(json.dumps(evaluate(records, meta), indent=1))
    return 0
