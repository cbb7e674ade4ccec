"""The talk's claims judged on synthetic records: each outcome (holds, does not hold, mixed,
not measured because a run failed), the derivations that recompute every figure, and a
tampered figure caught."""
import copy
import json

import pytest

from jaxpar import claims
from jaxpar.claims import heavy, verdict
from jaxpar.claims.verdict import FAILS, HOLDS, MIXED, NOT_MEASURED

SIZES = {"n": 64, "d_in": 4, "hidden": 8, "d_out": 2, "batch": 16, "steps": 3}


def record(impl, ranks, step_s, status="ok", launch=None, dtype="float64"):
    launch = launch or ("single-process" if impl.startswith("jax") and ranks == 1 else "mpirun")
    transport = {"c_mpi": "mpi", "mpi4py": "mpi"}.get(impl, "in-process" if launch == "single-process" else "gloo")
    r = {"id": f"sgd-{impl}-{launch}-p{ranks}-{dtype}", "workload": "sgd", "impl": impl, "algorithm": None,
         "launch": launch, "ranks": ranks, "dtype": dtype, "sizes": dict(SIZES), "status": status,
         "transport": transport, "sweeps": ["sgd-strong"], "local_s": None}
    if status == "ok":
        r["time_per_step_s"] = {"median": step_s, "min": step_s, "max": step_s, "q1": step_s,
                                "q3": step_s, "iqr": 0.0}
        r.update(max_rel_error_params=1e-15, max_rel_error_losses=2e-16, verified=True)
    else:
        r["error"] = "crashed: rank 1 exited 1"
    return r


META = {"environment": {"cpu_model": "Test CPU", "cpu_count": 2},
        "config": {"sweeps": [{"name": "sgd-strong", "workload": "sgd", "scaling": "strong"}]},
        "hardware": {}, "codesize": [
            {"workload": "sgd", "impl": "c_mpi", "sloc": 100, "tokens": 1000, "ccn_total": 20,
             "regions": {"gradient": {"sloc": 12}, "distribution": {"sloc": 9}}},
            {"workload": "sgd", "impl": "mpi4py", "sloc": 40, "tokens": 400, "ccn_total": 5,
             "regions": {"gradient": {"sloc": 6}, "distribution": {"sloc": 5}}},
            {"workload": "sgd", "impl": "jax", "sloc": 50, "tokens": 500, "ccn_total": 4,
             "regions": {"gradient": {"sloc": 1}, "distribution": {"sloc": 8}}}]}


def judge(claim, records, meta=META):
    return claim.evaluate(verdict.Context(records, meta))


def test_heavy_holds_where_jax_is_faster_at_every_p():
    v = judge(heavy, [record("c_mpi", 1, 2e-3), record("c_mpi", 2, 1e-3),
                      record("jax", 1, 1e-3), record("jax", 2, 0.5e-3)])
    assert v.verdict == HOLDS
    assert [round(f["value"], 12) for f in v.figures] == [0.5, 0.5]
    assert "Test CPU, 2 cores" in v.regime and "P = 1, 2" in v.regime


def test_heavy_does_not_hold_where_c_is_faster():
    v = judge(heavy, [record("c_mpi", 1, 1e-3), record("jax", 1, 3e-3)])
    assert v.verdict == FAILS and v.figures[0]["value"] == pytest.approx(3.0)
    assert "3.00× c_mpi's" in v.cause


def test_heavy_mixed_names_where_it_holds():
    v = judge(heavy, [record("c_mpi", 1, 2e-3), record("c_mpi", 2, 0.5e-3),
                      record("jax", 1, 1e-3), record("jax", 2, 1.5e-3)])
    assert v.verdict == MIXED
    assert "holds in 1 of 2: sgd float64 P = 1" in v.summary


def test_a_failed_run_makes_the_verdict_not_measured_with_the_reason():
    records = [record("c_mpi", 1, 0, status="crashed"), record("jax", 1, 1e-3)]
    out = {v["claim"]: v for v in claims.evaluate(records, META)}
    v = out[heavy.ID]
    assert v["verdict"] == NOT_MEASURED and v["figures"] == []
    assert "no configuration has both a verified c_mpi" in v["summary"] and "1 c_mpi run(s) failed" in v["summary"]


