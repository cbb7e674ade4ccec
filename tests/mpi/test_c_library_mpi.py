"""The cffi binding of the C library: loading, the MPI-library check, build facts."""
import numpy as np
import pytest
from mpi4py import MPI

from jaxpar.core import clib
from jaxpar.workloads.matmul import c_mpi as matmul_c_mpi

pytestmark = pytest.mark.mpi


def test_version_strings_are_compared_without_padding():
    # Open MPI pads MPI_Get_library_version with a NUL; that must not count as a mismatch.
    assert clib.clean_version("Open MPI v4.1.4, May 26, 2022\x00") == "Open MPI v4.1.4, May 26, 2022"
    assert clib.clean_version("  MPICH Version: 5.0.2\n") == "MPICH Version: 5.0.2"
    assert clib.clean_version("MPICH 5.0.2") != clib.clean_version("Open MPI v4.1.4")


def test_library_loads_against_the_same_mpi_as_mpi4py():
    ffi, lib = clib.library()
    buf = ffi.new("char[]", 8192)
    assert lib.jaxpar_mpi_library_version(buf, 8192) == 0
    assert clib.clean_version(ffi.string(buf).decode()) == clib.clean_version(MPI.Get_library_version())


def test_blas_is_recorded_from_the_build():
    info = clib.blas_info()
    assert info.startswith(("scipy-openblas32 ", "system: /"))


def test_block_partition_matches_the_harness():
    from jaxpar.core.layout import block_lo
    _, lib = clib.library()
    for n in (1, 2, 7, 100):
        for parts in (1, 2, 3, 4, 7):
            assert [lib.jaxpar_block_lo(n, parts, i) for i in range(parts + 1)] == \
                   [block_lo(n, parts, i) for i in range(parts + 1)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_rejects_a_grid_that_does_not_match_the_communicator(dtype):
    a = np.ones((2, 2), dtype)
    c = np.empty((2, 2), dtype)
    try:
        matmul_c_mpi.summa(MPI.COMM_WORLD, a, a, c, (2, 2, 2), (2, 3), 1)  # 6 != ranks (1..4)
    except clib.CLibraryError as exc:
        assert "rejected its arguments" in str(exc)
    else:
        raise AssertionError("a 2 x 3 grid on one rank was accepted")
