"""The sweep config of `python -m jaxpar.compare`: a TOML file, the embedded default
and command-line overrides, read and validated into a resolved config (every sweep with
its implementations, algorithms, launch modes, ranks, dtypes, sizes and options), with a
clear ConfigError for anything wrong, before anything runs. jaxpar.harness.sweep expands
it into configurations.

A config is a list of [[sweep]] tables. Each sweep is the product
implementations x algorithms x launch modes x ranks x sizes x dtypes of one
workload; keys at the top level of the file are defaults for every sweep.
Strong scaling runs every size as given at every P; weak scaling takes the
sizes as per rank and multiplies the workload's weak dimension by P.

Workloads, implementations, algorithms and launch modes come from
jaxpar/registry.py and the problem definitions; nothing here is specific to
one workload. This module imports neither MPI nor JAX: the compare process
only launches.
"""
from __future__ import annotations

import math
import numbers
import tomllib
from dataclasses import dataclass
from importlib import resources

from jaxpar import registry

LAUNCH_MODES = ("mpirun", "single-process")
SCALING_MODES = ("strong", "weak")
DTYPES = ("float32", "float64")
IMPLEMENTATIONS = registry.IMPLEMENTATIONS


@dataclass(frozen=True)
class Workload:
    """What the sweep needs of a workload, read from its problem definition."""
    size_keys: tuple        # the runner's size flags, in order (d_in is --d-in)
    weak_key: str           # the size multiplied by P in weak scaling
    algorithms: tuple       # () where the workload has none
    options: dict           # name -> jaxpar.core.problem.Option
    time_field: str         # the record's summary of the repeat times
    time_unit: str          # what one such time measures
    flops_field: str        # the record's FLOP count per time unit


def _workload(name):
    p = registry.problem(name)
    return Workload(tuple(p.sizes), p.weak_size, p.algorithms, dict(p.options), p.time_field,
                    p.time_unit, p.flops_field)


WORKLOADS = {name: _workload(name) for name in registry.WORKLOADS}

DEFAULTS = {"scaling": "strong", "implementations": None, "algorithms": None,
            "launch": list(LAUNCH_MODES), "ranks": [1, 2], "dtypes": ["float64"],
            "repeats": 5, "warmup": 1, "seed": 0, "timeout": 300,
            "pinning": ["pinned"], "op_by_op": False, "op_by_op_repeats": 3}
PINNING_MODES = ("pinned", "unpinned")  # unpinned: the runner's --no-pin, affinity as launched
OPTION_KEYS = {key for w in WORKLOADS.values() for key in w.options}
SWEEP_KEYS = set(DEFAULTS) | OPTION_KEYS | {"name", "workload", "sizes"}
TOP_KEYS = (SWEEP_KEYS - {"name", "workload", "sizes"}) | {"title", "hardware", "sweep"}
HARDWARE_DEFAULTS = {"gemm_n": 1024, "bandwidth_n": 1 << 24, "pingpong": True}


class ConfigError(ValueError):
    """An invalid config or flag: reported before anything runs (exit status 2)."""


def embedded(name: str) -> str:
    """The text of an embedded config: "default" or "quick"."""
    return resources.files("jaxpar").joinpath("configs", f"{name}.toml").read_text()


