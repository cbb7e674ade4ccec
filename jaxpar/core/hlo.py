"""The collectives a compiled XLA program executes per call, read from its HLO text
(`compiled.as_text()`), so that a record says what ran rather than what the source asked for.

For each kind (all-reduce, all-gather, collective-permute, reduce-scatter, all-to-all, and
their asynchronous -start forms, counted apart), per call of the program:
  ops       the collective instructions executed;
  operands  their operands: a tuple all-reduce of W1, W2, b1, b2 and the loss is one op of
            five operands, which a transport may carry as one message or as five;
  bytes     the bytes of their results (for all-reduce and collective-permute, what each
            device sends and receives; for all-gather, the gathered result).
mpi4jax's operations are custom calls to its MPI bridge (custom_call_target
"mpi_allreduce_ffi", ...): each counts under "mpi4jax <operation>", its operands and bytes
those of the arrays it sends (operand_layout_constraints), or for a receive those it
receives (its result), the ordering token left out. A while loop's body counts as many times as
XLA's known_trip_count says; where XLA gives
none, once, and "trip_counts_known" is false. Computations reached through calls,
conditionals and fusions count once per reference.
"""
from __future__ import annotations

import json
import re

KINDS = ("all-reduce", "all-gather", "collective-permute", "reduce-scatter", "all-to-all")
ELEMENT_BYTES = {"pred": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "f16": 2, "bf16": 2, "s32": 4,
                 "u32": 4, "f32": 4, "s64": 8, "u64": 8, "f64": 8, "c64": 8, "c128": 16}

_HEADER = re.compile(r"^(?:ENTRY\s+)?%?(?P<name>[\w.\-]+)\s+\(.*->.*\{\s*$")
_INSTRUCTION = re.compile(r"=\s*(?P<shape>\([^=]*?\)|\S+)\s+(?P<op>[a-z][\w\-]*)\((?P<args>[^()]*)\)")
_ARRAY = re.compile(r"\b(?P<type>[a-z]+\d*)\[(?P<dims>[\d,]*)\]")
_CALLED = re.compile(r"\b(?:body|calls|to_apply|true_computation|false_computation)=%?([\w.\-]+)")
_BRANCHES = re.compile(r"branch_computations=\{([^}]*)\}")
_TRIP = re.compile(r'"known_trip_count":\{"n":"(\d+)"\}')
_MPI4JAX = re.compile(r'custom_call_target="mpi_(\w+?)(?:_ffi)?"')
_LAYOUTS = re.compile(r"operand_layout_constraints=\{(.*?)\}(?:,|$)")


def shape_bytes(shape: str) -> int:
    """Bytes of an HLO shape: an array type such as f64[64,256]{1,0}, or a tuple of them."""
    total = 0
    for array in _ARRAY.finditer(shape):
        if array["type"] not in ELEMENT_BYTES:
            continue
        count = 1
        for dim in filter(None, array["dims"].split(",")):
            count *= int(dim)
        total += ELEMENT_BYTES[array["type"]] * count
    return total


def _arrays(shape: str) -> list:
    """The arrays of a shape that carry data (an ordering token carries none)."""
    return [a for a in _ARRAY.finditer(shape) if a["type"] in ELEMENT_BYTES]


def _computations(text: str) -> tuple[dict, str | None]:
    """{name: [instruction lines]} of the module, and the name of its ENTRY computation."""
    computations, entry, current = {}, None, None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header and not line.startswith(" "):
            current = header["name"]
            computations[current] = []
            if line.startswith("ENTRY"):
                entry = current
        elif line.strip() == "}":
            current = None
        elif current is not None:
            computations[current].append(line)
    return computations, entry


def collectives(text: str) -> dict:
    """{"per_call": {kind: {"ops", "operands", "bytes"}}, "trip_counts_known": bool} of the
    HLO module text; per_call has only the kinds that occur."""
    computations, entry = _computations(text)
    if entry is None:
        raise ValueError("no ENTRY computation in the HLO text")
    known = True
    memo = {}

    def total(name, stack=()):
        nonlocal known
        if name in memo:
            return memo[name]
        if name in stack or name not in computations:
            return {}
        out = {}

        def add(counts, times=1):
            for kind, c in counts.items():
                mine = out.setdefault(kind, {"ops": 0, "operands": 0, "bytes": 0})
                for key in mine:
                    mine[key] += times * c[key]

        for line in computations[name]:
            instruction = _INSTRUCTION.search(line)
            if instruction:
                op = instruction["op"]
                kind = op[:-len("-start")] if op.endswith("-start") else op
                mpi = _MPI4JAX.search(line) if op == "custom-call" else None
                if kind in KINDS:
                    operands = [a for a in instruction["args"].split(",") if a.strip()]
                    add({op: {"ops": 1, "operands": len(operands),
                              "bytes": shape_bytes(instruction["shape"])}})
                elif mpi:
                    # the message: its operands' arrays (a send), else its result's (a recv)
                    layouts = _LAYOUTS.search(line)
                    shape = layouts[1] if layouts and _arrays(layouts[1]) else instruction["shape"]
                    add({f"mpi4jax {mpi[1]}": {"ops": 1, "operands": len(_arrays(shape)),
                                               "bytes": shape_bytes(shape)}})
            called = _CALLED.findall(line) + [c.strip().lstrip("%") for b in _BRANCHES.findall(line)
                                              for c in b.split(",") if c.strip()]
            trips = 1
            if " while(" in line:
                trip = _TRIP.search(line)
                if trip:
                    trips = int(trip[1])
                else:
                    known = False
            for callee in called:
                add(total(callee, stack + (name,)), trips if " while(" in line else 1)
        memo[name] = out
        return out

    return {"per_call": total(entry), "trip_counts_known": known}


def collectives_or_reason(compiled) -> dict:
    """collectives() of a compiled JAX executable; {"error": ...} where its text cannot be had
    or read, so that a record says why rather than nothing."""
    try:
        return collectives(compiled.as_text())
    except Exception as error:  # an executable without text, or HLO this parser does not know
        return {"error": f"{type(error).__name__}: {error}"}


if __name__ == "__main__":
    import sys

    print(json.dumps(collectives(sys.stdin.read()), indent=1))
