"""python -m jaxpar.compare end to end: a tiny real sweep (mpirun and single-process
JAX launches), its outputs, faults injected into real runs, kill and resume,
and the validation of configs and flags. Not MPI-marked: every configuration
is its own mpirun, launched by the command under test."""
import csv
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from jaxpar import compare, registry
from jaxpar import registry
from jaxpar.harness import results, stats, sweep
from jaxpar.harness.schema import record_schema

ROOT = Path(__file__).resolve().parents[1]

TINY = """
title = "tiny"
repeats = 2
timeout = 120
[hardware]
gemm_n = 128
pingpong = true

[[sweep]]
name = "matmul-strong"
workload = "matmul"
implementations = ["c_mpi", "mpi4py", "jax"]
launch = ["mpirun", "single-process"]
sizes = [{ m = 48, k = 40, n = 32 }]

[[sweep]]
name = "matmul-weak"
workload = "matmul"
scaling = "weak"
implementations = ["c_mpi"]
launch = ["mpirun"]
sizes = [{ m = 24, k = 40, n = 32 }]

[[sweep]]
name = "sgd-strong"
workload = "sgd"
implementations = ["c_mpi", "jax", "keras"]
launch = ["mpirun"]
sizes = [{ n = 256, d_in = 8, hidden = 16, d_out = 2, batch = 64, steps = 6 }]
"""
STEMS = ["matmul-strong_time", "matmul-strong_efficiency", "matmul-weak_time",
         "matmul-weak_efficiency", "sgd-strong_time", "sgd-strong_efficiency",
         "matmul_gflops_vs_size", "sgd_gflops_vs_size", "sgd_loss", "codesize",
         "codesize_vs_performance", "matmul_attribution", "sgd_attribution", "summary"]


def run_compare(*args, env=None, timeout=400):
    try:
        return subprocess.run([sys.executable, "-m", "jaxpar.compare", *map(str, args)], cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ, **(env or {})))
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"jaxpar.compare did not finish in {timeout} s\n{exc.stdout}\n{exc.stderr}")


def planned_ids(config_path):
    out = run_compare("--config", config_path, "--dry-run")
    assert out.returncode == 0, out.stderr
    return [line.split("\t")[0] for line in out.stdout.splitlines() if "\t" in line]


