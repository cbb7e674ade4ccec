"""Install mpi4jax, the MPI transport of the jax_mpi4jax implementations, into this Python.

    python -m jaxpar.install_mpi4jax          # after `pip install .` (README, Quick start)

Why a second step: mpi4jax is published as an sdist without a [build-system]
table; its setup.py imports mpi4py, nanobind and jax, so pip cannot build it in
an isolated build environment, and no requirement of jaxpar's can make pip
build it without isolation. This installs its build requirements, then builds
it with `pip install --no-build-isolation`, against this Python's mpi4py and jax.

Which MPI: the mpicc next to this Python (the MPI wheel jaxpar installed,
JAXPAR_MPI), else the one on PATH, passed as MPI4JAX_BUILD_MPICC, so that
mpi4jax links the libmpi that mpi4py and the C library use. pip's wheel cache is
bypassed: a wheel cached from a venv with another MPI would link the wrong one.

CPU or GPU: mpi4jax's setup.py has no switch; it builds its CUDA bridge whenever
it finds a CUDA folder with include/ and lib/ (from nvidia-* wheels, $CUDA_PATH
or $CUDA_ROOT, the folder above an `nvcc` on PATH, or /usr/local/cuda), and the
build fails where that folder has no cuda_runtime.h (an nvcc without a toolkit).
Unless $CUDA_PATH or $CUDA_ROOT is set (the user's choice is kept), this builds
the CUDA bridge only when JAX has a CUDA plugin and cuda_runtime.h is found;
otherwise it points $CUDA_ROOT, which setup.py checks before nvcc, at an empty
folder: a CPU-only build.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jaxpar.registry import MPI4JAX_REQUIREMENT

BUILD_REQUIREMENTS = ["nanobind>=2.0", "setuptools>=64", "wheel"]


def mpicc() -> str | None:
    here = shutil.which("mpicc", path=str(Path(sys.executable).parent))
    return os.environ.get("MPI4JAX_BUILD_MPICC") or here or shutil.which("mpicc")


def cuda_toolkit() -> Path | None:
    """The CUDA folder mpi4jax would use, where it can build against it; else None."""
    if not any(importlib.util.find_spec(f"jax_cuda{v}_plugin") for v in (12, 13)):
        return None  # a CPU-only jaxlib: a CUDA bridge would never be called
    nvcc = shutil.which("nvcc")
    for folder in ([Path(nvcc).resolve().parent.parent] if nvcc else []) + [Path("/usr/local/cuda")]:
        if (folder / "include" / "cuda_runtime.h").is_file():
            return folder
    return None


def main() -> int:
    compiler = mpicc()
    if compiler is None:
        print("install_mpi4jax: error: no mpicc next to this Python or on PATH; install jaxpar "
              "first (pip install .), which brings the MPI wheel", file=sys.stderr)
        return 2
    pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]
    print(f"installing {', '.join(BUILD_REQUIREMENTS)} (mpi4jax's build requirements)", flush=True)
    if subprocess.run(pip + BUILD_REQUIREMENTS).returncode:
        return 1
    env = dict(os.environ, MPI4JAX_BUILD_MPICC=compiler)
    with tempfile.TemporaryDirectory() as no_cuda:
        if "CUDA_PATH" in env or "CUDA_ROOT" in env:
            target = "CUDA from $CUDA_PATH/$CUDA_ROOT"
        elif (toolkit := cuda_toolkit()) is not None:
            env["CUDA_ROOT"], target = str(toolkit), f"CPU and CUDA ({toolkit})"
        else:
            env["CUDA_ROOT"], target = no_cuda, "CPU only"
        print(f"building {MPI4JAX_REQUIREMENT}: {target}, with {compiler} (about 30 s)", flush=True)
        status = subprocess.run(pip + ["--no-build-isolation", "--no-cache-dir", MPI4JAX_REQUIREMENT],
                                env=env).returncode
    if status:
        return 1
    check = subprocess.run([sys.executable, "-c", "import mpi4jax; print(mpi4jax.__version__)"],
                           capture_output=True, text=True)
    if check.returncode:
        print(f"install_mpi4jax: error: mpi4jax installed but does not import:\n{check.stderr}",
              file=sys.stderr)
        return 1
    print(f"mpi4jax {check.stdout.strip()} installed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