def test_every_claim_has_a_verdict_and_the_talks_words():
    out = claims.evaluate([record("c_mpi", 1, 2e-3), record("jax", 1, 1e-3)], META)
    assert len({v["claim"] for v in out}) == len(out) >= 15
    if not claims.TALK.is_file():
        pytest.skip(f"the talk is not beside this checkout ({claims.TALK})")
    plain = lambda text: " ".join(text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"').split())
    talk = plain(claims.TALK.read_text())
    for v in out:
        assert v["verdict"] in verdict.VERDICTS and v["summary"]
        for piece in v["quote"].split(" ... "):
            assert plain(piece) in talk, (v["claim"], piece)
        if v["verdict"] == NOT_MEASURED:
            assert v["summary"]  # the reason, never silence


def test_code_size_claims_read_the_regions():
    records = [record("c_mpi", 1, 2e-3), record("mpi4py", 1, 3e-3), record("jax", 1, 1e-3)]
    out = {v["claim"]: v for v in claims.evaluate(records, META)}
    autodiff = out["autodiff"]
    assert autodiff["verdict"] == HOLDS and "c_mpi 12 SLOC, mpi4py 6; JAX and Keras 1" in autodiff["deciding"]
    assert out["abstraction"]["verdict"] == HOLDS
    sloc = next(f for f in out["abstraction"]["figures"] if f["name"] == "sgd: jax SLOC ÷ c_mpi's")
    assert sloc["value"] == 0.5 and sloc["from"]["op"] == "ratio"


def test_figures_recompute_and_a_tampered_one_is_caught():
    records = [record("c_mpi", 1, 2e-3), record("c_mpi", 2, 1e-3), record("mpi4py", 1, 3e-3),
               record("jax", 1, 1e-3), record("jax", 2, 0.8e-3)]
    out = claims.evaluate(records, META)
    assert sum(len(v["figures"]) for v in out) > 5
    json.loads(json.dumps(out))  # plain JSON
    assert claims.recompute(out, records, META) == []
    tampered = copy.deepcopy(out)
    figure = next(f for v in tampered for f in v["figures"])
    figure["value"] *= 1.01
    assert len(claims.recompute(tampered, records, META)) == 1
    changed = copy.deepcopy(records)
    changed[0]["time_per_step_s"]["median"] *= 2  # a record that no longer says what the figure does
    assert claims.recompute(out, changed, META)


@pytest.mark.parametrize("derivation, expected", [
    ({"op": "value", "of": {"record": "a", "field": "t.median"}}, 2.0),
    ({"op": "ratio", "numerator": {"record": "a", "field": "t.median"},
      "denominator": {"record": "b", "field": "t.median"}}, 0.5),
    ({"op": "min", "of": [{"record": "a", "field": "t.median"}, {"record": "b", "field": "t.median"}]}, 2.0),
    ({"op": "max", "of": [{"record": "a", "field": "t.median"}, {"record": "b", "field": "t.median"}]}, 4.0),
    ({"op": "mean", "of": [{"record": "a", "field": "t.median"}, {"record": "b", "field": "t.median"}]}, 3.0),
    ({"op": "ratio", "numerator": {"codesize": {"workload": "w", "impl": "i", "field": "regions.g.sloc"}},
      "denominator": {"codesize": {"workload": "w", "impl": "i", "field": "sloc"}}}, 0.25),
])
def test_derivations(derivation, expected):
    by_id = {"a": {"t": {"median": 2.0}}, "b": {"t": {"median": 4.0}}}
    codesize = [{"workload": "w", "impl": "i", "sloc": 8, "regions": {"g": {"sloc": 2}}}]
    assert verdict.compute(derivation, by_id, codesize) == expected


@pytest.mark.parametrize("derivation, message", [
    ({"record": "missing", "field": "t.median"}, "not in results.jsonl"),
    ({"record": "a", "field": "t.nothing"}, "no field t.nothing"),
    ({"op": "ratio", "numerator": {"record": "a", "field": "t.median"},
      "denominator": {"record": "z", "field": "t.median"}}, "denominator is zero"),
])
def test_derivations_that_cannot_be_computed_say_why(derivation, message):
    with pytest.raises(verdict.NotMeasured, match=message):
        verdict.compute(derivation, {"a": {"t": {"median": 2.0}}, "z": {"t": {"median": 0}}}, [])
