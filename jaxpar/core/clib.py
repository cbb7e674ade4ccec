"""cffi loader of the jaxpar C library, libjaxpar_mpi.so (the `c_mpi` kernels).

Each workload's binding (jaxpar/workloads/<w>/c_mpi.py) declares its own
kernels and opens the library with `open_library(cdef)`. The kernels take an
MPI_Comm by value, as in mpi4py's cffi demo: `MPI_Comm` is declared as an int
or a pointer to match this MPI, and `comm_handle()` casts an mpi4py
communicator's handle to it. A handle is only meaningful when the C library and
mpi4py use the same libmpi, which `open_library()` checks first.
"""
from __future__ import annotations

import functools
import importlib.metadata
import os
from pathlib import Path

import numpy as np
from cffi import FFI
from mpi4py import MPI

LIBRARY_NAME = "libjaxpar_mpi.so"
JAXPAR_EINVAL = -1

# The library-wide functions (jaxpar/csrc/jaxpar_mpi.h).
LIBRARY_CDEF = """
    int64_t jaxpar_block_lo(int64_t n, int parts, int index);
    const char *jaxpar_blas_info(void);
    const char *jaxpar_tanh_info(void);
    int jaxpar_mpi_library_version(char *buf, int len);
"""


class CLibraryError(RuntimeError):
    pass


def library_path() -> Path:
    """The built library: $JAXPAR_C_LIBRARY, next to the jaxpar package, or in the installed wheel.

    The last case matters when the source tree shadows the installed package
    (running pytest from a checkout).
    """
    if os.environ.get("JAXPAR_C_LIBRARY"):
        return Path(os.environ["JAXPAR_C_LIBRARY"])
    here = Path(__file__).parent.parent / LIBRARY_NAME
    if here.exists():
        return here
    try:
        installed = Path(importlib.metadata.distribution("jaxpar").locate_file(f"jaxpar/{LIBRARY_NAME}"))
        if installed.exists():
            return installed
    except importlib.metadata.PackageNotFoundError:
        pass
    raise CLibraryError(
        f"{LIBRARY_NAME} not found: install jaxpar with `pip install .` (which builds the C "
        "kernels with CMake), or point JAXPAR_C_LIBRARY at a library built by hand"
    )


def clean_version(text: str) -> str:
    """Library version strings come with trailing NULs or blanks from some MPIs."""
    return text.replace("\x00", "").strip()


@functools.cache
def _dlopen(cdef: str):
    ffi = FFI()
    comm_type = "int" if MPI._sizeof(MPI.Comm) == ffi.sizeof("int") else "void *"
    ffi.cdef(f"typedef {comm_type} MPI_Comm;")
    ffi.cdef(cdef)
    return ffi, ffi.dlopen(str(library_path()))


@functools.cache
def _check_same_mpi():
    ffi, lib = _dlopen(LIBRARY_CDEF)
    buf = ffi.new("char[]", 8192)
    if lib.jaxpar_mpi_library_version(buf, 8192) != 0:
        raise CLibraryError("MPI_Get_library_version failed in the jaxpar C library")
    c_side = clean_version(ffi.string(buf).decode(errors="replace"))
    py_side = clean_version(MPI.Get_library_version())
    if c_side != py_side:
        raise CLibraryError(
            "the jaxpar C library and mpi4py use different MPI libraries, so communicators "
            "cannot be shared between them.\n"
            f"  C library ({library_path()}): {c_side.splitlines()[0]}\n"
            f"  mpi4py ({MPI.__file__}): {py_side.splitlines()[0]}\n"
            "Rebuild one of them against the other's MPI (see docs/install.md, 'Using a system MPI')."
        )


def open_library(cdef: str):
    """(ffi, lib) for the C declarations `cdef`, which may use MPI_Comm; cached per cdef."""
    _check_same_mpi()
    return _dlopen(cdef)


def library():
    """(ffi, lib) of the library-wide functions: jaxpar_block_lo and the build facts."""
    return open_library(LIBRARY_CDEF)


def comm_handle(ffi, comm):
    """The MPI_Comm of an mpi4py communicator, to pass by value."""
    return ffi.cast("MPI_Comm", MPI._handleof(comm))


C_TYPES = {np.dtype(np.float64): "double[]", np.dtype(np.float32): "float[]"}


def pointer(ffi, array: np.ndarray):
    """A typed pointer (double or float) to the data of a C-contiguous array, no copy."""
    return ffi.from_buffer(C_TYPES[array.dtype], array)


def blas_info() -> str:
    """The CBLAS the C library was linked against, as recorded by CMake."""
    ffi, lib = library()
    return ffi.string(lib.jaxpar_blas_info()).decode()


def tanh_info() -> str:
    """How the C SGD kernel computes tanh: "libmvec" (vectorised) or "scalar libm"."""
    ffi, lib = library()
    return ffi.string(lib.jaxpar_tanh_info()).decode()


def check(code: int, what: str):
    """Raise CLibraryError for a kernel's non-zero return code."""
    if code == JAXPAR_EINVAL:
        raise CLibraryError(f"{what} rejected its arguments")
    if code != 0:
        raise CLibraryError(f"{what} failed: {MPI.Get_error_string(code)} (MPI error {code})")
