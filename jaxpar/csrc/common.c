#include "common.h"
#include "blas.h"
#include "jaxpar_mpi.h"

int64_t jaxpar_block_lo(int64_t n, int parts, int index) {
  return n * index / parts;
}

MPI_Datatype jaxpar_mpi_type(int dtype) {
  return dtype == JAXPAR_FLOAT32 ? MPI_FLOAT : MPI_DOUBLE;
}

size_t jaxpar_elem_size(int dtype) {
  return dtype == JAXPAR_FLOAT32 ? sizeof(float) : sizeof(double);
}

void jaxpar_gemm(int dtype, int trans_a, int trans_b, int64_t m, int64_t n,
                 int64_t k, double alpha, const void *a, int64_t lda,
                 const void *b, int64_t ldb, double beta, void *c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) alpha = 0.0; /* BLAS then computes beta * C; lda/ldb stay legal */
  if (lda < 1) lda = 1;
  if (ldb < 1) ldb = 1;
  enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  if (dtype == JAXPAR_FLOAT32)
    CBLAS(sgemm)(CblasRowMajor, ta, tb, m, n, k, (float)alpha, a, lda, b, ldb,
                 (float)beta, c, ldc);
  else
    CBLAS(dgemm)(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta,
                 c, ldc);
}

const char *jaxpar_blas_info(void) { return JAXPAR_BLAS_INFO; }

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
