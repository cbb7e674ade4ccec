"""Sizes at the edge of the C kernels' integers, through the cffi bindings.

Every size product a kernel forms is checked (jaxpar_mul_overflows), and what MPI
and CBLAS take as an int must fit one: sizes past that are rejected with
JAXPAR_EINVAL on every rank alike, before any communication, instead of
corrupting memory or hanging. The arrays passed with such sizes are tiny: a
kernel that did not reject them would read or write past their end.
"""
import numpy as np
import pytest
from mpi4py import MPI

from jaxpar.core import clib
from jaxpar.core.layout import block_lo, process_grid
from jaxpar.workloads.matmul import c_mpi as matmul_c_mpi
from jaxpar.workloads.sgd import c_mpi as sgd_c_mpi

pytestmark = pytest.mark.mpi

COMM = MPI.COMM_WORLD
DTYPES = [np.float64, np.float32]
HUGE = 2 ** 61


def test_block_partition_does_not_overflow():
    _, lib = clib.library()
    for n in (HUGE, 2 ** 63 - 1, 2 ** 62 + 12345):
        for parts in (1, 2, 3, 4, 7, 1000):
            for index in (0, 1, parts // 2, parts - 1, parts):
                assert lib.jaxpar_block_lo(n, parts, index) == block_lo(n, parts, index)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("panel", [HUGE, 2 ** 63 - 1])
def test_summa_takes_a_panel_wider_than_k_as_one_panel(dtype, panel):
    # Was "double free or corruption": k0 + panel overflowed and the panels were
    # allocated with an overflowed mloc x panel.
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 48)).astype(dtype), rng.standard_normal((48, 40)).astype(dtype)
    prepared = matmul_c_mpi.prepare(a, b, algorithm="summa", panel=panel, comm=COMM)
    c = prepared.gather(prepared.run())
    reference = a.astype(np.float64) @ b.astype(np.float64)
    tolerance = 1e-4 if dtype == np.float32 else 1e-12
    assert np.linalg.norm(c - reference) <= tolerance * np.linalg.norm(reference)


def rejected(call):
    with pytest.raises(clib.CLibraryError, match="rejected its arguments"):
        call()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,panel", [
    ((HUGE, 1, 1), 1),             # a block of rows of A past int
    ((HUGE, 64, 64), HUGE),        # an A panel past int (M x panel used to overflow int64)
    ((1, HUGE, 1), HUGE),          # a block of columns of A past int
    ((1, 1, HUGE), 1),             # a block of columns of B past int
    ((2 ** 40, 2 ** 40, 1), 256),  # an A panel past the int count of MPI
    ((1, 2 ** 40, 2 ** 40), 256),  # a B panel past the int count of MPI
])
def test_summa_rejects_sizes_past_its_integers(dtype, shape, panel):
    a, c = np.ones((1, 1), dtype), np.empty((1, 1), dtype)
    rejected(lambda: matmul_c_mpi.summa(COMM, a, a, c, shape, process_grid(COMM.size), panel))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [
    (HUGE, 1, 1),             # a block of rows past int
    (1, 2 ** 31, 1),          # K rows of B past the int count of MPI
    (1, 1, 2 ** 31),          # a row of B past int
    (1, 2 ** 31 - 1, 2 ** 31 - 1),  # fits int, but K x N x element size overflows int64
])
def test_allgather_rejects_sizes_past_its_integers(dtype, shape):
    a, c = np.ones((1, 1), dtype), np.empty((1, 1), dtype)
    rejected(lambda: matmul_c_mpi.allgather(COMM, a, a, c, shape))


@pytest.mark.parametrize("dtype", DTYPES)
def test_allgather_out_of_memory_says_so(dtype):
    # K x N = 2^58 elements: every size fits, but no machine allocates 2^60 bytes.
    a, c = np.ones((1, 1), dtype), np.empty((1, 1), dtype)
    with pytest.raises(clib.CLibraryError) as failure:
        matmul_c_mpi.allgather(COMM, a, a, c, (1, 2 ** 29, 2 ** 29))
    assert "out of memory allocating the all-gathered B" in str(failure.value)
    assert "MPI_Alloc_mem" not in str(failure.value)


def sgd_kernel(dtype, n, d_in, h, d_out, steps, batch):
    """The kernel's return code for these sizes, with 16-element buffers for every array."""
    ffi, lib = clib.open_library(sgd_c_mpi.CDEF)
    buffers = [np.zeros(16, dtype) for _ in range(7)]
    x, y, w1, b1, w2, b2, losses = (clib.pointer(ffi, v) for v in buffers)
    kernel = getattr(lib, sgd_c_mpi.SGD[np.dtype(dtype)])
    return kernel(clib.comm_handle(ffi, COMM), n, d_in, h, d_out, x, y, w1, b1, w2, b2,
                  steps, batch, 0.1, losses)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d_in,h,d_out,steps,batch", [
    (HUGE, 8, 1, 1, 1, 1),            # rows of X (n x d_in) overflow int64
    (HUGE, 1, 1, 8, 1, 1),            # rows of Y (n x d_out) overflow int64
    (16, 4, 2 ** 62, 1, 1, 1),        # d_in x h overflows int64 (it wrapped to 0 and passed)
    (16, 2 ** 16, 2 ** 16, 1, 1, 1),  # the packed gradient past the int count of MPI
    (16, 1, 1, 2 ** 31, 1, 1),        # d_out past int
    (16, 1, 1, 1, 2 ** 62, 4),        # the row index steps x batch overflows int64
    (16, 1, 1, 1, 1, 2 ** 62),        # a slice of the batch past int
])
def test_sgd_rejects_sizes_past_its_integers(dtype, n, d_in, h, d_out, steps, batch):
    assert sgd_kernel(dtype, n, d_in, h, d_out, steps, batch) == clib.JAXPAR_EINVAL


def test_sgd_accepts_sizes_just_inside():
    # The same buffers with sizes that fit: the checks do not reject a valid call.
    assert sgd_kernel(np.float64, 16, 1, 4, 1, 2, 3) == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_out_of_memory_says_so(dtype):
    # A hidden layer of 2^20 and a batch of 2^31 - 1: every size fits, but the
    # activations (batch slice x hidden) take petabytes.
    h = 2 ** 20
    x, y = np.ones((1, 1), dtype), np.ones((1, 1), dtype)
    params = {"W1": np.zeros((1, h), dtype), "b1": np.zeros(h, dtype),
              "W2": np.zeros((h, 1), dtype), "b2": np.zeros(1, dtype)}
    with pytest.raises(clib.CLibraryError) as failure:
        sgd_c_mpi.sgd(COMM, x, y, params, steps=1, batch=2 ** 31 - 1, lr=0.1)
    assert "out of memory allocating" in str(failure.value)
    assert "MPI_Alloc_mem" not in str(failure.value)
