"""The keras implementation in one process with 2 JAX CPU devices, no mpirun. It runs in a
subprocess, as the other single-process JAX tests do: jax_num_cpu_devices must be set before
JAX starts its backend, and this pytest process's JAX and Keras globals stay untouched."""
import importlib.metadata
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from jaxpar.core.accuracy import max_relative_error
from jaxpar.workloads.sgd.problem import PROBLEM, sgd_problem, sgd_reference

SIZES, STEPS, BATCH, LR = (37, 5, 7, 3), 9, 12, 0.1  # 2 divides the batch; 108 rows wrap past n

RUN = f"""
import json
import jax
jax.config.update("jax_num_cpu_devices", 2)
import jaxpar
from jaxpar import api
from jaxpar.workloads.sgd import keras as impl  # sets KERAS_BACKEND=jax before Keras loads
import keras

def settings():
    return [keras.config.floatx(), keras.config.dtype_policy().name]

x, y, params = jaxpar.sgd_problem(*{SIZES}, dtype="float64", seed=1)
out = {{"version": keras.__version__, "before": settings()}}
got, losses = jaxpar.sgd(x, y, params, "keras", steps={STEPS}, lr={LR}, batch={BATCH}, devices=2)
out["after_sgd"] = settings()
out["params"] = {{k: v.tolist() for k, v in got.items()}}
out["dtypes"] = sorted({{str(v.dtype) for v in [*got.values(), losses]}})
out["losses"] = losses.tolist()
prepared = api.prepare("sgd", "keras", x, y, params, steps={STEPS}, batch={BATCH}, lr={LR},
                       devices=2)
prepared.gather(prepared.run())
out["after_prepared"] = settings()
out["prepared"] = {{"type": type(prepared).__name__, "details": prepared.details,
                    "compile_seconds": prepared.compile_seconds, "ranks": prepared.ranks,
                    "launch": prepared.launch}}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def run():
    result = subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True, cwd=ROOT,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.splitlines()[-1])  # JSON keeps every float64 bit


def test_float64_trajectory_matches_the_reference(run):
    x, y, params = sgd_problem(*SIZES, dtype="float64", seed=1)
    ref_params, ref_losses = sgd_reference(x, y, params, steps=STEPS, batch=BATCH, lr=LR)
    tolerance = PROBLEM.tolerance["float64"]
    assert run["dtypes"] == ["float64"]
    assert sorted(run["params"]) == sorted(ref_params)
    for name, ref in ref_params.items():
        error = max_relative_error(np.array(run["params"][name]), ref)
        assert error <= tolerance, f"{name}: relative error {error:.3g} > {tolerance}"
    error = max_relative_error(np.array(run["losses"]), ref_losses)
    assert error <= tolerance, f"losses: relative error {error:.3g} > {tolerance}"


def test_prepared_run_records_keras_and_its_compile_time(run):
    prepared = run["prepared"]
    assert prepared["type"] == "PreparedRun"
    assert prepared["ranks"] == 2 and prepared["launch"] == "single-process"
    assert prepared["details"]["steps_per_execution"] == STEPS  # one pass of fit's loop (T jitted calls) runs every step
    assert prepared["details"]["keras"] == run["version"] == importlib.metadata.version("keras")
    assert prepared["compile_seconds"] > 0  # fit() compiles inside prepare(), timed by JAX's events


def test_fit_leaves_keras_global_dtype_settings_as_they_were(run):
    """The float64 run sets floatx and the dtype policy only for its own block."""
    assert run["before"] == ["float32", "float32"]
    assert run["after_sgd"] == run["before"] and run["after_prepared"] == run["before"]