def schema_validator():
    schema = record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def processes_with(marker):
    """Live processes whose environment carries marker (left over from a run?)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            state = [l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("State:")]
        except OSError:
            continue
        if marker.encode() in environ and not any("Z" in s for s in state):
            found.append(int(pid))
    return found


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.mktemp("compare")
    config = base / "tiny.toml"
    config.write_text(TINY)
    out = base / "results"
    marker = uuid.uuid4().hex
    proc = run_compare("--config", config, "--output", out, env={"JAXPAR_TEST_MARKER": marker})
    return {"config": config, "out": out, "proc": proc, "marker": marker}


# ---------------------------------------------------------------- end to end

def test_tiny_sweep_writes_every_output(tiny):
    proc, out = tiny["proc"], tiny["out"]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in ("results.jsonl", "results.csv", "scaling.csv", "report.md", "sweep.json", "manifest.json",
                 "verdicts.json"):
        assert (out / name).stat().st_size > 0, name
    for stem in STEMS:
        assert (out / f"{stem}.png").is_file() and (out / f"{stem}.svg").is_file(), stem
    # the summary table on the terminal
    assert "matmul-strong: matmul, strong scaling" in proc.stdout
    assert "sgd-strong: sgd, strong scaling" in proc.stdout and "Code size" in proc.stdout
    assert not processes_with(tiny["marker"]), "MPI processes outlived the sweep"


def test_report_opens_with_the_verdicts(tiny):
    """Title, one line of environment, then the verdicts table and the key findings, before
    any detail; the terminal output ends with the verdicts table."""
    from jaxpar.harness.report.verdicts import anchor

    assert anchor("Keras 3 on JAX: the talk's claim") == "#keras-3-on-jax-the-talks-claim"
    report = (tiny["out"] / "report.md").read_text()
    lines = report.splitlines()
    assert lines[0] == "# tiny" and lines[2].startswith("Started ") and lines[4] == "## Verdicts"
    opening = report.split("## Verdicts")[1].split("\n## ")[0]
    verdicts = json.loads((tiny["out"] / "verdicts.json").read_text())
    for v in verdicts:
        row = next(line for line in opening.splitlines() if line.startswith(f"| {v['claim']} |"))
        assert v["verdict"] in row and f"]({anchor(v['section'])})" in row
    assert "### Key findings" in opening and len(opening.split("### Key findings")[1].splitlines()) < 30
    # details come after the answer, and every section a verdict links to exists
    assert report.index("## Verdicts") < report.index("## Environment and hardware limit")
    for section in {v["section"] for v in verdicts}:
        assert f"\n## {section}\n" in report, section
    tail = tiny["proc"].stdout[tiny["proc"].stdout.rindex("Verdicts: the talk's claims"):]
    assert all(v["claim"] in tail for v in verdicts) and "Code size" not in tail.split("backed by")[0]


def test_verdicts_json_recomputes_from_the_run(tiny):
    from jaxpar import claims

    verdicts = json.loads((tiny["out"] / "verdicts.json").read_text())
    assert [v["claim"] for v in verdicts][:len(claims.CLAIMS)] == [c.ID for c in claims.CLAIMS]
    for v in verdicts:
        assert set(v) >= {"claim", "quote", "verdict", "summary", "figures"}
        assert v["verdict"] in ("holds", "does not hold", "mixed", "not measured") and v["summary"]
        for figure in v["figures"]:
            assert set(figure) == {"name", "value", "unit", "from"}
    measured = {v["claim"]: v for v in verdicts if v["verdict"] != "not measured"}
    # the tiny sweep has c_mpi and jax at P = 1 and 2, keras beside no jax_auto
    assert {"beats_c_mpi", "abstraction", "autodiff", "seamless_parallel", "xla_matmul"} <= set(measured)
    assert "no configuration verified both keras and jax_auto" in next(
        v["summary"] for v in verdicts if v["claim"] == "keras_speed")
    records, meta = claims.load(tiny["out"])
    assert claims.recompute(verdicts, records, meta) == []
    check = subprocess.run([sys.executable, "-m", "jaxpar.claims", tiny["out"], "--check"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and "recomputes" in check.stdout, check.stdout + check.stderr


def test_results_doc_is_written_from_the_run(tiny, tmp_path):
    """docs/results.md's generator: the machine and commit of the run, and its verdicts."""
    target = tmp_path / "results.md"
    out = subprocess.run([sys.executable, "-m", "jaxpar.harness.results_doc", tiny["out"], "-o", target],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = target.read_text()
    meta = json.loads((tiny["out"] / "sweep.json").read_text())
    assert meta["environment"]["cpu_model"] in text and str(meta["environment"]["git_commit"]) in text
    for v in json.loads((tiny["out"] / "verdicts.json").read_text()):
        assert f"| {v['claim']} |" in text and f"### {v['claim']}: {v['verdict']}" in text
    # links only to what the document has: the claims' figures, not the report's sections
    assert "](#where-the-time-goes)" not in text and "](#the-claims-figures)" in text
    bad = subprocess.run([sys.executable, "-m", "jaxpar.harness.results_doc", tmp_path / "nothing"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "is not a finished compare run" in bad.stderr


def test_records_validate_and_cover_the_plan(tiny):
    records = results.load(tiny["out"] / "results.jsonl")
    validator = schema_validator()
    for r in records:
        errors = [e.message for e in validator.iter_errors(r)]
        assert not errors, (r["id"], errors)
        assert r["status"] == "ok" and r["verified"] is True
        assert r["environment"]["mpi_library"] and r["core_gemm_gflops"] > 0
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == 14
    assert set(ids) == set(planned_ids(tiny["config"]))
    # JAX ran under mpirun and in one process with two devices; P = 1 is one process
    runs = {(r["workload"], r["impl"], r["launch"], r["ranks"]) for r in records}
    assert {("matmul", "jax", "mpirun", 2), ("matmul", "jax", "single-process", 2),
            ("matmul", "jax", "single-process", 1), ("sgd", "jax", "mpirun", 2)} <= runs
    for r in records:
        assert r["processes"] == (1 if r["launch"] == "single-process" else r["ranks"])
        assert r["pinning"]["pinned"] is True
    # the weak sweep's P = 2 run is the strong sweep's, run once
    shared = [r for r in records if r["impl"] == "c_mpi" and r["workload"] == "matmul" and r["ranks"] == 2]
    assert len(shared) == 1 and shared[0]["sweeps"] == ["matmul-strong", "matmul-weak"]
    assert {r["sizes"]["m"] for r in records if "matmul-weak" in r["sweeps"]} == {24, 48}


def test_schema_rejects_broken_records(tiny):
    validator = schema_validator()
    good = results.load(tiny["out"] / "results.jsonl")[0]
    assert validator.is_valid(good)
    for broken in ({**good, "status": "ok", "verified": False}, {**good, "ranks": 0},
                   {k: v for k, v in good.items() if k != "environment"},
                   {**good, "status": "crashed", "error": None}, {**good, "impl": "fortran"}):
        assert not validator.is_valid(broken)


def test_plots_are_real_images(tiny):
    import matplotlib.image as mpimg

    for stem in STEMS:
        image = mpimg.imread(tiny["out"] / f"{stem}.png")
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200, stem
        assert float(np.var(image[..., :3])) > 1e-3, f"{stem}.png is blank"
        assert "<svg" in (tiny["out"] / f"{stem}.svg").read_text()[:2000]


def test_report_refers_to_every_plot_and_table(tiny):
    report = (tiny["out"] / "report.md").read_text()
    for path in tiny["out"].iterdir():
        if path.suffix in (".png", ".svg"):
            assert f"({path.name})" in report, path.name
    for heading in ("## Methodology", "## Failures", "## Sweep matmul-strong", "## Sweep matmul-weak",
                    "## Sweep sgd-strong", "## JIT compile time", "## Rate against problem size",
                    "## SGD loss curves", "## Code size"):
        assert heading in report
    assert "matmul-strong: 2 timed repeats after 1 warm-up" in report
    compiles = report.split("## JIT compile time")[1].split("\n## ")[0]
    assert "| matmul | jax | summa | single-process | 2 |" in compiles and "| c_mpi |" not in compiles
    assert "jaxpar/csrc/common.c" in report and "GFLOP/s" in report and "IQR" in report
    meta = json.loads((tiny["out"] / "sweep.json").read_text())
    rate = meta["hardware"]["core_gemm_gflops"]["float64"]
    assert rate > 0 and f"{rate:.2f} GFLOP/s" in report
    # the α-β ideal of every verified row, from the measured ping-pong
    assert meta["hardware"]["pingpong"]["alpha_s"] > 0
    table = report.split("## Sweep matmul-strong")[1].split("## Sweep")[0]
    header = next(line for line in table.splitlines() if line.startswith("| impl"))
    column = header.split("|").index(" α-β ideal ")
    rows = [line.split("|") for line in table.splitlines() if line.startswith("| ") and line != header]
    assert rows and all(row[column].strip() not in ("", "—") for row in rows), rows


def test_report_says_where_the_time_goes(tiny):
    report = (tiny["out"] / "report.md").read_text()
    section = report.split("## Where the time goes")[1].split("\n## ")[0]
    for workload in ("matmul", "sgd"):
        assert f"### {workload}" in section and f"]({workload}_attribution.png)" in section
    table = section.split("### matmul")[1].split("###")[0]
    assert "| summa | mpi4py (mpi) | mpirun | 2 | float64 | 48x40x32 |" in table
    assert re.search(r"^- mpi4py's \d+% (gap to|lead over) C/MPI in matmul \(summa, P = 2, float64, "
                     r"48x40x32; mpirun, mpi\) is -?\d+ points of local kernel, -?\d+ of transport and "
                     r"-?\d+ of overhead\.$", section, re.M), section
    for r in results.load(tiny["out"] / "results.jsonl"):
        assert r["local_s"] > 0 and r["local_kernel"].split(":")[0] in ("cblas", "numpy", "xla")
    # the concurrent GEMM rate beside the single-core one, and its column in the tables
    meta = json.loads((tiny["out"] / "sweep.json").read_text())
    concurrent = meta["hardware"]["core_gemm_gflops_concurrent"]["float64"]
    assert concurrent["copies"] == 2 and concurrent["gflops"] > 0 and len(concurrent["per_copy"]) == 2
    assert f"**{concurrent['gflops']:.2f} GFLOP/s** per copy" in report
    assert "| of P concurrent dgemms |" in report.split("## Sweep matmul-strong")[1]


def test_report_tests_the_keras_claim(tiny):
    """keras beside raw JAX and C/MPI: step times, SLOC and compile time, and a verdict."""
    report = (tiny["out"] / "report.md").read_text()
    section = report.split("## Keras 3 on JAX: the talk's claim")[1].split("\n## ")[0]
    assert "No configuration ran both keras and jax_auto" in section  # the tiny sweep has none
    keras_runs = [r for r in results.load(tiny["out"] / "results.jsonl") if r["impl"] == "keras"]
    assert len(keras_runs) == 2 and all(r["status"] == "ok" for r in keras_runs)
    for r in keras_runs:
        assert r["compile_s"] > 0 and r["details"]["steps_per_execution"] == r["sizes"]["steps"]
        # at P = 1 a JAX run is one process: no gloo
        assert r["transport"] == ("gloo" if r["ranks"] == 2 else "in-process")
        row = next(line for line in section.splitlines()
                   if line.startswith("| float64 |") and f"| {r['launch']} | {r['ranks']} |" in line)
        cells = [c.strip() for c in row.split("|")[1:-1]]
        assert cells[4] != "—" and cells[5] != "—" and cells[6] == "—" and cells[7] != "—", row
    costs = section.split("| impl | SLOC |")[1]
    keras_row = next(line for line in costs.splitlines() if line.startswith("| keras |"))
    # the compile cell shows the median of the keras runs' compile_s, in whatever unit suits it
    # (a fast machine compiles in under a second: "892 ms" is as right as "1.2 s")
    from jaxpar.harness.report import fmt_time
    compile_median = statistics.median(r["compile_s"] for r in keras_runs)
    assert int(keras_row.split("|")[2]) > 0
    assert keras_row.split("|")[4].strip() == fmt_time(compile_median), keras_row
    assert "| c_mpi |" in costs and "| keras |" in report.split("## Code size")[1]


def test_csv_matches_jsonl(tiny):
    records = results.load(tiny["out"] / "results.jsonl")
    with open(tiny["out"] / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(records)
    for row, r in zip(rows, records):
        assert row["id"] == r["id"] and row["status"] == r["status"] and row["impl"] == r["impl"]
        assert row["launch"] == r["launch"] and int(row["ranks"]) == r["ranks"]
        assert row["workload"] == r["workload"] and row["dtype"] == r["dtype"]
        for key, value in r["sizes"].items():
            assert int(row[f"size_{key}"]) == value
        summary = r["time_s"] if r["workload"] == "matmul" else r["time_per_step_s"]
        assert float(row["time_median_s"]) == summary["median"]
        assert float(row["time_iqr_s"]) == summary["iqr"]
        assert float(row["gflops"]) == r["gflops"]


def test_sgd_loss_curves_agree(tiny):
    records = [r for r in results.load(tiny["out"] / "results.jsonl") if r["workload"] == "sgd"]
    assert len(records) == 6 and {r["impl"] for r in records} == {"c_mpi", "jax", "keras"}
    first = np.array(records[0]["losses"])
    assert len(first) == 6 and first[-1] < first[0]
    for r in records[1:]:
        np.testing.assert_allclose(r["losses"], first, rtol=1e-9)


def test_plot_only_rerenders_the_same_report(tiny, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("results.jsonl", "sweep.json"):
        (copy / name).write_bytes((tiny["out"] / name).read_bytes())
    out = run_compare("--plot-only", copy)
    assert out.returncode == 0, out.stderr
    assert (copy / "report.md").read_text() == (tiny["out"] / "report.md").read_text()
    assert sorted(p.name for p in copy.glob("*.png")) == sorted(p.name for p in tiny["out"].glob("*.png"))
    assert (copy / "results.csv").read_text() == (tiny["out"] / "results.csv").read_text()


def test_a_failed_check_is_listed_and_never_plotted(tiny, tmp_path):
    # A real record turned into a failed check: the report must list it and leave it out.
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "sweep.json").write_bytes((tiny["out"] / "sweep.json").read_bytes())
    records = results.load(tiny["out"] / "results.jsonl")
    for r in records:
        if r["workload"] == "matmul" and r["impl"] == "mpi4py" and r["ranks"] == 2:
            r.update(status="failed_check", verified=False, max_rel_error=0.5)
            bad = r
        results.append(copy / "results.jsonl", r)
    assert schema_validator().is_valid(bad)
    out = run_compare("--plot-only", copy)
    assert out.returncode == 0, out.stderr
    report = (copy / "report.md").read_text()
    failures = report.split("## Failures")[1].split("## Sweep")[0]
    assert bad["label"] in failures and "failed_check" in failures
    strong = report.split("## Sweep matmul-strong")[1].split("## Sweep")[0]
    assert "| mpi4py | summa | mpirun | 1 |" in strong and "| mpi4py | summa | mpirun | 2 |" not in strong
    meta = json.loads((copy / "sweep.json").read_text())
    matmul_strong = next(s for s in meta["config"]["sweeps"] if s["name"] == "matmul-strong")
    rows = stats.scaling_rows(results.load(copy / "results.jsonl"), matmul_strong, {})
    assert bad["id"] not in {row["id"] for row in rows}


# ---------------------------------------------------------------- faults, kill, resume

FAULTS = """
repeats = 2
timeout = 12
implementations = ["c_mpi", "mpi4py"]
[hardware]
gemm_n = 64
pingpong = false
[[sweep]]
name = "faults"
workload = "matmul"
sizes = [{ m = 16, k = 16, n = 16 }]
"""


def test_crash_and_hang_are_recorded_and_the_sweep_finishes(tmp_path):
    config = tmp_path / "faults.toml"
    config.write_text(FAULTS)
    marker = uuid.uuid4().hex
    start = time.monotonic()
    proc = run_compare("--config", config, "--output", tmp_path / "out",
                       env={"JAXPAR_FAULT": "crash:mpi4py,hang:c_mpi", "JAXPAR_TEST_MARKER": marker})
    assert time.monotonic() - start < 120
    assert proc.returncode == 1, proc.stderr  # the sweep finished, with failures
    records = {(r["impl"], r["ranks"]): r for r in results.load(tmp_path / "out" / "results.jsonl")}
    assert len(records) == 4
    assert records[("c_mpi", 1)]["status"] == "ok" and records[("mpi4py", 1)]["status"] == "ok"
    hung, crashed = records[("c_mpi", 2)], records[("mpi4py", 2)]
    assert hung["status"] == "timeout" and "12 s" in hung["error"]
    assert crashed["status"] == "crashed" and crashed["error"]
    validator = schema_validator()
    for r in records.values():
        assert validator.is_valid(r), list(validator.iter_errors(r))
    for r in (hung, crashed):  # enough to identify the configuration
        assert r["workload"] == "matmul" and r["ranks"] == 2 and r["sizes"] == {"m": 16, "k": 16, "n": 16}
        assert r["environment"]["hostname"] and "jaxpar.run" in " ".join(r["command"])
    report = (tmp_path / "out" / "report.md").read_text()
    assert "timeout" in report.split("## Failures")[1] and "crashed" in report.split("## Failures")[1]
    assert not processes_with(marker), "a hung or crashed run left MPI processes behind"


RESUMABLE = """
repeats = 2
implementations = ["c_mpi", "mpi4py"]
[hardware]
gemm_n = 64
pingpong = false
[[sweep]]
name = "resume"
workload = "matmul"
sizes = [{ m = 16, k = 16, n = 16 }, { m = 24, k = 16, n = 8 }]
"""


def test_kill_then_resume_gives_the_uninterrupted_set_of_ids(tmp_path):
    config = tmp_path / "resume.toml"
    config.write_text(RESUMABLE)
    expected = planned_ids(config)
    assert len(expected) == 8
    out = tmp_path / "out"
    marker = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-m", "jaxpar.compare", "--config", str(config),
                             "--output", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, JAXPAR_TEST_MARKER=marker))
    jsonl = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if jsonl.exists() and jsonl.read_text().count("\n") >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert "--resume" in stdout
    before = results.load(jsonl)
    assert 2 <= len(before) < 8
    assert not processes_with(marker), "the killed sweep left MPI processes behind"
    # a write torn by a power cut: resume cuts it off
    with open(jsonl, "a") as f:
        f.write('{"id": "torn')
    assert len(results.load(jsonl)) == len(before)

    resumed = run_compare("--resume", out)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = results.load(jsonl)
    ids = [r["id"] for r in after]
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))
    assert after[:len(before)] == before  # nothing done before was redone
    assert f"{len(before)} configuration(s) already done" in resumed.stdout
    assert (out / "report.md").is_file()
    # resuming a finished sweep runs nothing
    again = run_compare("--resume", out)
    assert again.returncode == 0 and results.load(jsonl) == after


