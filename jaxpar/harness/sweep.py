"""What `python -m jaxpar.compare` runs: a resolved config (jaxpar.harness.config)
expanded into configurations, each keyed by a stable id, their runner arguments, and the
launch groups that share one launch.

Strong scaling runs every size as given at every P; weak scaling takes the sizes as per
rank and multiplies the workload's weak dimension by P. Nothing here is specific to one
workload; this module imports neither MPI nor JAX.
"""
from __future__ import annotations

import hashlib
import json

from jaxpar import registry
# The config's names that compare and the report read through the sweep.
from jaxpar.harness.config import (DTYPES, IMPLEMENTATIONS, LAUNCH_MODES, WORKLOADS,  # noqa: F401
                                   ConfigError, apply_overrides, embedded, load_file,
                                   op_by_op_repeats, parse_size_flag, parse_toml, resolve)


def plan(resolved: dict) -> list[dict]:
    """Every configuration of every sweep, once each, in run order.

    A configuration shared by two sweeps (say P = 1 of a strong and a weak
    sweep) runs once; its "sweeps" lists both.
    """
    configs = {}
    for sweep in resolved["sweeps"]:
        for config in plan_sweep(sweep):
            if config["id"] in configs:
                configs[config["id"]]["sweeps"].append(sweep["name"])
            else:
                configs[config["id"]] = config
    return list(configs.values())


def plan_sweep(sweep: dict) -> list[dict]:
    out = []
    for dtype in sweep["dtypes"]:
        for size in sweep["sizes"]:
            for impl in sweep["implementations"]:
                entry = registry.entry(sweep["workload"], impl)
                algorithms = [a for a in sweep["algorithms"] if a in entry.algorithms] or [None]
                if entry.algorithms and algorithms == [None]:
                    continue  # none of the sweep's algorithms is one of this implementation's
                for algorithm in algorithms:
                    for launch in sweep["launch"]:
                        if launch not in entry.launch_modes:
                            continue
                        for ranks in sweep["ranks"]:
                            for pinning in sweep.get("pinning", ["pinned"]):
                                config = configuration(sweep, impl, algorithm, launch, ranks, dtype,
                                                       size, pinning == "pinned")
                                if config["id"] not in {c["id"] for c in out}:
                                    out.append(config)
    return out


def configuration(sweep, impl, algorithm, launch, ranks, dtype, size, pinned=True) -> dict:
    workload = sweep["workload"]
    spec = WORKLOADS[workload]
    if ranks == 1 and "single-process" in registry.entry(workload, impl).launch_modes:
        launch = "single-process"  # mpirun -n 1 is the same single process
    sizes = dict(size)
    if sweep["scaling"] == "weak":
        sizes[spec.weak_key] = registry.problem(workload).weak_scaled(sizes[spec.weak_key], ranks)
    key = {"workload": workload, "impl": impl, "algorithm": algorithm, "launch": launch,
           "ranks": ranks, "dtype": dtype, "sizes": sizes, "options": sweep["options"],
           "repeats": sweep["repeats"], "warmup": sweep["warmup"], "seed": sweep["seed"]}
    if not pinned:  # only then in the key: the ids of pinned runs stay as they were
        key["pinned"] = False
    op_by_op = op_by_op_repeats(sweep, impl, ranks)
    if op_by_op:  # likewise: only then in the key (and in the launch group's, launch_groups)
        key["op_by_op"] = op_by_op
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]
    shape = "x".join(str(sizes[k]) for k in spec.size_keys)
    unpinned = None if pinned else "unpinned"
    config_id = "-".join(filter(None, [workload, impl, algorithm, launch, unpinned, f"p{ranks}", dtype,
                                       shape, digest]))
    label = " ".join(filter(None, [workload, impl + (f"/{algorithm}" if algorithm else ""), launch,
                                   unpinned, f"P={ranks}", dtype, size_label(workload, sizes)]))
    return {"id": config_id, "label": label, **key, "pinned": pinned, "timeout": sweep["timeout"],
            "sweeps": [sweep["name"]]}


def size_label(workload: str, sizes: dict) -> str:
    return registry.problem(workload).size_label(sizes)


def per_rank_sizes(workload: str, sizes: dict, ranks: int) -> dict:
    """The sizes of one rank's share in weak scaling (the weak dimension divided by P, or
    as the workload scales it: the stencil's n by sqrt(P))."""
    key = WORKLOADS[workload].weak_key
    return {**sizes, key: registry.problem(workload).per_rank(sizes[key], ranks)}


def runner_args(configs) -> list[str]:
    """The `python -m jaxpar.run WORKLOAD` arguments of one launch (no --devices): one
    configuration, or a launch group (launch_groups): every algorithm and ladder size of
    its configurations (the runner measures each algorithm at each size)."""
    configs = [configs] if isinstance(configs, dict) else configs
    config, ladder = configs[0], registry.problem(configs[0]["workload"]).ladder
    args = ["--impl", config["impl"]]
    algorithms = list(dict.fromkeys(c["algorithm"] for c in configs if c["algorithm"]))
    if algorithms:
        args += ["--algorithm", *algorithms]
    for key, value in list(config["sizes"].items()) + list(config["options"].items()):
        values = list(dict.fromkeys(c["sizes"][key] for c in configs)) if key == ladder else [value]
        args += ["--" + key.replace("_", "-"), *map(str, values)]
    args += ["--dtype", config["dtype"], "--repeats", str(config["repeats"]),
             "--warmup", str(config["warmup"]), "--seed", str(config["seed"])]
    if not config.get("pinned", True):
        args.append("--no-pin")
    if config.get("op_by_op"):
        args += ["--op-by-op", "--op-by-op-repeats", str(config["op_by_op"])]
    return args


def launch_groups(configs: list[dict]) -> list[list[dict]]:
    """The configurations one launch runs, in plan order: those that differ only in their
    algorithm (and, for a workload with a ladder size (Problem.ladder), in that size) share
    one launch: a launch costs seconds (JAX: about 3.6, of imports and start-up), a message
    size of the collectives microseconds. The runner prepares, warms up and times each
    algorithm apart, one after the other. Each group is a full product of its algorithms
    and sizes, as the runner measures them."""
    groups = {}
    for c in configs:
        ladder = registry.problem(c["workload"]).ladder
        rest = {k: v for k, v in c.items() if k not in ("id", "label", "sweeps", "sizes", "algorithm")}
        rest["sizes"] = {k: v for k, v in c["sizes"].items() if k != ladder}
        groups.setdefault(json.dumps(rest, sort_keys=True), []).append(c)
    out = []
    for group in groups.values():
        ladder = registry.problem(group[0]["workload"]).ladder
        points = {(c["algorithm"], c["sizes"][ladder] if ladder else None) for c in group}
        algorithms = {c["algorithm"] for c in group}
        sizes = {c["sizes"][ladder] for c in group} if ladder else {None}
        if len(points) == len(group) == len(algorithms) * len(sizes):
            out.append(group)
        else:  # not a full product (a resumed sweep's remainder): one launch each
            out += [[c] for c in group]
    return out
