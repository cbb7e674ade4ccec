"""The shape of a workload's problem definition (jaxpar/workloads/<name>/problem.py).

A Problem says everything the harness needs to know about a workload without
importing MPI or JAX: its sizes, weak-scaling dimension, algorithms and
options, how to generate seeded inputs, validate them, compute the float64
reference and check a result, its FLOP count and ideal time, and which
record fields hold its time, rate and errors. The runner, the sweep, the
report and the API read it; none of them branches on a workload's name.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

DTYPES = {"float64": np.float64, "float32": np.float32}


@dataclass(frozen=True)
class Option:
    """A per-configuration setting that is not a size (a runner flag and a config key)."""
    default: int | float
    kind: type          # int: an integer >= low; float: a finite number
    help: str
    low: int = 1        # the smallest value of an int option


@dataclass(frozen=True)
class Curve:
    """A per-step series in the record (e.g. SGD losses) that the report overlays per problem."""
    field: str
    title: str
    xlabel: str
    ylabel: str
    stem: str           # the plot is <workload>_<stem>.png


class Problem:
    name: str
    sizes: dict                 # size key -> help; the runner's flags, in order (d_in is --d-in)
    weak_size: str              # the size multiplied by P in weak scaling
    ladder: str | None = None   # a size the runner takes several values of in one launch
                                # (a record each), e.g. message sizes: launches cost seconds
    algorithms: tuple = ()      # () where the workload has none
    options: dict = {}          # name -> Option
    time_field: str             # the record's summary of the repeat times
    time_unit: str              # what one such time measures ("run", "step")
    flops_field: str            # the record's FLOP count per time unit
    error_fields: tuple         # the record's relative errors
    tolerance: dict             # dtype -> bound on every error field
    curve: Curve | None = None
    limit: str = "gemm"         # the hardware limit of its rate: "gemm" (P x the core's GEMM
                                # rate, record["gflops"]) or "bandwidth" (the memory
                                # bandwidth of P cores, record["gbytes_per_s"])
    report_section: str | None = None  # "module:function": the workload's own section of the
                                # report, which the report imports lazily (so no matplotlib here)
                                # and calls as f(workload, records, outdir, save, fmt_time,
                                # markdown_table, Table) -> (markdown lines, tables, plot stems)

    def size_label(self, sizes: dict) -> str:
        return " ".join(f"{k}={v}" for k, v in sizes.items())

    def time_divisor(self, sizes: dict, options: dict) -> int:
        """Repeat time / this = the time per time_unit (e.g. SGD steps, collectives per call)."""
        return 1

    def weak_scaled(self, value: int, ranks: int) -> int:
        """The weak dimension at P ranks from its per-rank value (the work grows with P)."""
        return value * ranks

    def per_rank(self, value: int, ranks: int):
        """The inverse of weak_scaled: one rank's share of the weak dimension."""
        return value / ranks

    # The API side: the public function's arrays and keywords.
    def inputs(self, sizes: dict, dtype: str, seed: int) -> tuple:
        raise NotImplementedError

    def arguments(self, sizes: dict, options: dict) -> dict:
        """The public function's keyword arguments for these sizes and options."""
        raise NotImplementedError

    def describe(self, *inputs, **arguments):
        """What every rank must agree on before anything else is checked."""
        raise NotImplementedError

    def validate(self, *inputs, **arguments) -> tuple[tuple, dict]:
        """Raise ValueError on bad input; return the inputs and arguments normalized."""
        raise NotImplementedError

    def check_ranks(self, inputs: tuple, arguments: dict, ranks: int) -> None:
        """Raise ValueError where the validated inputs cannot be split over `ranks` (MPI
        ranks or JAX devices); called by the API on every rank alike."""

    # The harness side: correctness and the record.
    def check(self, inputs: tuple, arguments: dict, result, dtype: str) -> dict:
        """The error fields, "tolerance" and "verified" of a result against float64 numpy."""
        raise NotImplementedError

    def record(self, sizes: dict, options: dict, dtype: str, summary: dict, result,
               algorithm, details: dict) -> dict:
        """The workload's own record fields; summary: the time per time_unit; details: the
        implementation's (e.g. the panel width it used)."""
        raise NotImplementedError

    # The ideal time per time_unit: compute at P x the single-core rate plus the
    # communication the implementation issues, priced by a jaxpar.core.costmodel.CommModel.
    def compute_seconds(self, record: dict, core_gflops: float, bandwidth_gbps: float | None = None):
        """None where the workload has no FLOP model. bandwidth_gbps: the memory bandwidth
        of P cores at once (the STREAM probe), for a workload whose limit is "bandwidth"."""
        return None

    def comm_seconds(self, record: dict, comm):
        """None where the workload has no communication model, or comm cannot price it."""
        return None

    # The local work of the busiest rank per time_unit, for the report's attribution of the
    # measured time (jaxpar.harness.attribution): the runner times it with the
    # implementation's own kernel library (jaxpar.rank.localkernel) as record["local_s"].
    def local_work(self, record: dict) -> list:
        """A list of ("gemm", m, k, n, count): count products of an m x k by a k x n matrix,
        and ("tanh", elements, count); [] where the workload has no local work to price."""
        return []

    def min_memory_bytes(self, record: dict):
        """The least memory the busiest rank needs for its share of the data (None where
        the workload does not say), beside the peak memory the runner records."""
        return None

    def ideal_seconds(self, record: dict, core_gflops: float, comm):
        compute, communication = self.compute_seconds(record, core_gflops), self.comm_seconds(record, comm)
        return None if compute is None or communication is None else compute + communication


# ---------------------------------------------------------------- shared validators

def describe_array(x):
    return (type(x).__name__, getattr(x, "shape", None), str(getattr(x, "dtype", None)))


def is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def check_positive_int(name, value):
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_float_array(name, x, ndim, layout=""):
    """x must be a non-empty ndim-D float64 or float32 numpy array."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D{layout}, got shape {x.shape}")
    if x.dtype not in (np.float64, np.float32):
        raise ValueError(f"{name} has dtype {x.dtype}; use float64 or float32")
    if 0 in x.shape:
        raise ValueError(f"{name} has an empty dimension: shape {x.shape}")


def check_float_matrix(name, x, layout=""):
    check_float_array(name, x, 2, layout)
