"""Code-size counts (pygount SLOC, lizard complexity and tokens), the regions marked in
the implementations, and the one mapping from (workload, implementation) to the files
counted."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jaxpar import registry
from jaxpar.harness import codesize
from jaxpar.harness.sweep import WORKLOADS

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "codesize"


def test_python_fixture_counts():
    # sample.py: code lines 4, 6-10, 13, 14; the docstring and the comment are documentation;
    # two blank pairs. sign() has an if and an elif (CCN 3), total() none (CCN 1).
    # Tokens: the docstring 1, sign 23 (def sign ( x ) : if x > 0 : return 1 elif x < 0 : return - 1
    # return 0), total 11 (def total ( values ) : return sum ( values )).
    counts = codesize.count_file(FIXTURES / "sample.py")
    assert counts == {"files": 1, "sloc": 8, "comment_lines": 2, "blank_lines": 4, "functions": 2,
                      "ccn_total": 4, "ccn_max": 3, "tokens": 35, "regions": {}}


def test_c_fixture_counts():
    # sample.c: 8 code lines (pygount counts a line holding only "}" as empty, with the two blank
    # lines: 4); the block and line comments on lines of their own: 2 (the trailing /* below */
    # leaves its line code). clamp has two ifs (CCN 3), sum a for (CCN 2).
    # Tokens: clamp 35 (int clamp ( int v , int lo , int hi ) { if ( v < lo ) return lo ; if ( v > hi )
    # return hi ; return v ; }), sum 42; comments are not tokens.
    counts = codesize.count_file(FIXTURES / "sample.c")
    assert counts == {"files": 1, "sloc": 8, "comment_lines": 2, "blank_lines": 4, "functions": 2,
                      "ccn_total": 5, "ccn_max": 3, "tokens": 77, "regions": {}}


def test_count_files_sums_and_takes_the_largest_complexity():
    total = codesize.count_files([FIXTURES / "sample.py", FIXTURES / "sample.c"])
    assert total == {"files": 2, "sloc": 16, "comment_lines": 4, "blank_lines": 8, "functions": 4,
                     "ccn_total": 9, "ccn_max": 3, "tokens": 112, "regions": {}}


def test_mapping_covers_every_workload_and_implementation_with_implementation_files_only():
    counted = {(e.workload, e.impl): codesize.files(e.workload, e.impl) for e in registry.ENTRIES}
    assert set(counted) == {(w, i) for w in WORKLOADS for i in registry.implementations(w)}
    for (workload, impl), paths in counted.items():
        for path in paths:
            assert (ROOT / path).is_file(), path
            assert not path.startswith(("jaxpar/harness/", "jaxpar/core/")) and Path(path).name not in (
                "api.py", "problem.py", "registry.py", "run.py", "compare.py", "main.c")
        if impl == "c_mpi":
            assert paths == [f"jaxpar/workloads/{workload}/c_mpi.c"] + codesize.C_HELPERS
        else:
            assert paths == [f"jaxpar/workloads/{workload}/{impl}.py"]
    # each Python implementation file is counted for exactly one (workload, impl)
    python_files = [p for paths in counted.values() for p in paths if p.endswith(".py")]
    assert len(python_files) == len(set(python_files))


def test_table_of_the_repository():
    rows = codesize.table(["matmul"])
    assert [r["impl"] for r in rows] == list(registry.implementations("matmul"))
    by_impl = {r["impl"]: r for r in rows}
    for row in rows:
        assert row["workload"] == "matmul" and "error" not in row
        assert row["sloc"] > 0 and row["tokens"] > 0 and row["functions"] >= 1
        assert row["ccn_max"] <= row["ccn_total"]
    # the C implementation counts its kernel and the shared C helpers
    assert by_impl["c_mpi"]["files"] == 1 + len(codesize.C_HELPERS)
    assert by_impl["c_mpi"]["sloc"] == sum(codesize.count_file(ROOT / p)["sloc"]
                                           for p in codesize.files("matmul", "c_mpi"))


def test_missing_sources_give_an_error_row(tmp_path):
    rows = codesize.table(["sgd"], root=tmp_path)
    assert len(rows) == len(registry.implementations("sgd"))
    assert all("not found" in r["error"] and "sloc" not in r for r in rows)


def test_unanalysable_file_is_an_error(tmp_path):
    binary = tmp_path / "blob.py"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(ValueError, match="pygount could not analyse"):
        codesize.count_file(binary)



# ---- regions ------------------------------------------------------------------------------

PYTHON_WITH_REGIONS = """

