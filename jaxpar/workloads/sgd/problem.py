"""The data-parallel SGD problem: a one-hidden-layer MLP on a seeded regression task.

    yhat = tanh(x W1 + b1) W2 + b2,   loss_t = 1/(2B) sum_i ||yhat_i - y_i||^2

Step t uses the global batch rows (t B + i) mod n, i < B, and plain SGD with
learning rate lr. Every rank passes the same global x, y and initial params
(a dict of W1, b1, W2, b2) and gets (params, losses) back. The reference is
the single-process float64 numpy loop. The FLOPs per step are those of the
five gemms (two forward, three backward); weak scaling grows B with P.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from jaxpar.core.accuracy import max_relative_error
from jaxpar.core.problem import (DTYPES, Curve, Option, Problem, check_float_matrix,
                                 check_positive_int, describe_array)

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def sgd_problem(n: int, d_in: int, h: int, d_out: int, dtype: str = "float64", seed: int = 0):
    """A learnable regression problem for the MLP yhat = tanh(x W1 + b1) W2 + b2.

    Returns (x, y, params): x (n x d_in) standard normal, y (n x d_out) the
    output of a random teacher MLP of the same shape plus 1% noise, and params,
    the student's starting point: LeCun-normal weights drawn independently of
    the teacher and zero biases. All rounded to dtype.
    """
    rng = np.random.default_rng(seed)

    def layer(fan_in, fan_out):
        return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)

    x = rng.standard_normal((n, d_in))
    teacher_hidden = np.tanh(x @ layer(d_in, h) + 0.1 * rng.standard_normal(h))
    y = teacher_hidden @ layer(h, d_out) + 0.1 * rng.standard_normal(d_out)
    y += 0.01 * y.std() * rng.standard_normal(y.shape)
    params = {"W1": layer(d_in, h), "b1": np.zeros(h), "W2": layer(h, d_out), "b2": np.zeros(d_out)}
    cast = lambda a: np.ascontiguousarray(a, dtype=DTYPES[dtype])
    return cast(x), cast(y), {name: cast(p) for name, p in params.items()}


def sgd_reference(x, y, params, *, steps, batch, lr):
    """(params, losses) of `steps` plain SGD steps on the MLP, single process, float64.

    losses[t] is the loss of step t's batch at the parameters before its update.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    p = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    losses = np.empty(steps)
    for t in range(steps):
        rows = (t * batch + np.arange(batch)) % x.shape[0]
        xb, yb = x[rows], y[rows]
        a = np.tanh(xb @ p["W1"] + p["b1"])
        r = a @ p["W2"] + p["b2"] - yb
        losses[t] = 0.5 / batch * np.sum(r * r)
        g = r / batch  # d loss / d yhat
        da = (g @ p["W2"].T) * (1.0 - a * a)
        grads = {"W1": xb.T @ da, "b1": da.sum(0), "W2": a.T @ g, "b2": g.sum(0)}
        for name in p:
            p[name] -= lr * grads[name]
    return p, losses


def _finite(a):
    """Whether a is all finite (None if it is not a float array): compared across ranks."""
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return bool(np.isfinite(a).all())
    return None


