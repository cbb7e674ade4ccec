"""The environment stamped on every record, so that a number can be traced to
the machine, libraries and settings that produced it."""
from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import socket
import subprocess
from pathlib import Path


def _version(package: str):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _c_blas():
    try:
        from jaxpar.core import clib
        return clib.blas_info()
    except Exception as exc:  # the C library may be missing or built against another MPI
        return f"unavailable ({type(exc).__name__})"


@functools.cache
def environment() -> dict:
    from mpi4py import MPI
    import numpy as np

    blas = None
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {}).get("name")
    except Exception:  # numpy's build metadata is informative only
        pass
    return {
        "hostname": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "mpi_library": MPI.Get_library_version().replace("\x00", "").splitlines()[0].strip(),
        "mpi_version": "%d.%d" % MPI.Get_version(),
        "versions": {p: _version(p) for p in ("jaxpar", "numpy", "jax", "jaxlib", "mpi4py",
                                              "mpich", "scipy-openblas32", "cffi")},
        "numpy_blas": blas,
        "c_blas": _c_blas(),
        "git_commit": _git_commit(),
    }