\"\"\"Two blank lines above: pygments drops leading newlines, the line numbers must not shift.\"\"\"
import os
# region: gradient (a few words of why)
x = 1

# a comment
y = \"\"\"two
lines\"\"\"
def f(a):
    return a  # trailing
# endregion
z = 2

# region: gradient
w = 3
# endregion
"""

C_WITH_REGIONS = """/* header */
#include <stdio.h>
/* region: halo (why) */
int f(int a) {
  /* inside */

  /* two
     lines */
  int b = a + 1;  /* trailing */
  return b;
}
/* endregion */
int g(void) { return 0; }
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_python_regions_count_code_lines_only(tmp_path):
    path = write(tmp_path, "sample.py", PYTHON_WITH_REGIONS)
    counts = codesize.count_file(path)
    # first region, lines 6-12: x = 1, y = (a string's first line), def f, return a: 4 code
    # lines; the blank line, the comment and the string's second line (a string-only line)
    # are not code. The second region, line 17: w = 3.
    assert counts["regions"] == {"gradient": {"sloc": 5, "lines": [[6, 12], [17, 17]]}}
    # the whole file: import, x, y, def, return, z, w
    assert counts["sloc"] == 7
    kinds = codesize.line_kinds(path)
    assert kinds[5:12] == ["c", "e", "d", "c", "s", "c", "c"]
    assert [kinds[i - 1] for i in (5, 13, 16, 18)] == ["d"] * 4  # the markers: comments


def test_c_regions_count_code_lines_only(tmp_path):
    path = write(tmp_path, "sample.c", C_WITH_REGIONS)
    counts = codesize.count_file(path)
    # lines 4-11: int f, int b, return b; a comment, a blank, a two-line comment and "}"
    # (empty for pygount) are not code
    assert counts["regions"] == {"halo": {"sloc": 3, "lines": [[4, 11]]}}
    assert counts["sloc"] == 5  # with #include and g


@pytest.mark.parametrize("text, message", [
    ("x = 1\n# region: halo\ny = 2\n", r":2: region 'halo' is never closed"),
    ("# region: halo\nx = 1\n# region: gradient\ny = 2\n# endregion\n# endregion\n",
     r":3: region 'gradient' opened inside region 'halo' \(opened at line 1\)"),
    ("x = 1\n# endregion\n", r":2: endregion with no region open"),
    ("# region: halo\n# endregion\n", r":1: region 'halo' is empty"),
    ("# region: halos\nx = 1\n# endregion\n", r":1: unknown region 'halos'"),
    ("# region:\nx = 1\n# endregion\n", r":1: a region marker needs a name"),
    ("# region: halo\nx = 1\n# endregion gradient\n", r":3: endregion 'gradient' closes region 'halo'"),
    ("# region: halo\nx = 1\n# endregion of the grid\n", r":3: an endregion marker takes at most"),
])
def test_malformed_python_markers_raise_naming_the_file_and_line(tmp_path, text, message):
    path = write(tmp_path, "bad.py", text)
    with pytest.raises(ValueError, match=re.escape(str(path)) + message):
        codesize.count_file(path)


@pytest.mark.parametrize("text, message", [
    ("int x;\n/* region: halo */ int y;\n/* endregion */\n", r":2: a region marker must be a comment line"),
    ("/* region: halo (a reason\n   on two lines) */\nint y;\n/* endregion */\n",
     r":1: a region marker must be a one-line comment"),
    ("int x;\n/* endregion */\n", r":2: endregion with no region open"),
])
def test_malformed_c_markers_raise_naming_the_file_and_line(tmp_path, text, message):
    path = write(tmp_path, "bad.c", text)
    with pytest.raises(ValueError, match=re.escape(str(path)) + message):
        codesize.count_file(path)


def test_ordinary_comments_that_mention_regions_are_not_markers(tmp_path):
    path = write(tmp_path, "ok.py", "# region of interest: the interior\n# regional\nx = 1\n")
    assert codesize.count_file(path)["regions"] == {}