def parse_toml(text: str, source: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: malformed TOML: {exc}") from None


def load_file(path) -> dict:
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    return parse_toml(text, str(path))


# ---------------------------------------------------------------- overrides

def apply_overrides(raw: dict, overrides: dict, sizes: list, workloads: list | None) -> dict:
    """The raw config with command-line values in place of the file's.

    overrides: sweep keys (e.g. "ranks") and their values, set on every sweep.
    sizes: (workload or None, {key: value}) pairs from --size; each replaces the
    sizes of the sweeps it fits, keys it leaves out taken from their first size.
    workloads: keep only the sweeps of these workloads.
    """
    raw = dict(raw)
    if not isinstance(raw.get("sweep"), list):
        return raw  # resolve() reports it
    sweeps = [dict(s) if isinstance(s, dict) else s for s in raw["sweep"]]
    if workloads is not None:
        for w in workloads:
            _choice("workload", w, WORKLOADS, "--workloads")
        sweeps = [s for s in sweeps if isinstance(s, dict) and s.get("workload") in workloads]
        if not sweeps:
            raise ConfigError(f"the config has no sweep of workload(s) {', '.join(workloads)}")
    for value in overrides.get("implementations", []):
        _choice("implementation", value, IMPLEMENTATIONS, "--impls")
    for key, value in overrides.items():
        raw[key] = value
        for s in sweeps:
            if not isinstance(s, dict):
                continue
            spec = WORKLOADS.get(s.get("workload"))
            if key == "implementations" and spec:
                # --impls names implementations of any workload: each sweep keeps its own
                own = [i for i in value if i in registry.implementations(s["workload"])]
                s[key] = own or value  # none of its own: resolve() names the unknown ones
            elif key != "algorithms" or (spec and spec.algorithms):
                s[key] = value
    new_sizes = {}
    for workload, entry in sizes:
        fits = [i for i, s in enumerate(sweeps) if isinstance(s, dict) and s.get("workload") in WORKLOADS
                and (workload == s["workload"] if workload
                     else set(entry) <= set(WORKLOADS[s["workload"]].size_keys))]
        if not fits:
            raise ConfigError(f"--size {_format_size_flag(workload, entry)} fits no sweep "
                              "(the keys name no workload's sizes, or no sweep has that workload)")
        for i in fits:
            old = sweeps[i].get("sizes")
            first = old[0] if isinstance(old, list) and old and isinstance(old[0], dict) else {}
            new_sizes.setdefault(i, []).append({**first, **entry})
    for i, new in new_sizes.items():
        sweeps[i]["sizes"] = new
    raw["sweep"] = sweeps
    return raw


def _format_size_flag(workload, entry):
    return (f"{workload}:" if workload else "") + ",".join(f"{k}={v}" for k, v in entry.items())


def parse_size_flag(text: str):
    """`[WORKLOAD:]key=value,...` -> (workload or None, {key: int})."""
    workload, _, body = text.rpartition(":")
    entry = {}
    for item in body.split(","):
        key, eq, value = item.strip().partition("=")
        try:
            if not eq:
                raise ValueError
            entry[key.strip().replace("-", "_")] = int(value)
        except ValueError:
            raise ConfigError(f"--size {text!r}: expected [WORKLOAD:]KEY=INT[,KEY=INT...], "
                              "e.g. m=512,k=512,n=512") from None
    if workload:
        _choice("workload", workload, WORKLOADS, f"--size {text}")
        unknown = set(entry) - set(WORKLOADS[workload].size_keys)
        if unknown:
            raise ConfigError(f"--size {text}: {workload} has no size {', '.join(sorted(unknown))}; "
                              f"its sizes are {', '.join(WORKLOADS[workload].size_keys)}")
    return workload or None, entry


# ---------------------------------------------------------------- validation

def resolve(raw: dict) -> dict:
    """Validate a raw config; return {"title", "hardware", "sweeps": [complete sweeps]}."""
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(sorted(TOP_KEYS))}")
    hardware = raw.get("hardware", {})
    if not isinstance(hardware, dict):
        raise ConfigError("[hardware] must be a table")
    unknown = set(hardware) - set(HARDWARE_DEFAULTS)
    if unknown:
        raise ConfigError(f"unknown [hardware] key(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(HARDWARE_DEFAULTS)}")
    hardware = {**HARDWARE_DEFAULTS, **hardware}
    _positive_int("[hardware] gemm_n", hardware["gemm_n"])
    _positive_int("[hardware] bandwidth_n", hardware["bandwidth_n"])
    if not isinstance(hardware["pingpong"], bool):
        raise ConfigError(f"[hardware] pingpong must be true or false, got {hardware['pingpong']!r}")
    title = raw.get("title", "jaxpar comparison")
    if not isinstance(title, str):
        raise ConfigError("title must be a string")
    sweeps = raw.get("sweep")
    if not isinstance(sweeps, list) or not sweeps:
        raise ConfigError("the config has no [[sweep]] tables: nothing to run")
    defaults = {**DEFAULTS, **{k: v for k, v in raw.items() if k in SWEEP_KEYS}}
    resolved, names = [], set()
    for index, sweep in enumerate(sweeps, 1):
        s = _resolve_sweep(sweep, defaults, index)
        if s["name"] in names:
            raise ConfigError(f"two sweeps are named {s['name']!r}; give each a unique name")
        names.add(s["name"])
        resolved.append(s)
    return {"title": title, "hardware": hardware, "sweeps": resolved}


