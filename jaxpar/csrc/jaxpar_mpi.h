/* Library-wide part of the C API of libjaxpar_mpi.so. The kernels of each
 * workload are declared in jaxpar/workloads/<workload>/c_mpi.h.
 *
 * Every kernel exists in two precisions, name_f64 (double) and name_f32
 * (float), and takes the MPI_Comm handle by value. All matrices are row-major
 * and every rank holds only its own block; the block partition is
 * jaxpar_block_lo(), the same formula the Python harness uses. Kernels return
 * 0 on success, JAXPAR_EINVAL for bad arguments, or an MPI error code.
 * JAXPAR_EINVAL includes sizes whose products overflow int64_t, or whose MPI
 * counts or CBLAS dimensions do not fit an int; it is decided from the
 * arguments alone, before any communication, so every rank returns it alike.
 * A failed allocation returns MPI_ERR_NO_MEM, also on every rank.
 */
#ifndef JAXPAR_MPI_H
#define JAXPAR_MPI_H

#include <mpi.h>
#include <stdint.h>

enum { JAXPAR_EINVAL = -1 };

/* First index of block `index` when n items are split into `parts` blocks whose
 * sizes differ by at most one: floor(n index / parts), without overflow. */
int64_t jaxpar_block_lo(int64_t n, int parts, int index);

/* The CBLAS library this library was built against (set by CMake). */
const char *jaxpar_blas_info(void);

/* How the SGD kernel's tanh is computed: "libmvec" (vectorised) or "scalar libm". */
const char *jaxpar_tanh_info(void);

/* C = A B (A m x k, B k x n, C m x n, row-major, C overwritten): one call of
 * the library's CBLAS gemm, as the kernels make it (csrc/real.h). The local
 * kernel the report's attribution times (jaxpar/rank/localkernel.py).
 * JAXPAR_EINVAL where a dimension is negative or does not fit an int. */
int jaxpar_gemm_f64(int64_t m, int64_t k, int64_t n, const double *a, const double *b,
                    double *c);
int jaxpar_gemm_f32(int64_t m, int64_t k, int64_t n, const float *a, const float *b,
                    float *c);

/* One pass of STREAM's triad, a = b + scalar c, and of STREAM2's DAXPY,
 * a = a + scalar b, over n elements: the memory-bandwidth probes of the
 * report's hardware limit (jaxpar/rank/probes.py). */
void jaxpar_triad_f64(int64_t n, double *a, const double *b, const double *c, double scalar);
void jaxpar_daxpy_f64(int64_t n, double *a, const double *b, double scalar);

/* MPI_Get_library_version of the libmpi this library was linked against. */
int jaxpar_mpi_library_version(char *buf, int len);

#endif