def test_atomic_append_load_and_repair(tmp_path):
    path = tmp_path / "r.jsonl"
    results.append(path, {"id": "a", "x": 1})
    results.append(path, {"id": "b", "x": [1, 2]})
    assert results.load(path) == [{"id": "a", "x": 1}, {"id": "b", "x": [1, 2]}]
    assert results.repair(path) is False
    with open(path, "a") as f:
        f.write('{"id": "c", "x"')
    assert [r["id"] for r in results.load(path)] == ["a", "b"]
    assert results.repair(path) is True
    results.append(path, {"id": "d"})
    assert [r["id"] for r in results.load(path)] == ["a", "b", "d"]
    path.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(ValueError, match=":2:"):
        results.load(path)


# ---------------------------------------------------------------- configs and flags

BAD_TOML_CASES = {
    "malformed": ("[[sweep]\nworkload = 'matmul'", "malformed TOML"),
    "unknown_key": ("colour = 'red'\n[[sweep]]\nworkload = 'matmul'\nsizes = [{m=4,k=4,n=4}]",
                    "unknown top-level key"),
    "unknown_impl": ("[[sweep]]\nworkload = 'matmul'\nimplementations = ['c_mpi', 'fortran']\n"
                     "sizes = [{m=4,k=4,n=4}]", "unknown implementation 'fortran'"),
    "zero_ranks": ("ranks = [0, 2]\n[[sweep]]\nworkload = 'matmul'\nsizes = [{m=4,k=4,n=4}]",
                   "ranks (P) must be an integer >= 1"),
    "size_keys": ("[[sweep]]\nworkload = 'sgd'\nsizes = [{n=4, batch=2}]", "needs exactly the keys"),
    "negative_size": ("[[sweep]]\nworkload = 'matmul'\nsizes = [{m=-4,k=4,n=4}]", "size m must be"),
    "sgd_algorithm": ("[[sweep]]\nworkload = 'sgd'\nalgorithms = ['summa']\n"
                      "sizes = [{n=8,d_in=2,hidden=2,d_out=1,batch=4,steps=1}]", "has no algorithms"),
    "no_sweep": ("repeats = 3", "no [[sweep]]"),
    "bad_workload": ("[[sweep]]\nworkload = 'fft'\nsizes = []", "unknown workload 'fft'"),
    "bad_timeout": ("timeout = -1\n[[sweep]]\nworkload = 'matmul'\nsizes = [{m=4,k=4,n=4}]",
                    "timeout must be a positive number"),
    "mpi_single": ("[[sweep]]\nworkload = 'matmul'\nimplementations = ['c_mpi']\n"
                   "launch = ['single-process']\nsizes = [{m=4,k=4,n=4}]", "no configuration to run"),
    "dup_names": ("[[sweep]]\nname='a'\nworkload='matmul'\nsizes=[{m=4,k=4,n=4}]\n"
                  "[[sweep]]\nname='a'\nworkload='matmul'\nsizes=[{m=8,k=4,n=4}]", "two sweeps are named"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOML_CASES))