def test_a_region_in_a_shared_c_helper_is_refused(tmp_path):
    for path in codesize.files("sgd", "c_mpi") + [codesize.files("sgd", i)[0]
                                                  for i in registry.implementations("sgd")]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    helper = tmp_path / codesize.C_HELPERS[-1]
    helper.write_text(helper.read_text() + "/* region: distribution */\nint extra;\n/* endregion */\n")
    with pytest.raises(ValueError, match="shared helper"):
        codesize.table(["sgd"], root=tmp_path)


SGD = registry.implementations("sgd")
STENCIL = registry.implementations("stencil")


def rows_of(workload):
    return {r["impl"]: r for r in codesize.table([workload])}


def region_text(row, name):
    lines = (ROOT / row["paths"][0]).read_text().splitlines()
    return [lines[i - 1] for first, last in row["regions"][name]["lines"] for i in range(first, last + 1)]


def test_sgd_gradient_regions():
    rows = rows_of("sgd")
    assert set(SGD) >= {"c_mpi", "mpi4py", "jax", "jax_pmap", "jax_auto", "jax_mpi4jax", "keras"}
    # derived by hand in C and numpy; one value_and_grad line in every JAX form; none in
    # Keras (fit does it), which reads 0 as the workload's other implementations mark one
    assert rows["c_mpi"]["regions"]["gradient"]["sloc"] > rows["mpi4py"]["regions"]["gradient"]["sloc"] > 1
    for impl in ("jax", "jax_pmap", "jax_auto", "jax_mpi4jax"):
        code = [line for line in region_text(rows[impl], "gradient") if not line.strip().startswith("#")]
        assert rows[impl]["regions"]["gradient"]["sloc"] == len(code) >= 1
        assert all("jax.value_and_grad(" in line or "jax.grad(" in line for line in code), code
    assert rows["keras"]["regions"]["gradient"] == {"sloc": 0, "lines": []}
    assert "gradient" not in codesize.count_file(ROOT / rows["keras"]["paths"][0])["regions"]


def test_every_sgd_implementation_marks_its_distribution():
    for impl, row in rows_of("sgd").items():
        assert row["regions"]["distribution"]["sloc"] > 0, impl
        assert "halo" not in row["regions"]
    keras = region_text(rows_of("sgd")["keras"], "distribution")
    assert any("DataParallel(" in line for line in keras)


def test_every_stencil_implementation_but_jax_auto_marks_its_halo():
    rows = rows_of("stencil")
    for impl, row in rows.items():
        if impl == "jax_auto":  # XLA's partitioner makes the halos: none in the source
            assert row["regions"]["halo"]["sloc"] == 0
        else:
            assert row["regions"]["halo"]["sloc"] > 0, impl
    assert set(rows["jax_auto"]["regions"]) == {"halo"}


def test_a_workload_with_no_regions_has_none_in_its_rows():
    assert all(r["regions"] == {} for r in codesize.table(["matmul"]))


MARKER_LINE = re.compile(r"^\s*(#|/\*)\s*(region:|endregion\b)")


@pytest.mark.parametrize("path", sorted({p for w in ("sgd", "stencil") for i in registry.implementations(w)
                                         for p in codesize.files(w, i)}))
def test_marker_lines_do_not_change_a_files_counts(tmp_path, path):
    text = (ROOT / path).read_text()
    lines = text.splitlines(keepends=True)
    unmarked = [line for line in lines if not MARKER_LINE.match(line)]
    stripped = tmp_path / Path(path).name
    stripped.write_text("".join(unmarked))
    with_markers, without = codesize.count_file(ROOT / path), codesize.count_file(stripped)
    for metric in ("sloc", "blank_lines", "functions", "ccn_total", "ccn_max", "tokens"):
        assert with_markers[metric] == without[metric], metric
    assert with_markers["comment_lines"] - without["comment_lines"] == len(lines) - len(unmarked)
    assert without["regions"] == {}


def test_regions_reach_the_saved_rows_and_the_cli():
    rows = json.loads(json.dumps(codesize.table(["sgd"])))  # as compare saves them in sweep.json
    field = "regions.gradient.sloc"
    for row in rows:
        value = row
        for key in field.split("."):
            value = value[key]
        assert isinstance(value, int)
    out = subprocess.run([sys.executable, "-m", "jaxpar.harness.codesize", "--workload", "stencil"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    printed = {r["impl"]: r for r in json.loads(out.stdout)}
    assert printed["c_mpi"]["regions"]["halo"]["sloc"] > 0