class SGD(Problem):
    name = "sgd"
    sizes = {"n": "samples in the data set", "d_in": "input features", "hidden": "hidden units",
             "d_out": "outputs", "batch": "global batch size", "steps": "SGD steps per run"}
    weak_size = "batch"
    options = {"lr": Option(0.1, float, "learning rate")}
    time_field, time_unit, flops_field = "time_per_step_s", "step", "flops_per_step"
    error_fields = ("max_rel_error_params", "max_rel_error_losses")
    # T dependent steps, each a few reductions whose order changes with the number of
    # ranks: the float64 bound is looser than a single product's.
    tolerance = {"float64": 1e-9, "float32": 1e-4}
    curve = Curve("losses", "SGD loss curves", "step", "batch loss", "loss")

    def size_label(self, sizes):
        return (f"B={sizes['batch']} {sizes['d_in']}-{sizes['hidden']}-{sizes['d_out']} "
                f"T={sizes['steps']} N={sizes['n']}")

    def time_divisor(self, sizes, options):
        return sizes["steps"]

    def inputs(self, sizes, dtype, seed):
        return sgd_problem(sizes["n"], sizes["d_in"], sizes["hidden"], sizes["d_out"], dtype, seed)

    def arguments(self, sizes, options):
        return {"steps": sizes["steps"], "batch": sizes["batch"], "lr": options["lr"]}

    def describe(self, x, y, params, *, steps, batch, lr):
        arrays = (x, y) + (tuple(params.get(n) for n in PARAM_NAMES) if isinstance(params, dict) else ())
        described = (sorted((str(k), describe_array(v)) for k, v in params.items())
                     if isinstance(params, dict) else describe_array(params))
        return (describe_array(x), describe_array(y), described, [_finite(a) for a in arrays],
                repr(steps), repr(batch), repr(lr))

    def validate(self, x, y, params, *, steps, batch, lr):
        check_float_matrix("x", x, " (samples x features)")
        check_float_matrix("y", y, " (samples x features)")
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y must have the same number of rows (samples): "
                             f"x has {x.shape[0]}, y has {y.shape[0]}")
        if not isinstance(params, dict):
            raise ValueError(f"params must be a dict with keys {', '.join(PARAM_NAMES)}, "
                             f"got {type(params).__name__}")
        missing = [name for name in PARAM_NAMES if name not in params]
        extra = sorted(str(name) for name in params if name not in PARAM_NAMES)
        if missing or extra:
            raise ValueError(f"params must have exactly the keys {', '.join(PARAM_NAMES)}; "
                             f"missing: {missing or 'none'}, unexpected: {extra or 'none'}")
        for name in PARAM_NAMES:
            if not isinstance(params[name], np.ndarray):
                raise ValueError(f"params[{name!r}] must be a numpy array, got {type(params[name]).__name__}")
        if params["W1"].ndim != 2:
            raise ValueError(f"params['W1'] must be 2-D (d_in x hidden), got shape {params['W1'].shape}")
        (d_in, d_out), h = (x.shape[1], y.shape[1]), params["W1"].shape[1]
        if h == 0:
            raise ValueError("params['W1'] has no columns: the hidden layer is empty")
        expected = {"W1": (d_in, h), "b1": (h,), "W2": (h, d_out), "b2": (d_out,)}
        for name, shape in expected.items():
            if params[name].shape != shape:
                raise ValueError(
                    f"params[{name!r}] has shape {params[name].shape}, expected {shape} for x with "
                    f"{d_in} columns, y with {d_out} columns and {h} hidden units (the columns of W1)")
        arrays = {"x": x, "y": y, **{f"params[{name!r}]": params[name] for name in PARAM_NAMES}}
        if len({a.dtype for a in arrays.values()}) > 1:
            raise ValueError("mixed dtypes (" + ", ".join(f"{k} {a.dtype}" for k, a in arrays.items())
                             + "); convert all to float64 or all to float32")
        check_positive_int("steps", steps)
        check_positive_int("batch", batch)
        if not isinstance(lr, numbers.Real) or isinstance(lr, bool) or not math.isfinite(lr):
            raise ValueError(f"lr must be a finite number, got {lr!r}")
        for name, a in arrays.items():
            if not np.isfinite(a).all():
                raise ValueError(f"{name} contains non-finite values (NaN or inf)")
        params = {name: np.ascontiguousarray(params[name]) for name in PARAM_NAMES}
        return ((np.ascontiguousarray(x), np.ascontiguousarray(y), params),
                {"steps": int(steps), "batch": int(batch), "lr": float(lr)})

    def check(self, inputs, arguments, result, dtype):
        (params, losses), tolerance = result, self.tolerance[dtype]
        ref_params, ref_losses = sgd_reference(*inputs, **arguments)
        errors = {"max_rel_error_params": max(max_relative_error(params[k], ref_params[k])
                                              for k in ref_params),
                  "max_rel_error_losses": max_relative_error(losses, ref_losses)}
        return {**errors, "tolerance": tolerance,
                "verified": all(np.isfinite(e) and e <= tolerance for e in errors.values())}

    def record(self, sizes, options, dtype, summary, result, algorithm, details):
        b, d_in, h, d_out = sizes["batch"], sizes["d_in"], sizes["hidden"], sizes["d_out"]
        flops = 4.0 * b * d_in * h + 6.0 * b * h * d_out  # the gemms: 2 forward, 3 backward
        losses = result[1]
        return {"lr": options["lr"], "samples_per_s": b / summary["median"],
                "samples_per_s_best": b / summary["min"], "flops_per_step": flops,
                "gflops": flops / summary["median"] / 1e9,
                "allreduce_bytes": (d_in * h + h + h * d_out + d_out + 1) * np.dtype(dtype).itemsize,
                "final_loss": float(losses[-1]), "losses": [float(v) for v in losses]}

    def compute_seconds(self, record, core_gflops, bandwidth_gbps=None):
        """The step's gemm FLOPs at P x the core rate; the elementwise work, the batch
        gather and the update are left out."""
        return record["flops_per_step"] / (record["ranks"] * core_gflops * 1e9)

    def comm_seconds(self, record, comm):
        """One all-reduce of the packed gradients and loss per step."""
        return comm.seconds("allreduce", record["allreduce_bytes"], record["ranks"])

    def local_work(self, record):
        """One step of the busiest rank, whose slice of the batch has ceil(B/P) rows: forward
        x W1 (rows, d_in, h) and a W2 (rows, h, d_out); backward dW2 = a^T g (h, rows, d_out),
        g W2^T (rows, d_out, h) and dW1 = x^T da (d_in, rows, h); the tanh of rows x h
        elements. Left out as negligible beside these: the bias terms and their gradients,
        the residual, the tanh derivative and the update (each O(rows h) or O(d_in h))."""
        s = record["sizes"]
        rows, d_in, h, d_out = math.ceil(s["batch"] / record["ranks"]), s["d_in"], s["hidden"], s["d_out"]
        return [("gemm", rows, d_in, h, 1), ("gemm", rows, h, d_out, 1),
                ("gemm", h, rows, d_out, 1), ("gemm", rows, d_out, h, 1),
                ("gemm", d_in, rows, h, 1), ("tanh", rows * h, 1)]


PROBLEM = SGD()
