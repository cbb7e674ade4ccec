/* Helpers shared by the jaxpar C kernels: element types and the BLAS call. */
#ifndef JAXPAR_COMMON_H
#define JAXPAR_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>

MPI_Datatype jaxpar_mpi_type(int dtype);
size_t jaxpar_elem_size(int dtype);

/* C = alpha * op(A) op(B) + beta * C, row-major, in the precision of dtype.
 * A product with an empty dimension only scales C. */
void jaxpar_gemm(int dtype, int trans_a, int trans_b, int64_t m, int64_t n,
                 int64_t k, double alpha, const void *a, int64_t lda,
                 const void *b, int64_t ldb, double beta, void *c, int64_t ldc);

#endif
