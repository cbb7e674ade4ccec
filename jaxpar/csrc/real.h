/* The element type of a kernel, fixed at compile time: every kernel source is
 * compiled twice, as double (default) and as float (-DJAXPAR_F32).
 *
 *   real                 the element type
 *   REAL_MPI             its MPI datatype
 *   JAXPAR_TYPED(name)   name_f64 or name_f32, for the exported kernels
 *   REAL_GEMM, REAL_AXPY, REAL_DOT, REAL_TANH   the BLAS and libm calls
 */
#ifndef JAXPAR_REAL_H
#define JAXPAR_REAL_H

#include <math.h>
#include <stdint.h>
#include <mpi.h>

#include "blas.h"

#ifdef JAXPAR_F32
typedef float real;
#define REAL_MPI MPI_FLOAT
#define JAXPAR_TYPED(name) name##_f32
#define REAL_GEMM CBLAS(sgemm)
#define REAL_AXPY CBLAS(saxpy)
#define REAL_DOT CBLAS(sdot)
#define REAL_TANH tanhf
#else
typedef double real;
#define REAL_MPI MPI_DOUBLE
#define JAXPAR_TYPED(name) name##_f64
#define REAL_GEMM CBLAS(dgemm)
#define REAL_AXPY CBLAS(daxpy)
#define REAL_DOT CBLAS(ddot)
#define REAL_TANH tanh
#endif

/* C = alpha * op(A) op(B) + beta * C, row-major. A product with an empty
 * dimension only scales C. */
static inline void jaxpar_gemm(int trans_a, int trans_b, int64_t m, int64_t n,
                               int64_t k, real alpha, const real *a, int64_t lda,
                               const real *b, int64_t ldb, real beta, real *c,
                               int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) alpha = 0; /* BLAS then computes beta * C; lda/ldb stay legal */
  if (lda < 1) lda = 1;
  if (ldb < 1) ldb = 1;
  REAL_GEMM(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
            trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
            beta, c, ldc);
}

#endif
