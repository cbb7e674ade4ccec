"""The JSON schema of a compare record: jaxpar/schema/record.schema.json (what every
workload shares) plus, from the registry, the workloads, implementations and
algorithms, and each workload's sizes, time summary, FLOP count and error fields.

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
    return schema


if __name__ == "__main__":
    print(json.dumps(record_schema(), indent=1))
