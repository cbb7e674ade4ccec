"""What the compiled program executes: jaxpar.core.hlo reads the collectives per call from
the HLO text, and every JAX record carries them (details.xla_collectives)."""
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from jaxpar.core import hlo
from jaxpar.harness.schema import record_schema

ROOT = Path(__file__).resolve().parent.parent

KNOWN = """
import json, sys
from functools import partial
import numpy as np
import jax, jax.numpy as jnp
from jax import lax
from jax.sharding import Mesh, PartitionSpec as P
jax.config.update("jax_num_cpu_devices", 2)
from jaxpar.core import hlo

mesh = Mesh(np.array(jax.devices()), ("x",))

@jax.jit
@partial(jax.shard_map, mesh=mesh, in_specs=(P(), P(), P()), out_specs=(P(), P("x"), P()))
def f(a, b, c):
    def body(i, carry):
        return tuple(0.5 * t for t in lax.psum(carry, "x"))   # one psum of a 3-tuple
    a, b, c = lax.fori_loop(0, 5, body, (a, b, c))
    return a, lax.ppermute(b, "x", [(0, 1), (1, 0)]), c

args = (jnp.ones((4, 3), jnp.float32), jnp.ones(7, jnp.float32), jnp.ones((2, 2), jnp.float32))
print(json.dumps(hlo.collectives(f.lower(*args).compile().as_text())))
"""


def test_a_tuple_psum_of_three_arrays_is_one_op_of_three_operands_per_iteration():
    out = subprocess.run([sys.executable, "-c", KNOWN], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    counted = json.loads(out.stdout.strip().splitlines()[-1])
    assert counted["trip_counts_known"] is True
    assert counted["per_call"]["all-reduce"] == {"ops": 5, "operands": 15, "bytes": 5 * 4 * (12 + 7 + 4)}
    assert counted["per_call"]["collective-permute"] == {"ops": 1, "operands": 1, "bytes": 4 * 7}
    assert set(counted["per_call"]) == {"all-reduce", "collective-permute"}


SYNTHETIC = """HloModule m

%add (a: f64[], b: f64[]) -> f64[] {
  ROOT %s = f64[] add(%a, %b)
}

%body (p: (s32[], f64[8])) -> (s32[], f64[8]) {
  %ar = f64[8]{0} all-reduce(%x), replica_groups={{0,1}}, to_apply=%add
  %ag = f64[16]{0} all-gather-start(%x), dimensions={0}
}

ENTRY %main (x: f64[8]) -> f64[8] {
  %w = (s32[], f64[8]) while(%t), condition=%cond, body=%body
  %c = f64[8]{0} collective-permute(%x), source_target_pairs={{0,1},{1,0}}
}
"""


def test_a_loop_without_a_known_trip_count_counts_once_and_says_so():
    counted = hlo.collectives(SYNTHETIC)
    assert counted["trip_counts_known"] is False
    assert counted["per_call"] == {"all-reduce": {"ops": 1, "operands": 1, "bytes": 64},
                                   "all-gather-start": {"ops": 1, "operands": 1, "bytes": 128},
                                   "collective-permute": {"ops": 1, "operands": 1, "bytes": 64}}
    known = SYNTHETIC.replace("body=%body", 'body=%body, backend_config={"known_trip_count":{"n":"7"}}')
    assert hlo.collectives(known)["per_call"]["all-reduce"] == {"ops": 7, "operands": 7, "bytes": 448}


@pytest.mark.parametrize("shape, expected", [("f64[64,256]{1,0}", 8 * 64 * 256), ("(f32[3]{0}, bf16[2,2]{1,0})", 12 + 8),
                                             ("f32[]", 4), ("token[]", 0)])
def test_shape_bytes(shape, expected):
    assert hlo.shape_bytes(shape) == expected


def test_unreadable_hlo_says_why():
    with pytest.raises(ValueError, match="no ENTRY computation"):
        hlo.collectives("HloModule m\n")

    class NoText:
        def as_text(self):
            raise RuntimeError("not available")

    assert hlo.collectives_or_reason(NoText()) == {"error": "RuntimeError: not available"}


def test_the_sgd_record_carries_the_tuple_all_reduce_of_each_step():
    """jax's SGD: one psum of (loss, 4 gradients) per step, a tuple of 5 operands, T times."""
    steps = 3
    out = subprocess.run([sys.executable, "-m", "jaxpar.run", "sgd", "--impl", "jax", "--devices", "2",
                          "--n", "256", "--d-in", "8", "--hidden", "16", "--d-out", "2", "--batch", "64",
                          "--steps", str(steps), "--repeats", "2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    record = json.loads(out.stdout.strip().splitlines()[-1])
    jsonschema.validate(record["details"], record_schema()["properties"]["details"])  # a runner record
    executed = record["details"]["xla_collectives"]
    elements = 8 * 16 + 16 + 16 * 2 + 2 + 1  # W1, b1, W2, b2 and the loss
    assert executed["per_call"]["all-reduce"] == {"ops": steps, "operands": 5 * steps,
                                                  "bytes": 8 * elements * steps}


MPI4JAX = """HloModule m

%body (p: (token[], s32[], f64[4])) -> (token[], s32[], f64[4]) {
  %allreduce_mpi.0 = (f64[4]{0}, token[]) custom-call(%x, %tok), custom_call_target="mpi_allreduce_ffi", operand_layout_constraints={f64[4]{0}, token[]}, custom_call_has_side_effect=true
  %send_mpi.1 = token[] custom-call(%y, %tok), custom_call_target="mpi_send_ffi", operand_layout_constraints={f64[2,3]{1,0}, token[]}
  %recv_mpi.2 = (f64[2,3]{1,0}, token[]) custom-call(%tok), custom_call_target="mpi_recv_ffi", operand_layout_constraints={token[]}
  %other = f64[4]{0} custom-call(%x), custom_call_target="something_else"
}

ENTRY %main (x: f64[4]) -> f64[4] {
  %w = (token[], s32[], f64[4]) while(%t), condition=%cond, body=%body, backend_config={"known_trip_count":{"n":"3"}}
}
"""


def test_mpi4jax_calls_count_what_they_send_or_receive():
    """mpi4jax's custom calls: an allreduce and a send by their operands, a receive by its
    result, the ordering token left out; another custom call is no collective."""
    assert hlo.collectives(MPI4JAX)["per_call"] == {
        "mpi4jax allreduce": {"ops": 3, "operands": 3, "bytes": 3 * 32},
        "mpi4jax send": {"ops": 3, "operands": 3, "bytes": 3 * 48},
        "mpi4jax recv": {"ops": 3, "operands": 3, "bytes": 3 * 48}}
