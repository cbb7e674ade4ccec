"""The runner's --op-by-op: the same JAX kernel run un-jitted (jax.disable_jit), timed after
the jitted repeats at P = 1, so that a record can say what jax.jit buys (op_by_op_s); the
sweep key op_by_op that passes it to the P = 1 JAX configurations only.

The single-process JAX runs are subprocesses, as in the other single-process JAX tests:
the device count must be set before JAX starts its backend."""
import json
import statistics
import subprocess
import sys

import jsonschema
import pytest

from conftest import ROOT, last_json_line, run_mpi
from jaxpar import registry
from jaxpar.harness import sweep
from jaxpar.harness.schema import record_schema

RUNNER = [sys.executable, "-m", "jaxpar.run"]
SGD = ["sgd", "--n", 512, "--d-in", 8, "--hidden", 16, "--d-out", 2, "--batch", 32, "--lr", 0.1]
MATMUL = ["matmul", "--m", 64, "--k", 48, "--n", 40]


def run_alone(args, timeout=300):
    try:
        return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=ROOT,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(map(str, args))} did not finish in {timeout} s\n{exc.stderr}")


def records(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def check_parts(record):
    """op_by_op_s and op_by_op against the record schema, and the rule that ties an op-by-op
    time to a JAX implementation at P = 1."""
    schema = record_schema()
    for part in ("op_by_op_s", "op_by_op"):
        jsonschema.validate(record[part], {**schema["properties"][part], "$defs": schema["$defs"]})
    rule = schema["allOf"][-1]
    assert "op_by_op_s" in rule["if"]["required"]
    jsonschema.validate({k: record[k] for k in ("impl", "ranks", "op_by_op_s", "op_by_op")},
                        {**rule, "$defs": schema["$defs"]})


# Every JAX kernel (runtime "jax") of matmul, SGD and the stencil, prepared at P = 1, run
# jitted and op by op: the same result, checked against the reference; the un-jitted run
# compiles primitives (eager mode; a compiled executable would compile nothing), and for
# jax_auto its time grows with the number of steps (the loop runs in Python).
EAGER = r"""
import json, sys, time
import numpy as np
import jax
from mpi4py import MPI
from jaxpar import api, registry
from jaxpar.core import jaxenv

SIZES = {"matmul": {"m": 40, "k": 24, "n": 16},
         "sgd": {"n": 64, "d_in": 4, "hidden": 8, "d_out": 2, "batch": 16, "steps": 1},
         "stencil": {"n": 24, "radius": 2, "iterations": 1}}
out = []
for workload, sizes in SIZES.items():
    problem = registry.problem(workload)
    options = {key: option.default for key, option in problem.options.items()}
    inputs = problem.inputs(sizes, "float64", 0)
    for entry in registry.ENTRIES:
        if entry.workload != workload or entry.runtime != registry.JAX_RUNTIME or entry.impl == "keras":
            continue
        for algorithm in entry.algorithms or (None,):
            arguments = problem.arguments(sizes, options)
            prepared = api.prepare(workload, entry.impl, *inputs, algorithm=algorithm,
                                   comm=MPI.COMM_WORLD, devices=1, **arguments)
            jitted = prepared.gather(prepared.run())
            eager, compiles, _ = jaxenv.compiles_during(prepared.op_by_op)
            eager = prepared.gather(eager)
            if algorithm:
                arguments["algorithm"] = algorithm
            check = problem.check(inputs, arguments, eager, "float64")
            same = all(np.allclose(a, b, rtol=1e-12, atol=0)
                       for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(eager)))
            out.append({"workload": workload, "impl": entry.impl, "algorithm": algorithm,
                        "verified": check["verified"], "same": same, "compiles": compiles})

def eager_seconds(steps):
    sizes = {**SIZES["sgd"], "steps": steps}
    problem = registry.problem("sgd")
    inputs = problem.inputs(sizes, "float64", 0)
    prepared = api.prepare("sgd", "jax_auto", *inputs, comm=MPI.COMM_WORLD, devices=1,
                           **problem.arguments(sizes, {"lr": 0.1}))
    prepared.op_by_op()  # the warm-up: eager mode compiles each primitive on its first use
    times = []
    for _ in range(3):
        start = time.perf_counter()
        prepared.op_by_op()
        times.append(time.perf_counter() - start)
    return float(np.median(times))

print(json.dumps({"runs": out, "short": eager_seconds(4), "long": eager_seconds(32)}))
"""


def test_every_jax_kernel_runs_op_by_op_to_the_jitted_result():
    result = run_alone([sys.executable, "-c", EAGER], timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    out = last_json_line(result.stdout)
    runs = {(r["workload"], r["impl"], r["algorithm"]): r for r in out["runs"]}
    expected = {(w, impl, a) for w in ("matmul", "sgd", "stencil")
                for impl in ("jax", "jax_pmap", "jax_auto")
                for a in (registry.entry(w, impl).algorithms or (None,))}
    assert expected <= set(runs), sorted(expected - set(runs))
    assert ("matmul", "jax", "summa") in runs and ("matmul", "jax_pmap", "allgather") in runs
    for key, run in runs.items():
        assert run["verified"] and run["same"], (key, run)
        assert run["compiles"] > 0, (key, run)  # eager: the primitives compiled one by one
    assert out["long"] > 3 * out["short"], out  # 8 times the steps: the loop ran in Python


def test_a_p1_jax_record_has_its_op_by_op_time_and_jit_is_faster_for_sgd():
    """SGD at a size where a step is microseconds jitted and some hundred primitive
    dispatches op by op: the ratio is in the hundreds on the development machine, so > 1.5
    holds on any machine."""
    result = run_alone(RUNNER + SGD + ["--impl", "jax_auto", "--steps", 20, "--devices", 1,
                                       "--op-by-op", "--op-by-op-repeats", 2, "--no-local-probe"])
    assert result.returncode == 0, result.stderr[-4000:]
    record = last_json_line(result.stdout)
    assert record["verified"] and record["ranks"] == 1 and record["schema_version"] >= 5
    jitted, eager, detail = record["time_per_step_s"], record["op_by_op_s"], record["op_by_op"]
    assert eager["median"] > 0 and eager["min"] <= eager["median"] <= eager["max"]
    assert detail["repeats"] == len(detail["times_s"]) == 2 and detail["warmup"] == 1
    assert detail["verified"] is True and detail["tolerance"] > 0
    assert detail["max_rel_error_params"] <= detail["tolerance"]
    # the same divisor as the time field: per step
    assert eager["median"] == pytest.approx(statistics.median(detail["times_s"]) / 20)
    assert eager["median"] / jitted["median"] > 1.5, (eager, jitted)
    assert detail["jit_speedup"] == pytest.approx(eager["median"] / jitted["median"])
    assert detail["compiles_warmup"] > 0 and detail["compiles_per_repeat"] == 0  # jit's dispatch only
    check_parts(record)


def test_op_by_op_under_mpirun_at_one_rank_times_every_algorithm():
    result = run_mpi(1, RUNNER + MATMUL + ["--impl", "jax", "--algorithm", "summa", "allgather",
                                           "--repeats", 2, "--op-by-op", "--no-local-probe"])
    assert result.returncode == 0, result.stdout + result.stderr
    got = records(result.stdout)
    assert [r["algorithm"] for r in got] == ["summa", "allgather"]
    for record in got:
        assert record["op_by_op_s"]["median"] > 0 and record["op_by_op"]["verified"] is True
        assert record["op_by_op"]["repeats"] == 3  # the default
        check_parts(record)


def test_records_without_the_flag_carry_null():
    result = run_mpi(1, RUNNER + MATMUL + ["--impl", "c_mpi", "--repeats", 1, "--no-local-probe"])
    assert result.returncode == 0, result.stdout + result.stderr
    record = last_json_line(result.stdout)
    assert record["op_by_op_s"] is None and record["op_by_op"] is None


@pytest.mark.parametrize("how,args,message", [
    ("alone", ["--impl", "jax", "--devices", 2, "--op-by-op"],
     "--op-by-op measures a run at P = 1, not P = 2 (--devices 2)"),
    ("mpirun", ["--impl", "jax", "--op-by-op"],
     "--op-by-op measures a run at P = 1, not P = 2 (mpirun -n 2)"),
    ("mpirun", ["--impl", "c_mpi", "--op-by-op"],
     "--op-by-op applies to the JAX implementations that run in one process (runtime jax); "
     "c_mpi has runtime mpi"),
    ("mpirun1", ["--impl", "jax_mpi4jax", "--op-by-op"], "jax_mpi4jax has runtime jax_mpi"),
    ("mpirun1", ["--impl", "mpi4py", "--op-by-op"], "mpi4py has runtime mpi"),
    ("alone", ["--impl", "jax", "--op-by-op-repeats", 2], "--op-by-op-repeats needs --op-by-op"),
])
def test_the_flag_is_refused_off_a_p1_jax_run(how, args, message):
    command = RUNNER + MATMUL + args + ["--repeats", 1]
    result = (run_alone(command, timeout=120) if how == "alone"
              else run_mpi(2 if how == "mpirun" else 1, command, timeout=120))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr, result.stderr
    assert result.stderr.count("jaxpar.run: error:") == 1  # once, from rank 0
    assert not records(result.stdout)


def test_an_implementation_with_no_kernel_apart_records_why():
    """Keras compiles inside fit: no kernel for op_by_op(), which the runner says instead of
    a time (a stand-in PreparedRun, as scoped() returns for it)."""
    from jaxpar.rank import side
    from jaxpar.core import jaxenv
    from jaxpar.core.prepared import PreparedRun

    prepared = jaxenv.scoped(PreparedRun(run=lambda: None, gather=lambda o: o, ranks=1, grid=None,
                                         launch="single-process"))
    assert prepared.op_by_op is None

    class Args:
        impl, op_by_op_repeats, dtype = "keras", None, "float64"

    summary, detail = side.op_by_op(prepared, None, (), {}, {}, {}, {"median": 1.0}, Args, None)
    assert summary is None and "keras compiles no kernel apart" in detail["reason"]
    check_parts({"impl": "keras", "ranks": 1, "op_by_op_s": summary, "op_by_op": detail})


# ---------------------------------------------------------------- the sweep

SIZES = {"matmul": [{"m": 8, "k": 8, "n": 8}],
         "sgd": [{"n": 8, "d_in": 2, "hidden": 2, "d_out": 1, "batch": 4, "steps": 1}]}


def plan(op_by_op, **top):
    raw = {"ranks": [1, 2], "launch": ["mpirun", "single-process"], **top,
           "sweep": [{"name": w, "workload": w, "sizes": s, "op_by_op": op_by_op,
                      **({"algorithms": ["summa", "allgather"]} if w == "matmul" else {})}
                     for w, s in SIZES.items()]}
    return sweep.plan(sweep.resolve(raw))


def flagged(configs):
    return {(c["workload"], c["impl"], c["algorithm"], c["ranks"]) for c in configs
            if "--op-by-op" in sweep.runner_args(c)}


def test_the_sweep_passes_the_flag_to_p1_jax_configurations_only():
    everything = plan(True, op_by_op_repeats=2)
    jax_p1 = {(c["workload"], c["impl"], c["algorithm"], c["ranks"]) for c in everything
              if c["ranks"] == 1 and registry.entry(c["workload"], c["impl"]).runtime == registry.JAX_RUNTIME}
    assert jax_p1 and flagged(everything) == jax_p1
    assert {impl for _, impl, _, _ in jax_p1} == {"jax", "jax_pmap", "jax_auto", "keras"}
    for c in everything:
        args = sweep.runner_args(c)
        if "--op-by-op" in args:
            assert args[args.index("--op-by-op"):][:3] == ["--op-by-op", "--op-by-op-repeats", "2"]
            assert c["launch"] == "single-process" and c["op_by_op"] == 2
        else:
            assert "op_by_op" not in c and "--op-by-op-repeats" not in args

    chosen = plan(["jax_auto"])
    assert flagged(chosen) == {("matmul", "jax_auto", None, 1), ("sgd", "jax_auto", None, 1)}
    assert not flagged(plan(False))
    # the configurations it leaves alone keep their ids; the flagged ones get new ones
    before, after = ({c["label"]: c["id"] for c in p} for p in (plan(False), chosen))
    changed = {label for label in before if before[label] != after[label]}
    assert changed == {c["label"] for c in chosen if c.get("op_by_op")}


def test_a_launch_group_shares_the_flag():
    configs = plan(True)
    for group in sweep.launch_groups(configs):
        assert len({c.get("op_by_op") for c in group}) == 1, [c["id"] for c in group]
    jax_p1 = [g for g in sweep.launch_groups(configs)
              if (g[0]["workload"], g[0]["impl"], g[0]["ranks"]) == ("matmul", "jax", 1)]
    assert [[c["algorithm"] for c in g] for g in jax_p1] == [["summa", "allgather"]]
    args = sweep.runner_args(jax_p1[0])
    assert "--op-by-op" in args and args[args.index("--algorithm"):][:3] == ["--algorithm", "summa", "allgather"]


@pytest.mark.parametrize("value,message", [
    (["c_mpi"], "no JAX implementation"),
    (["jax_mpi4jax"], "no JAX implementation"),
    (["fortran"], "unknown implementation 'fortran'"),
    ("yes", "must be true, false or a non-empty list"),
    ([], "must be true, false or a non-empty list"),
    (["jax", "jax"], "repeats a value"),
])
def test_bad_op_by_op_values_are_config_errors(value, message):
    with pytest.raises(sweep.ConfigError, match=message):
        plan(value)


def test_bad_op_by_op_repeats_is_a_config_error():
    with pytest.raises(sweep.ConfigError, match="op_by_op_repeats"):
        plan(True, op_by_op_repeats=0)


def test_the_shipped_configs_time_op_by_op_where_it_is_cheap():
    """default and quick: every P = 1 JAX matmul run, and jax_auto's SGD and stencil (an
    un-jitted shard_map or pmap recompiles every primitive on every call: seconds a run)."""
    for name in ("default", "quick"):
        configs = sweep.plan(sweep.resolve(sweep.parse_toml(sweep.embedded(name), name)))
        got = flagged(configs)
        matmul = {(w, i, a, p) for w, i, a, p in got if w == "matmul"}
        assert matmul == {("matmul", c["impl"], c["algorithm"], 1) for c in configs
                          if c["workload"] == "matmul" and c["ranks"] == 1
                          and registry.entry("matmul", c["impl"]).runtime == registry.JAX_RUNTIME}, name
        assert got - matmul == {("sgd", "jax_auto", None, 1), ("stencil", "jax_auto", None, 1)}, name


def test_compare_launches_pass_the_flag_and_its_records_validate():
    """The sweep's launch groups run as compare runs them (run_configurations: the launcher,
    --devices for a single-process run, the record finished): op_by_op_s in the P = 1 JAX
    records only, every record valid against the schema."""
    from jaxpar import compare

    raw = {"implementations": ["c_mpi", "jax"], "ranks": [1, 2], "repeats": 1, "timeout": 120,
           "sweep": [{"name": "m", "workload": "matmul", "algorithms": ["summa", "allgather"],
                      "sizes": [{"m": 16, "k": 16, "n": 16}], "op_by_op": True,
                      "op_by_op_repeats": 1}]}
    configs = sweep.plan(sweep.resolve(raw))
    env = compare.environment()
    got = [r for group in sweep.launch_groups(configs)
           for r in compare.run_configurations(group, {"core_gemm_gflops": {"float64": 1.0}}, env)]
    schema = record_schema()
    validator = jsonschema.Draft202012Validator(schema)
    timed = set()
    for r in got:
        assert r["status"] == "ok", (r["id"], r.get("error"), r.get("stderr"))
        errors = [e.message for e in validator.iter_errors(r)]
        assert not errors, (r["id"], errors)
        if r["op_by_op_s"] is not None:
            assert r["op_by_op"]["verified"] is True and r["op_by_op"]["repeats"] == 1
            timed.add((r["impl"], r["algorithm"], r["launch"], r["ranks"]))
        else:
            assert r["op_by_op"] is None
    assert timed == {("jax", "summa", "single-process", 1), ("jax", "allgather", "single-process", 1)}
    assert len(got) == len(configs) == 10  # c_mpi and jax at P = 1, 2; jax at P = 2 both ways
    broken = next(r for r in got if r["op_by_op_s"] is not None)
    assert not validator.is_valid({**broken, "ranks": 2})  # an op-by-op time is a P = 1 one
    assert not validator.is_valid({**broken, "op_by_op": None})
