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

Regions: a counted file may mark lines that serve one concern, to count them
apart, between comment-only marker lines (which add no SLOC):

    # region: gradient (a few words of why)        /* region: halo */
    ...                                            ...
    # endregion                                    /* endregion */

The names are REGION_NAMES: `gradient` (the code that computes the gradient:
derived by hand in C and numpy, jax.value_and_grad in JAX, none in Keras,
whose fit does it), `halo` (the ghost cells: the halo'd buffers, their
datatypes, the exchange, the bookkeeping of which neighbour exists) and
`distribution` (what a one-device version of the same program would not
have: the ranks' or devices' set-up (communicator rank and size, devices,
mesh, shardings, placement, DataParallel), the lines that compute a rank's or
device's share of the work (its offset, extent, row indices, the mask of its
padding), the collectives and the buffers or packing that exist for them;
not the lines that merely use a share, such as a loop over its rows, nor the
lines that only pass a communicator or mesh along). A file may hold several
regions of one name; they add up. A region's SLOC is pygount's code-line
count of exactly its lines: pygount's own classification of each line of the
whole file (so a line inside a multi-line string or comment counts as it does
for the file), comments and blank lines not counted. Markers are one-line
comments of their own; a region never closed, a region opened inside another,
an endregion with no region, an empty region, a marker sharing its line with
code and an unknown name raise a ValueError naming the file and line.

Each row of table() carries "regions": {name: {"sloc": N, "lines": [[first,
last], ...]}}, first and last being the 1-based lines of each region's body
(the markers excluded) in the implementation's own file, paths[0]. The shared
C helpers may carry no regions: they are counted for every workload's C
implementation. Within a workload, a name that any of its implementations
marks appears in all of its rows: sloc 0 and no lines where an implementation
has no region of it (Keras's gradient, jax_auto's halo); a name that none of
a workload's implementations marks is absent from its rows (matmul's).
"""
from __future__ import annotations

import argparse
import json
import re
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
        "jaxpar/core (block formula, result gather, JAX runtime, C loader), the API and the harness. "
        "Regions (regions.<name>.sloc): the SLOC between comment-only `region: <name>` ... `endregion` "
        "markers in the implementation's own file: gradient (derived by hand, or the jax.grad line), "
        "halo (halo'd buffers, datatypes, exchange, neighbour bookkeeping), distribution (what a "
        "one-device version would not have: rank/device set-up, mesh, shardings, placement, the "
        "computation of each rank's share, the collectives and their packing); 0 where an "
        "implementation has none of a name that others of its workload mark.")


def files(workload: str, impl: str, root=ROOT) -> list[str]:
    """The files counted for one implementation, relative to the repository root."""
    base = f"{WORKLOADS_DIR}/{workload}/{impl}"
    if (Path(root) / f"{base}.c").is_file():
        return [f"{base}.c"] + C_HELPERS
    return [f"{base}.py"]


METRICS = ("files", "sloc", "comment_lines", "blank_lines", "functions", "ccn_total", "ccn_max",
           "tokens")
REGION_NAMES = ("gradient", "halo", "distribution")

# A marker line: a comment of its own, `# region: NAME ...`, `/* region: NAME ... */` (or //),
# `# endregion`, `/* endregion */`, optionally naming the region it closes (`endregion NAME`).
_MARKER = re.compile(r"^\s*(?:#|//|/\*)\s*(?P<kind>region:|endregion\b)(?P<rest>.*)$")
_REGION_NAME = re.compile(r"^\s*(?P<name>\w+)")
_ENDREGION_NAME = re.compile(r"^\s*(?::\s*)?(?P<name>\w+)?\s*$")


def line_kinds(path) -> list[str]:
    """pygount's classification of every line of a file: "c" code, "d" documentation
    (comments, docstrings), "s" only strings, "e" empty; the one its SLOC count sums.

    pygount exposes only the totals, so this runs its per-line pass (its lexer and
    pygount.analysis._line_parts, with the lexer keeping leading blank lines so that the
    lines stay aligned) and checks that the code lines add up to SourceAnalysis's count.
    """
    from pygount import SourceAnalysis, analysis

    path = Path(path)
    source = SourceAnalysis.from_file(str(path), "jaxpar")
    if source.state.name != "analyzed":
        raise ValueError(f"pygount could not analyse {path}: {source.state.name}")
    with open(path, encoding=analysis.encoding_for(str(path), "automatic", "cp1252")) as f:
        text = f.read()
    lexer = analysis.guess_lexer(str(path), text)
    lexer.stripnl = False
    try:
        parts = list(analysis._line_parts(lexer, text, is_markup=analysis.is_markup_file(str(path))))
    except (AttributeError, TypeError) as error:
        raise RuntimeError(f"this pygount ({error}) has no per-line classification that "
                           "jaxpar.harness.codesize can use for regions") from error
    kinds = []
    for marks in parts:
        kind = "e"
        for mark in ("d", "s", "c"):  # pygount's precedence: code over string over comment
            if mark in marks:
                kind = mark
        kinds.append(kind)
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = normalised.count("\n") + (0 if normalised.endswith("\n") or not normalised else 1)
    kinds += ["e"] * (lines - len(kinds))  # pygments drops trailing blank lines: empty
    if len(kinds) != lines or kinds.count("c") != source.code_count:
        raise RuntimeError(f"pygount's per-line classification of {path} ({len(kinds)} lines, "
                           f"{kinds.count('c')} of code) disagrees with its file count ({lines} "
                           f"lines, {source.code_count} of code)")
    return kinds


def regions(path, kinds=None) -> dict:
    """The regions marked in one file: {name: {"sloc": N, "lines": [[first, last], ...]}},
    first and last the 1-based lines of each region's body, between its marker lines;
    sloc, the code lines among them (kinds: line_kinds(path), computed if not given)."""
    path = Path(path)
    kinds = line_kinds(path) if kinds is None else kinds
    text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    found: dict = {}
    open_name, open_line = None, None
    for number, line in enumerate(text.split("\n")[:len(kinds)], start=1):
        marker = _MARKER.match(line)
        if marker is None:
            continue
        where = f"{path}:{number}"
        if kinds[number - 1] != "d":
            raise ValueError(f"{where}: a region marker must be a comment line of its own, "
                             f"with no code on it: {line.strip()!r}")
        if line.lstrip().startswith("/*") and not line.rstrip().endswith("*/"):
            raise ValueError(f"{where}: a region marker must be a one-line comment "
                             f"(/* ... */ on one line): {line.strip()!r}")
        rest = marker["rest"].rstrip().removesuffix("*/")
        if marker["kind"] == "region:":
            named = _REGION_NAME.match(rest)
            if named is None:
                raise ValueError(f"{where}: a region marker needs a name, `region: NAME`: "
                                 f"{line.strip()!r}")
            name = named["name"]
            if name not in REGION_NAMES:
                raise ValueError(f"{where}: unknown region {name!r}; the names are "
                                 f"{', '.join(REGION_NAMES)}")
            if open_name is not None:
                raise ValueError(f"{where}: region {name!r} opened inside region {open_name!r} "
                                 f"(opened at line {open_line}); regions do not nest")
            open_name, open_line = name, number
        else:
            if open_name is None:
                raise ValueError(f"{where}: endregion with no region open")
            closing = _ENDREGION_NAME.match(rest)
            if closing is None:
                raise ValueError(f"{where}: an endregion marker takes at most the region's name: "
                                 f"{line.strip()!r}")
            closing = closing["name"]
            if closing is not None and closing != open_name:
                raise ValueError(f"{where}: endregion {closing!r} closes region {open_name!r} "
                                 f"(opened at line {open_line})")
            first, last = open_line + 1, number - 1
            if first > last:
                raise ValueError(f"{path}:{open_line}: region {open_name!r} is empty")
            entry = found.setdefault(open_name, {"sloc": 0, "lines": []})
            entry["sloc"] += kinds[first - 1:last].count("c")
            entry["lines"].append([first, last])
            open_name, open_line = None, None
    if open_name is not None:
        raise ValueError(f"{path}:{open_line}: region {open_name!r} is never closed (no endregion)")
    return found


def count_file(path) -> dict:
    """SLOC, comment and blank lines (pygount); functions, cyclomatic complexity, tokens
    (lizard); the marked regions (regions()).

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
            "tokens": info.token_count, "regions": regions(path)}


