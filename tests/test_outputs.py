"""The files python -m jaxpar.compare writes and deletes: the user's own files are never
touched, sweep names that cannot name a plot file are refused up front, and a corrupt
results directory is an error (exit 2), not a traceback. Nothing here launches a run:
the results directories are made up (every configuration recorded, as crashed)."""
import json

import pytest

from jaxpar import compare
from jaxpar.harness import results, sweep

CONFIG = """
repeats = 1
implementations = ["c_mpi"]
launch = ["mpirun"]
ranks = [1, 2, 3]
[hardware]
gemm_n = 64
pingpong = false
[[sweep]]
name = "{name}"
workload = "matmul"
sizes = [{{ m = 8, k = 8, n = 8 }}]
"""
CODESIZE = [{"workload": "matmul", "impl": "c_mpi", "paths": ["jaxpar/workloads/matmul/c_mpi.c"], "files": 1,
             "sloc": 10, "comment_lines": 1, "blank_lines": 1, "functions": 1, "ccn_total": 1, "ccn_max": 1,
             "tokens": 50}]


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch):
    """A test that got past validation (the defect) fails here instead of measuring or launching."""
    def ran(*args, **kwargs):
        raise AssertionError("compare went on to run the sweep")
    monkeypatch.setattr(compare, "environment", ran)
    monkeypatch.setattr(compare, "measure_hardware", ran)
    monkeypatch.setattr("jaxpar.harness.launch.run_config", ran)
    monkeypatch.setattr("jaxpar.harness.launch.run_launch", ran)


def write_config(tmp_path, name="s"):
    path = tmp_path / "c.toml"
    path.write_text(CONFIG.format(name=name))
    return path


def results_dir(tmp_path, manifest=True):
    """A finished sweep's directory, as a compare run leaves it (before or after the manifest)."""
    config = sweep.resolve(sweep.load_file(write_config(tmp_path)))
    plan = sweep.plan(config)
    out = tmp_path / "results"
    out.mkdir()
    meta = {"config": config, "plan": plan, "planned": len(plan), "command": [], "environment": {},
            "hardware": {"gemm_n": 64, "core_gemm_gflops": {}, "pingpong": None}, "codesize": CODESIZE}
    (out / "sweep.json").write_text(json.dumps(meta))
    for c in plan:
        results.append(out / "results.jsonl", {**c, "status": "crashed", "error": "made up"})
    if manifest:
        write_manifest(out, FILES)
    return out


FILES = ["manifest.json", "sweep.json", "results.jsonl", "results.csv", "scaling.csv", "report.md",
         "verdicts.json"]


def write_manifest(out, files):
    (out / "manifest.json").write_text(json.dumps({"files": files}))


def listed(out):
    return json.loads((out / "manifest.json").read_text())["files"]


# ---------------------------------------------------------------- defect 1: the user's files

def test_output_refuses_a_non_empty_directory(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    for name, text in (("figure.png", "png"), ("figure.svg", "svg"), ("report.md", "md"), ("results.csv", "c")):
        (out / name).write_text(text)
    assert compare.main(["--config", str(write_config(tmp_path)), "--output", str(out)]) == 2
    assert "is not empty and not a jaxpar.compare results directory" in capsys.readouterr().err
    assert {p.name: p.read_text() for p in out.iterdir()} == {
        "figure.png": "png", "figure.svg": "svg", "report.md": "md", "results.csv": "c"}


@pytest.mark.parametrize("flag,status", [("--plot-only", 0), ("--resume", 1)])  # resume: every record crashed
def test_plot_only_and_resume_delete_only_the_stale_plots_of_the_manifest(flag, status, tmp_path):
    out = results_dir(tmp_path)
    (out / "notes.png").write_text("mine")
    (out / "s_time.png").write_text("mine too: not in the manifest")
    write_manifest(out, FILES + ["old_time.png", "old_time.svg"])  # an earlier rendering drew these
    (out / "old_time.png").write_text("stale")
    (out / "old_time.svg").write_text("stale")
    assert compare.main([flag, str(out)]) == status
    assert (out / "notes.png").read_text() == "mine" and (out / "s_time.png").read_text().startswith("mine")
    assert not (out / "old_time.png").exists() and not (out / "old_time.svg").exists()
    assert set(FILES) | {"codesize.png", "codesize.svg"} == set(listed(out))
    assert all((out / name).is_file() for name in listed(out))


def test_plot_only_of_a_directory_from_before_the_manifest_deletes_nothing(tmp_path):
    out = results_dir(tmp_path, manifest=False)
    for name in ("notes.png", "old_time.png", "old_time.svg"):
        (out / name).write_text("kept")
    assert compare.main(["--plot-only", str(out)]) == 0
    assert all((out / name).read_text() == "kept" for name in ("notes.png", "old_time.png", "old_time.svg"))
    assert "codesize.svg" in listed(out) and "notes.png" not in listed(out)


# ---------------------------------------------------------------- defect 2: sweep names

@pytest.mark.parametrize("name,message", [
    ("a\\u0000b", "printable characters only"),
    ("x" * 201, "too long"),
    ("a\\nb", "printable characters only"),
    ("\\u00e9" * 120, "too long"),  # 120 characters, but 240 bytes: <name>_efficiency.svg > 254 bytes
])
def test_unusable_sweep_names_exit_2_before_running(name, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert compare.main(["--config", str(write_config(tmp_path, name)), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "error:" in err
    assert not out.exists()


def test_longest_sweep_names_pass():
    for name in ("x" * 200, "\u00e9" * 119):
        raw = sweep.parse_toml(CONFIG.format(name=name), "c.toml")
        assert sweep.resolve(raw)["sweeps"][0]["name"] == name


# ---------------------------------------------------------------- defect 3: a corrupt results line

@pytest.mark.parametrize("flag", ["--resume", "--plot-only"])
def test_a_corrupt_results_line_exits_2_with_its_line_number(flag, tmp_path, capsys):
    out = results_dir(tmp_path)
    lines = (out / "results.jsonl").read_text().split("\n")
    lines[1] = lines[1][:20]  # the second of three records, cut
    (out / "results.jsonl").write_text("\n".join(lines))
    assert compare.main([flag, str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'results.jsonl'}:2: not a JSON record" in err and "Traceback" not in err
    assert not (out / "report.md").exists()


@pytest.mark.parametrize("flag", ["--resume", "--plot-only"])
def test_an_unterminated_last_line_is_still_skipped(flag, tmp_path):
    out = results_dir(tmp_path)
    with open(out / "results.jsonl", "a") as f:
        f.write('{"id": "torn')
    assert compare.main([flag, str(out)]) == (1 if flag == "--resume" else 0)
    assert (out / "report.md").is_file()