NAME_MAX = 200
LONGEST_PLOT_SUFFIX = "_efficiency.svg"  # report.plot_efficiency: the longest file name a sweep name goes into


def _check_name(name, where):
    """A sweep name names plot files: printable, no slash, short enough for a file name."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: name must be a non-empty string")
    if not name.isprintable() or any(c in name for c in "/\\"):
        raise ConfigError(f"{where}: name {name!r} must be printable characters only: no slash, "
                          "backslash, NUL, newline or other control character")
    if len(name) > NAME_MAX or len((name + LONGEST_PLOT_SUFFIX).encode()) > 254:
        raise ConfigError(f"{where}: name {name[:40]!r}... is too long ({len(name)} characters, "
                          f"{len(name.encode())} bytes in UTF-8): at most {NAME_MAX} characters, and "
                          f"{254 - len(LONGEST_PLOT_SUFFIX)} bytes, as it names plot files")


def _resolve_sweep(sweep, defaults, index):
    where = f"sweep {index}"
    if not isinstance(sweep, dict):
        raise ConfigError(f"{where}: [[sweep]] entries must be tables")
    unknown = set(sweep) - SWEEP_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(sorted(SWEEP_KEYS))}")
    if "workload" not in sweep:
        raise ConfigError(f"{where}: no workload (one of {', '.join(WORKLOADS)})")
    workload = _choice("workload", sweep["workload"], WORKLOADS, where)
    spec = WORKLOADS[workload]
    for key in OPTION_KEYS - set(spec.options):
        if key in sweep:
            raise ConfigError(f"{where}: {key!r} does not apply to {workload}")
    if "algorithms" in sweep and not spec.algorithms:
        raise ConfigError(f"{where}: {workload} has no algorithms; remove 'algorithms'")
    s = {**defaults, **sweep}
    if "name" in sweep:
        _check_name(sweep["name"], where)
        where = f"sweep {sweep['name']!r}"
    scaling = _choice("scaling", s["scaling"], SCALING_MODES, where)
    impls = registry.implementations(workload)
    if "implementations" not in sweep and isinstance(s["implementations"], list):
        # a top-level list may name implementations of other workloads (keras is SGD's only):
        # each sweep keeps its own; the unknown ones are still errors
        for value in s["implementations"]:
            _choice("implementation", value, IMPLEMENTATIONS, "implementations")
        own = [i for i in s["implementations"] if i in impls]
        s["implementations"] = own or s["implementations"]
    out = {"name": sweep.get("name", f"{workload}-{scaling}-{index}"), "workload": workload,
           "scaling": scaling,
           "implementations": _choices("implementation", list(impls) if s["implementations"] is None
                                       else s["implementations"], impls, where),
           "algorithms": (_choices("algorithm", list(spec.algorithms[:1]) if s["algorithms"] is None
                                   else s["algorithms"], spec.algorithms, where) if spec.algorithms else []),
           "launch": _choices("launch mode", s["launch"], LAUNCH_MODES, where),
           "ranks": [_positive_int(f"{where}: ranks (P)", p) for p in _list(s["ranks"], "ranks", where)],
           "dtypes": _choices("dtype", s["dtypes"], DTYPES, where),
           "repeats": _positive_int(f"{where}: repeats", s["repeats"]),
           "warmup": _int_at_least(f"{where}: warmup", s["warmup"], 0),
           "seed": _int_at_least(f"{where}: seed", s["seed"], 0),
           "timeout": _positive_number(f"{where}: timeout", s["timeout"]),
           "pinning": _choices("pinning mode", s["pinning"], PINNING_MODES, where),
           "op_by_op": _op_by_op(s["op_by_op"], where),
           "op_by_op_repeats": _positive_int(f"{where}: op_by_op_repeats", s["op_by_op_repeats"]),
           "options": {}}
    if len(set(out["ranks"])) != len(out["ranks"]):
        raise ConfigError(f"{where}: ranks {out['ranks']} repeat a value")
    for key, option in spec.options.items():
        value = s.get(key, option.default)
        if option.kind is int:
            _int_at_least(f"{where}: {key}", value, option.low)
        elif not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
            raise ConfigError(f"{where}: {key} must be a finite number, got {value!r}")
        out["options"][key] = value
    if "sizes" not in s:
        raise ConfigError(f"{where}: no sizes; give a list of tables with keys "
                          f"{', '.join(spec.size_keys)}")
    out["sizes"] = []
    for size in _list(s["sizes"], "sizes", where):
        if not isinstance(size, dict):
            raise ConfigError(f"{where}: each size must be a table such as "
                              "{" + ", ".join(f"{k} = 64" for k in spec.size_keys) + "}")
        missing, extra = set(spec.size_keys) - set(size), set(size) - set(spec.size_keys)
        if missing or extra:
            raise ConfigError(f"{where}: a {workload} size needs exactly the keys "
                              f"{', '.join(spec.size_keys)} (missing: {', '.join(sorted(missing)) or 'none'}; "
                              f"unknown: {', '.join(sorted(extra)) or 'none'})")
        out["sizes"].append({k: _positive_int(f"{where}: size {k}", size[k]) for k in spec.size_keys})
    from jaxpar.harness.sweep import plan_sweep  # the expansion, which needs a resolved sweep

    if not plan_sweep(out):
        raise ConfigError(f"{where}: no configuration to run (launch {out['launch']} fits none of "
                          f"the implementations {out['implementations']}; the MPI ones need mpirun)")
    return out


JAX_IMPLEMENTATIONS = tuple(dict.fromkeys(e.impl for e in registry.ENTRIES
                                           if e.runtime == registry.JAX_RUNTIME))


def _op_by_op(value, where):
    """The op_by_op key: true (every JAX implementation, runtime "jax", at P = 1), false, or
    a list of such implementations (SGD's and the stencil's shard_map and pmap programs
    recompile every primitive on every un-jitted call in JAX 0.10: seconds a run)."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: op_by_op must be true, false or a non-empty list of JAX "
                          f"implementations ({', '.join(JAX_IMPLEMENTATIONS)}), got {value!r}")
    for impl in value:
        if impl in IMPLEMENTATIONS and impl not in JAX_IMPLEMENTATIONS:
            raise ConfigError(f"{where}: op_by_op names {impl!r}, which is no JAX implementation "
                              f"of runtime {registry.JAX_RUNTIME!r}; those are "
                              f"{', '.join(JAX_IMPLEMENTATIONS)}")
        _choice("implementation", impl, JAX_IMPLEMENTATIONS, f"{where}: op_by_op")
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: op_by_op {value} repeats a value")
    return list(value)


