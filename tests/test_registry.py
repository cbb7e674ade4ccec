"""The layout rule, proved by walking the registry: for every workload x
implementation x algorithm, the implementation's file exists where the rule
says, code size counts it, the CLIs offer it, and it runs (verified) in the
quick sweep. Also: nothing outside the workload folders branches on a
workload's name, and the registry imports neither MPI nor JAX."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jaxpar import registry
from jaxpar.harness import codesize, results, sweep

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = [pytest.param(e, id=f"{e.workload}-{e.impl}") for e in registry.ENTRIES]


def test_registry_is_consistent():
    keys = [(e.workload, e.impl) for e in registry.ENTRIES]
    assert len(keys) == len(set(keys)), "an implementation is listed twice"
    for e in registry.ENTRIES:
        problem = registry.problem(e.workload)
        assert problem.name == e.workload
        assert set(e.algorithms) <= set(problem.algorithms), e
        assert e.runtime in registry.RUNTIMES
        assert set(e.launch_modes) <= set(sweep.LAUNCH_MODES) and "mpirun" in e.launch_modes
        assert problem.weak_size in problem.sizes and problem.tolerance.keys() == {"float32", "float64"}
    with pytest.raises(ValueError, match="unknown workload 'fft'"):
        registry.problem("fft")
    with pytest.raises(ValueError, match="unknown implementation 'fortran' of matmul"):
        registry.entry("matmul", "fortran")


@pytest.mark.parametrize("e", ENTRIES)
def test_file_exists_where_the_layout_rule_says(e):
    module = ROOT / "jaxpar" / "workloads" / e.workload / f"{e.impl}.py"
    assert module.is_file(), module
    assert f"def prepare(" in module.read_text(), f"{module} has no prepare()"
    assert (ROOT / "jaxpar" / "workloads" / e.workload / "problem.py").is_file()


@pytest.mark.parametrize("e", ENTRIES)
def test_code_size_counts_it(e):
    row = next(r for r in codesize.table([e.workload]) if r["impl"] == e.impl)
    assert "error" not in row and row["sloc"] > 0, row
    c_source = ROOT / "jaxpar" / "workloads" / e.workload / f"{e.impl}.c"
    own = f"jaxpar/workloads/{e.workload}/{e.impl}.{'c' if c_source.is_file() else 'py'}"
    assert row["paths"][0] == own


def test_every_implementation_is_a_cli_choice():
    for workload in registry.WORKLOADS:
        out = subprocess.run([sys.executable, "-m", "jaxpar.run", workload, "--help"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        text = " ".join(out.stdout.split())
        assert "one of: " + ", ".join(registry.implementations(workload)) in text
        for key in registry.problem(workload).sizes:
            assert "--" + key.replace("_", "-") in text
    out = subprocess.run([sys.executable, "-m", "jaxpar.compare", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert ", ".join(registry.IMPLEMENTATIONS) in " ".join(out.stdout.split())


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick") / "results"
    proc = subprocess.run([sys.executable, "-m", "jaxpar.compare", "--quick", "--output", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    return proc, out


@pytest.mark.parametrize("e", ENTRIES)
def test_it_runs_verified_in_the_quick_sweep(e, quick):
    proc, out = quick
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = results.load(out / "results.jsonl")
    for algorithm in e.algorithms or [None]:
        mine = [r for r in records if (r["workload"], r["impl"], r["algorithm"]) ==
                (e.workload, e.impl, algorithm)]
        assert {r["ranks"] for r in mine} == {1, 2}, (e, algorithm)
        assert all(r["status"] == "ok" and r["verified"] for r in mine), mine


def test_no_branch_on_a_workload_name_outside_the_workload_folders():
    pattern = re.compile(r"""workload *== *['"]""")
    found = [f"{path}:{n}" for path in (ROOT / "jaxpar").rglob("*.py")
             if "workloads" not in path.relative_to(ROOT).parts
             for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, found
    names = "|".join(registry.WORKLOADS)
    quoted = re.compile(rf"""['"]({names})['"]""")
    report = sorted(p.relative_to(ROOT / "jaxpar").as_posix()
                    for p in (ROOT / "jaxpar/harness/report").glob("*.py"))
    assert "harness/report/__init__.py" in report and len(report) > 1, report
    for part in ("run.py", "api.py", "harness/sweep.py", *report, "harness/launch.py",
                 "harness/results.py", "harness/stats.py", "compare.py"):
        text = (ROOT / "jaxpar" / part).read_text()
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        code = re.sub(r'""".*?"""', "", code, flags=re.S)  # docstrings may show examples
        assert not quoted.search(code), (part, quoted.search(code).group(0))


def test_registry_and_problems_import_neither_mpi_nor_jax():
    code = ("import sys, jaxpar.registry as r; [r.problem(w) for w in r.WORKLOADS]; "
            "import jaxpar.harness.sweep, jaxpar.harness.codesize; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mpi4py', 'jax', 'jaxlib')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
