"""Deprecated: the seeded input generators moved to each workload's problem
definition. Use jaxpar.matmul_inputs and jaxpar.sgd_problem (or
jaxpar.workloads.<workload>.problem); these names stay as aliases."""
import warnings

from jaxpar.workloads.matmul.problem import matmul_inputs  # noqa: F401
from jaxpar.workloads.sgd.problem import sgd_problem  # noqa: F401

warnings.warn("jaxpar.harness.data is deprecated: use jaxpar.matmul_inputs and jaxpar.sgd_problem",
              DeprecationWarning, stacklevel=2)
