"""Code-size counts (pygount SLOC, lizard complexity and tokens) and the one
mapping from (workload, implementation) to the files counted."""
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
                      "ccn_total": 4, "ccn_max": 3, "tokens": 35}


def test_c_fixture_counts():
    # sample.c: 8 code lines (pygount counts a line holding only "}" as empty, with the two blank
    # lines: 4); the block and line comments on lines of their own: 2 (the trailing /* below */
    # leaves its line code). clamp has two ifs (CCN 3), sum a for (CCN 2).
    # Tokens: clamp 35 (int clamp ( int v , int lo , int hi ) { if ( v < lo ) return lo ; if ( v > hi )
    # return hi ; return v ; }), sum 42; comments are not tokens.
    counts = codesize.count_file(FIXTURES / "sample.c")
    assert counts == {"files": 1, "sloc": 8, "comment_lines": 2, "blank_lines": 4, "functions": 2,
                      "ccn_total": 5, "ccn_max": 3, "tokens": 77}


def test_count_files_sums_and_takes_the_largest_complexity():
    total = codesize.count_files([FIXTURES / "sample.py", FIXTURES / "sample.c"])
    assert total == {"files": 2, "sloc": 16, "comment_lines": 4, "blank_lines": 8, "functions": 4,
                     "ccn_total": 9, "ccn_max": 3, "tokens": 112}


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
