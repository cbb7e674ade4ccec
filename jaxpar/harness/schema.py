"""The JSON schema of a compare record: jaxpar/schema/record.schema.json (what every
workload shares) plus, from the registry, the workloads, implementations and
algorithms, and each workload's sizes, time summary, FLOP count and error fields, and
which implementations may carry an op-by-op time (op_by_op_s: runtime "jax", P = 1).

    python -m jaxpar.harness.schema      # the whole schema
"""
from __future__ import annotations

import json
from importlib import resources

from jaxpar import registry


def record_schema() -> dict:
    schema = json.loads(resources.files("jaxpar").joinpath("schema", "record.schema.json").read_text())
    props = schema["properties"]
    props["workload"] = {"enum": list(registry.WORKLOADS)}
    props["impl"] = {"enum": list(registry.IMPLEMENTATIONS)}
    algorithms = list(dict.fromkeys(a for e in registry.ENTRIES for a in e.algorithms))
    props["algorithm"] = {"enum": algorithms + [None]}
    for workload in registry.WORKLOADS:
        problem = registry.problem(workload)
        props[problem.time_field] = {"$ref": "#/$defs/summary"}
        sizes = {"required": list(problem.sizes), "additionalProperties": False,
                 "properties": {key: {} for key in problem.sizes}}
        then = {"properties": {"sizes": sizes}}
        if not problem.algorithms:
            then["properties"]["algorithm"] = {"const": None}
        schema["allOf"].append({"if": {"properties": {"workload": {"const": workload}}}, "then": then})
        schema["allOf"].append({
            "if": {"properties": {"workload": {"const": workload},
                                  "status": {"enum": ["ok", "failed_check"]}},
                   "required": ["workload", "status"]},
            "then": {"required": [problem.time_field, problem.flops_field, *problem.error_fields]
                     + ([problem.curve.field] if problem.curve else [])}})
    # an op-by-op time is of a JAX implementation (runtime "jax") at P = 1 only (jaxpar.run)
    jax_impls = list(dict.fromkeys(e.impl for e in registry.ENTRIES if e.runtime == registry.JAX_RUNTIME))
    schema["allOf"].append({
        "if": {"properties": {"op_by_op_s": {"type": "object"}}, "required": ["op_by_op_s"]},
        "then": {"properties": {"impl": {"enum": jax_impls}, "ranks": {"const": 1},
                                "op_by_op": {"type": "object", "required": ["verified"]}},
                 "required": ["op_by_op"]}})
    return schema


if __name__ == "__main__":
    print(json.dumps(record_schema(), indent=1))
