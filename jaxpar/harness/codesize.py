"""Code size of each implementation: SLOC (pygount), cyclomatic complexity and
tokens (lizard), counted on exactly what a user of that programming model
writes to get the job done, and nothing of the shared plumbing.

    python -m jaxpar.harness.codesize          # the table, as JSON

The counted files follow from the layout rule of jaxpar/registry.py, not from
a hand-kept table. For implementation IMPL of workload W:

* a C implementation (W/IMPL.c exists) counts W/IMPL.c and the shared C
  helpers it includes, jaxpar/csrc/real.h and jaxpar/csrc/common.c (typed BLAS
  calls, the block partition);
* any other counts W/IMPL.py: the kernel and the distribution it needs (for
  JAX, the mesh, the zero-padding and the placement on devices; for mpi4py,
  the block slicing).

Not counted for any model: the Python binding of a C implementation
(W/IMPL.py beside W/IMPL.c: cffi, which a C user does not write), the
standalone C drivers (W/main.c), the problem definitions, jaxpar/core (block
formula, gather of results, the JAX runtime, the C library loader), the API
and the harness.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from jaxpar import registry

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS_DIR = "jaxpar/workloads"
C_HELPERS = ["jaxpar/csrc/real.h", "jaxpar/csrc/common.c"]
NOTE = ("Counted, by the layout rule: for a C implementation, jaxpar/workloads/<workload>/<impl>.c "
        "plus the shared C helpers it includes (" + ", ".join(C_HELPERS) + ": typed BLAS calls, the "
        "block partition); for every other, jaxpar/workloads/<workload>/<impl>.py, with the mesh, "
        "padding and placement (JAX) or block slicing (mpi4py) it needs. Not counted for any model: "
        "the cffi binding of a C kernel, the C drivers (main.c), the problem definitions, "
        "jaxpar/core (block formula, result gather, JAX runtime, C loader), the API and the harness.")


def files(workload: str, impl: str, root=ROOT) -> list[str]:
    """The files counted for one implementation, relative to the repository root."""
    base = f"{WORKLOADS_DIR}/{workload}/{impl}"
    if (Path(root) / f"{base}.c").is_file():
        return [f"{base}.c"] + C_HELPERS
    return [f"{base}.py"]


METRICS = ("files", "sloc", "comment_lines", "blank_lines", "functions", "ccn_total", "ccn_max",
           "tokens")


def count_file(path) -> dict:
    """SLOC, comment and blank lines (pygount); functions, cyclomatic complexity, tokens (lizard).

    ccn_total sums the functions' complexities (a file without functions counts 0); tokens
    are lizard's count for the whole file, comments excluded.
    """
    import lizard
    from pygount import SourceAnalysis

    path = Path(path)
    source = SourceAnalysis.from_file(str(path), "jaxpar")
    if source.state.name != "analyzed":
        raise ValueError(f"pygount could not analyse {path}: {source.state.name}")
    info = lizard.analyze_file(str(path))
    ccns = [f.cyclomatic_complexity for f in info.function_list]
    return {"files": 1, "sloc": source.code_count,
            "comment_lines": source.documentation_count, "blank_lines": source.empty_count,
            "functions": len(ccns), "ccn_total": sum(ccns), "ccn_max": max(ccns, default=0),
            "tokens": info.token_count}


def count_files(paths) -> dict:
    counts = [count_file(p) for p in paths]
    total = {m: sum(c[m] for c in counts) for m in METRICS}
    total["ccn_max"] = max((c["ccn_max"] for c in counts), default=0)
    return total


def table(workloads=None, root=ROOT) -> list[dict]:
    """One row per (workload, implementation): the counted files and their metrics.

    A row whose files are missing (an installed package without the C sources)
    carries "error" instead of metrics.
    """
    rows = []
    for entry in registry.ENTRIES:
        workload, impl = entry.workload, entry.impl
        if workload not in (workloads or [workload]):
            continue
        counted = files(workload, impl, root)
        row = {"workload": workload, "impl": impl, "paths": counted}
        missing = [f for f in counted if not (Path(root) / f).is_file()]
        if missing:
            row["error"] = f"not found under {root}: {', '.join(missing)}"
        else:
            row.update(count_files(Path(root) / f for f in counted))
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m jaxpar.harness.codesize",
                                     description="Code size of each implementation, as JSON.")
    parser.add_argument("--workload", action="append", help="only this workload (repeatable)")
    args = parser.parse_args(argv)
    print(json.dumps(table(args.workload), indent=1))


if __name__ == "__main__":
    main()