def test_invalid_config_exits_2_before_running(case, tmp_path, capsys):
    text, message = BAD_TOML_CASES[case]
    config = tmp_path / "bad.toml"
    config.write_text(text)
    out = tmp_path / "out"
    assert compare.main(["--config", str(config), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "error:" in err
    assert not out.exists()


@pytest.mark.parametrize("flags,message", [
    (["--impls", "c_mpi,fortran"], "unknown implementation 'fortran'"),
    (["--ranks", "0"], "must be an integer >= 1"),
    (["--ranks", "1,two"], "--ranks: 'two' is not an integer"),
    (["--dtypes", "float16"], "unknown dtype 'float16'"),
    (["--launch", "ssh"], "unknown launch mode 'ssh'"),
    (["--scaling", "medium"], "unknown scaling 'medium'"),
    (["--workloads", "fft"], "unknown workload 'fft'"),
    (["--size", "m=abc"], "expected [WORKLOAD:]KEY=INT"),
    (["--size", "matmul:batch=4"], "matmul has no size batch"),
    (["--size", "zz=4"], "fits no sweep"),
    (["--repeats", "0"], "repeats must be an integer >= 1"),
    (["--timeout", "soon"], "--timeout: 'soon' is not a number"),
    (["--config", "/nonexistent/x.toml"], "cannot read config"),
])
def test_invalid_flags_exit_2_before_running(flags, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert compare.main(flags + ["--output", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_directory_errors_exit_2(tmp_path, tiny, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases = [
        (["--output", str(blocker / "sub")], "is not writable"),
        (["--output", str(tiny["out"])], "already holds a sweep"),
        (["--resume", str(tmp_path / "missing")], "no sweep.json"),
        (["--plot-only", str(tmp_path)], "no sweep.json"),
        (["--resume", str(tiny["out"]), "--impls", "c_mpi"], "drop --impls"),
    ]
    for flags, message in cases:
        assert compare.main(flags) == 2, flags
        assert message in capsys.readouterr().err, flags
    with pytest.raises(SystemExit) as exc:  # argparse: mutually exclusive
        compare.main(["--quick", "--config", "x.toml"])
    assert exc.value.code == 2


def test_embedded_and_shipped_configs_resolve():
    default = sweep.resolve(sweep.parse_toml(sweep.embedded("default"), "default"))
    plan = sweep.plan(default)
    assert {c["workload"] for c in plan} == set(sweep.WORKLOADS)
    for workload in sweep.WORKLOADS:  # every implementation but jax_pmap (default.toml says why)
        assert ({c["impl"] for c in plan if c["workload"] == workload}
                == set(registry.implementations(workload)) - {"jax_pmap"})
    assert {c["ranks"] for c in plan} == {1, 2}
    assert {c["launch"] for c in plan if c["impl"] == "jax" and c["ranks"] == 2} == {"mpirun", "single-process"}
    assert {s["scaling"] for s in default["sweeps"]} == {"strong"}
    quick = sweep.plan(sweep.resolve(sweep.parse_toml(sweep.embedded("quick"), "quick")))
    assert len(quick) < len(plan)
    for path in sorted((ROOT / "experiments").glob("*.toml")):
        assert sweep.plan(sweep.resolve(sweep.load_file(path))), path
    assert (ROOT / "experiments" / "default.toml").read_text() == sweep.embedded("default")
    assert (ROOT / "experiments" / "quick.toml").read_text() == sweep.embedded("quick")


def test_plan_ids_are_stable_and_weak_scaling_scales_the_weak_dimension():
    raw = {"ranks": [1, 2, 4], "implementations": ["c_mpi", "jax"], "launch": ["mpirun"],
           "sweep": [{"name": "w", "workload": "sgd", "scaling": "weak",
                      "sizes": [{"n": 64, "d_in": 4, "hidden": 8, "d_out": 2, "batch": 16, "steps": 3}]}]}
    plan = sweep.plan(sweep.resolve(raw))
    assert [c["sizes"]["batch"] for c in plan if c["impl"] == "c_mpi"] == [16, 32, 64]
    assert [c["launch"] for c in plan if c["impl"] == "jax"] == ["single-process", "mpirun", "mpirun"]
    assert [c["id"] for c in sweep.plan(sweep.resolve(raw))] == [c["id"] for c in plan]
    raw["repeats"] = 7
    assert not {c["id"] for c in sweep.plan(sweep.resolve(raw))} & {c["id"] for c in plan}
    args = sweep.runner_args(plan[0])
    assert args[:2] == ["--impl", "c_mpi"] and "--d-in" in args and "--lr" in args
    assert "--algorithm" not in args


def test_one_launch_runs_every_algorithm_and_the_stencil_weak_scales_by_area():
    raw = {"ranks": [1, 4], "implementations": ["c_mpi", "jax_auto"], "launch": ["mpirun"],
           "sweep": [{"name": "m", "workload": "matmul", "algorithms": ["summa", "allgather"],
                      "sizes": [{"m": 8, "k": 8, "n": 8}]},
                     {"name": "s", "workload": "stencil", "scaling": "weak",
                      "sizes": [{"n": 100, "radius": 2, "iterations": 3}]}]}
    plan = sweep.plan(sweep.resolve(raw))
    groups = sweep.launch_groups([c for c in plan if c["workload"] == "matmul"])
    # c_mpi: summa and allgather in one launch per P; jax_auto (no algorithm) alone
    assert sorted((g[0]["impl"], g[0]["ranks"], [c["algorithm"] for c in g]) for g in groups) == [
        ("c_mpi", 1, ["summa", "allgather"]), ("c_mpi", 4, ["summa", "allgather"]),
        ("jax_auto", 1, [None]), ("jax_auto", 4, [None])]
    args = sweep.runner_args(next(g for g in groups if len(g) == 2))
    assert args[args.index("--algorithm"):][:3] == ["--algorithm", "summa", "allgather"]
    stencil = [c for c in plan if c["workload"] == "stencil" and c["impl"] == "c_mpi"]
    assert [c["sizes"]["n"] for c in stencil] == [100, 200]  # n grows with sqrt(P)
    assert sweep.per_rank_sizes("stencil", stencil[1]["sizes"], 4)["n"] == 100


def test_top_level_implementations_apply_to_each_workload_they_exist_in():
    """keras is SGD's only: named at the top level it joins the SGD sweep and leaves the matmul
    sweep alone; a name no workload has is still an error."""
    sizes = {"matmul": [{"m": 4, "k": 4, "n": 4}],
             "sgd": [{"n": 8, "d_in": 2, "hidden": 2, "d_out": 1, "batch": 4, "steps": 1}]}
    raw = {"implementations": ["c_mpi", "keras"], "launch": ["mpirun", "single-process"],
           "sweep": [{"name": w, "workload": w, "sizes": s} for w, s in sizes.items()]}
    resolved = {s["name"]: s["implementations"] for s in sweep.resolve(raw)["sweeps"]}
    assert resolved == {"matmul": ["c_mpi"], "sgd": ["c_mpi", "keras"]}
    raw["implementations"] = ["keras"]  # none of matmul's own: the matmul sweep names it
    with pytest.raises(sweep.ConfigError, match="unknown implementation 'keras'"):
        sweep.resolve(raw)
    raw["implementations"] = ["c_mpi", "fortran"]
    with pytest.raises(sweep.ConfigError, match="unknown implementation 'fortran'"):
        sweep.resolve(raw)


def test_flags_override_the_config():
    raw = sweep.parse_toml(sweep.embedded("default"), "default")
    raw = sweep.apply_overrides(raw, {"ranks": [2], "implementations": ["c_mpi"], "algorithms": ["allgather"]},
                                [sweep.parse_size_flag("m=64"), sweep.parse_size_flag("sgd:batch=32")],
                                ["matmul", "sgd"])
    plan = sweep.plan(sweep.resolve(raw))
    assert {(c["impl"], c["ranks"]) for c in plan} == {("c_mpi", 2)}
    assert {c["algorithm"] for c in plan if c["workload"] == "matmul"} == {"allgather"}
    assert {c["sizes"]["m"] for c in plan if c["workload"] == "matmul"} <= {64, 128}
    assert {c["sizes"]["batch"] for c in plan if c["workload"] == "sgd"} <= {32, 64}


def test_implementation_names_match_the_api():
    # The API, the runner and the sweep all read the registry; the runner (which imports MPI,
    # as the compare process must not) is asked in a child.
    out = subprocess.run([sys.executable, "-m", "jaxpar.run", "sgd", "--help"], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert ", ".join(registry.implementations("sgd")) in " ".join(out.stdout.split())
    assert sweep.IMPLEMENTATIONS == registry.IMPLEMENTATIONS


def test_scaling_csv_rebuilds_the_tables(tiny):
    """scaling.csv has one row per table row, with the metrics the tables show, and
    results.csv carries the environment of every run."""
    with open(tiny["out"] / "scaling.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    report = (tiny["out"] / "report.md").read_text()
    sections = [part.split("\n## ")[0] for part in report.split("## Sweep ")[1:]]
    table_rows = [line for part in sections for line in part.splitlines()
                  if line.startswith("| ") and not line.startswith("| impl")]
    assert len(rows) == len(table_rows) > 0
    for row in rows:
        assert row["sweep"] in ("matmul-strong", "matmul-weak", "sgd-strong")
        assert float(row["median_s"]) > 0 and float(row["hw_efficiency"]) > 0
        if row["ranks"] == "1":
            assert float(row["speedup"]) == 1.0
    assert {r["flags"] for r in rows} - {""} <= {f for line in table_rows for f in [line.split("|")[-2].strip()]}
    with open(tiny["out"] / "results.csv", newline="") as f:
        env = list(csv.DictReader(f))
    assert all(r["launcher"] in ("mpirun (Hydra)", "mpirun (Open MPI)", "none (singleton)") for r in env)
    assert all("openblas" in r["blas_threads"] and r["mpi_library"] for r in env)
    pinned = [r for r in env if r["launch"] == "mpirun"]
    assert pinned and all(r["pinned"] == "True" and r["cores_per_rank"] for r in pinned)