def op_by_op_repeats(sweep, impl, ranks) -> int | None:
    """The op-by-op runs a configuration of the sweep gets (the runner's --op-by-op-repeats),
    or None: only a JAX implementation (runtime "jax") at P = 1 that the sweep's op_by_op
    names, or every one where it is true."""
    chosen = sweep.get("op_by_op", False)
    if ranks != 1 or registry.entry(sweep["workload"], impl).runtime != registry.JAX_RUNTIME:
        return None
    if chosen is True or (isinstance(chosen, list) and impl in chosen):
        return sweep.get("op_by_op_repeats", DEFAULTS["op_by_op_repeats"])
    return None


def _list(value, what, where):
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: {what} must be a non-empty list, got {value!r}")
    return value


def _choice(kind, value, allowed, where):
    if value not in allowed:
        raise ConfigError(f"{where}: unknown {kind} {value!r}; choose from {', '.join(allowed)}")
    return value


def _choices(kind, values, allowed, where):
    values = _list(values, kind + "s", where)
    for v in values:
        _choice(kind, v, allowed, where)
    if len(set(values)) != len(values):
        raise ConfigError(f"{where}: {kind}s {values} repeat a value")
    return list(values)


def _int_at_least(what, value, low):
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{what} must be an integer >= {low}, got {value!r}")
    return value


def _positive_int(what, value):
    return _int_at_least(what, value, 1)


def _positive_number(what, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0 \
            or not math.isfinite(value):
        raise ConfigError(f"{what} must be a positive number of seconds, got {value!r}")
    return value


# ---------------------------------------------------------------- the plan
