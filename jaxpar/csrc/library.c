/* Facts about the build, for the Python loader (jaxpar/core/clib.py), and the
 * bare local GEMM the report's local-kernel probe times
 * (jaxpar/rank/localkernel.py); not used by the kernels. */
#include <limits.h>

#include "blas.h"
#include "jaxpar_mpi.h"

const char *jaxpar_blas_info(void) { return JAXPAR_BLAS_INFO; }

const char *jaxpar_tanh_info(void) { return JAXPAR_TANH_INFO; }

int jaxpar_mpi_library_version(char *buf, int len) {
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int vlen = 0;
  int err = MPI_Get_library_version(version, &vlen);
  if (err != MPI_SUCCESS) return err;
  if (len <= 0) return JAXPAR_EINVAL;
  int ncopy = vlen < len - 1 ? vlen : len - 1;
  for (int i = 0; i < ncopy; i++) buf[i] = version[i];
  buf[ncopy] = '\0';
  return 0;
}

/* C = A B, row-major, beta 0: the CBLAS call of jaxpar_gemm (csrc/real.h) with no
 * transposes. This file is compiled once, not per precision, so both are spelled
 * out. CBLAS takes int dimensions: larger ones are JAXPAR_EINVAL. */
static int gemm_dimensions_fit(int64_t m, int64_t k, int64_t n) {
  return m >= 0 && k >= 0 && n >= 0 && m <= INT_MAX && k <= INT_MAX && n <= INT_MAX;
}

int jaxpar_gemm_f64(int64_t m, int64_t k, int64_t n, const double *a, const double *b,
                    double *c) {
  if (!gemm_dimensions_fit(m, k, n)) return JAXPAR_EINVAL;
  if (m == 0 || n == 0) return 0;
  /* k == 0: alpha 0 makes BLAS write beta * C = 0, with legal leading dimensions */
  CBLAS(dgemm)(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k,
               k == 0 ? 0.0 : 1.0, a, k > 0 ? (int)k : 1, b, (int)n, 0.0, c, (int)n);
  return 0;
}

int jaxpar_gemm_f32(int64_t m, int64_t k, int64_t n, const float *a, const float *b,
                    float *c) {
  if (!gemm_dimensions_fit(m, k, n)) return JAXPAR_EINVAL;
  if (m == 0 || n == 0) return 0;
  CBLAS(sgemm)(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k,
               k == 0 ? 0.0f : 1.0f, a, k > 0 ? (int)k : 1, b, (int)n, 0.0f, c, (int)n);
  return 0;
}

/* The memory-bandwidth probes of the stencil's hardware limit
 * (jaxpar/rank/probes.py), one pass each. STREAM's triad, a = b + scalar c:
 * 24 bytes an element by STREAM's count, which leaves out the read of a that
 * its store causes (write-allocate). STREAM2's DAXPY, a = a + scalar b: 24 bytes
 * an element, all of them moved, since a's store goes to a line just read, as
 * the stencil's IN += 1 and OUT += stencil do. */
/* Built, as the stencil kernel's sweep, for AVX-512, AVX2 and baseline x86-64, the
 * widest picked at load time: one core keeps more loads in flight with wider
 * vectors, so an SSE2-only probe would understate the bandwidth the kernel gets
 * (measured: the stencil at 108% of an SSE2 DAXPY on one core). */
#if defined(__x86_64__) && defined(__GLIBC__) && !defined(__clang__) && __GNUC__ >= 12
#define JAXPAR_WIDEST_VECTORS __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define JAXPAR_WIDEST_VECTORS
#endif

JAXPAR_WIDEST_VECTORS
void jaxpar_triad_f64(int64_t n, double *restrict a, const double *restrict b,
                      const double *restrict c, double scalar) {
  for (int64_t i = 0; i < n; i++) a[i] = b[i] + scalar * c[i];
}

JAXPAR_WIDEST_VECTORS
void jaxpar_daxpy_f64(int64_t n, double *restrict a, const double *restrict b, double scalar) {
  for (int64_t i = 0; i < n; i++) a[i] += scalar * b[i];
}