def count_files(paths) -> dict:
    """count_file() summed over files; the regions' sloc summed and their lines listed in
    the order of the files (each line number within its own file)."""
    counts = [count_file(p) for p in paths]
    total = {m: sum(c[m] for c in counts) for m in METRICS}
    total["ccn_max"] = max((c["ccn_max"] for c in counts), default=0)
    total["regions"] = {}
    for c in counts:
        for name, region in c["regions"].items():
            entry = total["regions"].setdefault(name, {"sloc": 0, "lines": []})
            entry["sloc"] += region["sloc"]
            entry["lines"] += region["lines"]
    return total


def table(workloads=None, root=ROOT) -> list[dict]:
    """One row per (workload, implementation): the counted files and their metrics, with
    "regions" (see the module docstring: every name that any implementation of the
    workload marks, 0 where this one has none of it).

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
            for helper in counted[1:]:
                if marked := regions(Path(root) / helper):
                    raise ValueError(f"{helper} marks regions ({', '.join(marked)}): it is a shared "
                                     "helper, counted for every workload's C implementation; mark "
                                     f"them in {counted[0]}")
            row.update(count_files(Path(root) / f for f in counted))
        rows.append(row)
    # a name marked in one implementation of a workload is 0 in the others
    for workload in dict.fromkeys(r["workload"] for r in rows):
        counted_rows = [r for r in rows if r["workload"] == workload and "regions" in r]
        names = {name for r in counted_rows for name in r["regions"]}
        for r in counted_rows:
            r["regions"] = {name: r["regions"].get(name, {"sloc": 0, "lines": []})
                            for name in REGION_NAMES if name in names}
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m jaxpar.harness.codesize",
                                     description="Code size of each implementation, as JSON.")
    parser.add_argument("--workload", action="append", help="only this workload (repeatable)")
    args = parser.parse_args(argv)
    print(json.dumps(table(args.workload), indent=1))


if __name__ == "__main__":
    main()
