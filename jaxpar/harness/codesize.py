"""Code size of each implementation: SLOC (pygount), cyclomatic complexity and
tokens (lizard), counted on exactly the files that implement a workload in a
programming model, and nothing of the harness.

    python -m jaxpar.harness.codesize          # the table, as JSON

What is not counted, for any model: the public API and data placement
(jaxpar/api.py, jaxpar/sgd_api.py), the cffi binding of the C library
(jaxpar/c_mpi.py), the standalone C drivers (mpi_c/*_main.c) and the harness.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (workload, implementation) -> the files that implement it, relative to the repository root.
# The C implementations include mpi_c/common.c: the gemm and MPI-type helpers they call
# (the whole file is counted, including a small version helper they do not use).
FILES = {
    ("matmul", "c_mpi"): ["mpi_c/matmul.c", "mpi_c/common.c"],
    ("matmul", "mpi4py"): ["jaxpar/impl/matmul/numpy_mpi4py.py"],
    ("matmul", "jax"): ["jaxpar/impl/matmul/jax_shard_map.py"],
    ("matmul", "jax_pmap"): ["jaxpar/impl/matmul/jax_pmap.py"],
    ("matmul", "jax_auto"): ["jaxpar/impl/matmul/jax_auto.py"],
    ("sgd", "c_mpi"): ["mpi_c/sgd.c", "mpi_c/common.c"],
    ("sgd", "mpi4py"): ["jaxpar/impl/sgd/numpy_mpi4py.py"],
    ("sgd", "jax"): ["jaxpar/impl/sgd/jax_shard_map.py"],
    ("sgd", "jax_pmap"): ["jaxpar/impl/sgd/jax_pmap.py"],
    ("sgd", "jax_auto"): ["jaxpar/impl/sgd/jax_auto.py"],
}
NOTE = ("Counted files only: c_mpi is mpi_c/<workload>.c plus mpi_c/common.c (the shared gemm and "
        "MPI-type helpers it calls); the Python models are the one file in "
        "jaxpar/impl/<workload>/. Not counted for any model: jaxpar/api.py and jaxpar/sgd_api.py "
        "(data placement), jaxpar/c_mpi.py (cffi binding), mpi_c/*_main.c and the harness.")

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
    for (workload, impl), files in FILES.items():
        if workload not in (workloads or [workload]):
            continue
        row = {"workload": workload, "impl": impl, "paths": files}
        missing = [f for f in files if not (Path(root) / f).is_file()]
        if missing:
            row["error"] = f"not found under {root}: {', '.join(missing)}"
        else:
            row.update(count_files(Path(root) / f for f in files))
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
