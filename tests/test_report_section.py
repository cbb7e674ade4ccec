"""A workload's own section of the report is found through its problem definition
(Problem.report_section, "module:function"), never by the workload's name: the report
package imports no workload, and the collectives' latency section is the function the
collectives problem names, imported only when the report renders."""
import ast
import importlib
import json
import subprocess
import sys
import types
from pathlib import Path

from jaxpar import registry
from jaxpar.harness import report

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "jaxpar" / "harness" / "report"


def imported_names(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield from [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]


def test_the_report_package_imports_no_workload():
    files = sorted(REPORT.glob("*.py"))
    assert {p.name for p in files} >= {"__init__.py", "format.py", "tables.py", "plots.py", "sections.py"}
    assert not (ROOT / "jaxpar" / "harness" / "latency.py").exists()
    assert not (ROOT / "jaxpar" / "harness" / "report.py").exists()
    for path in files:
        for name in imported_names(path):
            parts = name.split(".")
            assert "latency" not in parts and "workloads" not in parts, (path.name, name)
            assert not set(parts) & set(registry.WORKLOADS), (path.name, name)
        assert "jaxpar.workloads" not in path.read_text(), path.name  # nor imports one by its path


def test_the_collectives_section_is_the_one_its_problem_names():
    path = registry.problem("collectives").report_section
    module, _, name = path.partition(":")
    assert module == "jaxpar.workloads.collectives.report" and name == "section"
    section = getattr(importlib.import_module(module), name)
    assert callable(section)
    assert report.workload_section("collectives") is section
    for workload in registry.WORKLOADS:
        named = registry.problem(workload).report_section
        assert (report.workload_section(workload) is None) == (named is None), workload
        if named:
            assert callable(report.workload_section(workload)), workload


def test_a_problem_stays_numpy_only_with_its_report_section():
    code = ("import sys, jaxpar.registry as r; [r.problem(w).report_section for w in r.WORKLOADS]; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib' "
            "or m.startswith(('jaxpar.harness', 'jaxpar.workloads.collectives.report'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def _results_dir(tmp_path, workload):
    """A results directory of one sweep of `workload` with no records."""
    meta = {"config": {"title": "t", "sweeps": [{"name": "s", "workload": workload, "scaling": "strong",
                                                 "repeats": 2, "warmup": 1}]},
            "hardware": {}, "planned": 0,
            "codesize": [{"workload": workload, "impl": "c_mpi", "paths": [], "error": "not counted"}]}
    (tmp_path / "sweep.json").write_text(json.dumps(meta))
    (tmp_path / "results.jsonl").write_text("")
    return tmp_path


def test_render_calls_the_section_the_problem_names(tmp_path, monkeypatch):
    calls = []

    def section(workload, records, outdir, save, fmt_time, markdown_table, Table):
        calls.append((workload, records, Path(outdir), save, fmt_time, markdown_table, Table))
        return ["## the fake section", ""], [Table("fake", ["a"])], []

    monkeypatch.setitem(sys.modules, "fake_report_section", types.SimpleNamespace(section=section))
    monkeypatch.setattr(registry.problem("collectives"), "report_section", "fake_report_section:section")
    out = _results_dir(tmp_path, "collectives")
    rendered = report.render(out)
    assert calls == [("collectives", [], out, report._save, report.fmt_time, report.markdown_table,
                      report.Table)]
    assert "## the fake section" in rendered.markdown and "fake" in [t.title for t in rendered.tables]
    assert "latency and bandwidth against message size" not in rendered.markdown

    monkeypatch.undo()  # the real one: the collectives' latency section
    text = report.render(_results_dir(tmp_path, "collectives")).markdown
    assert "## collectives: latency and bandwidth against message size" in text


def test_a_workload_without_a_section_gets_none(tmp_path):
    assert registry.problem("matmul").report_section is None
    text = report.render(_results_dir(tmp_path, "matmul")).markdown
    assert "latency and bandwidth against message size" not in text
