/* Public C API of the jaxpar MPI kernels.
 *
 * Every kernel takes a pointer to an MPI_Comm rather than the handle itself, so
 * that Python can pass an mpi4py communicator through cffi (MPI._addressof). All
 * matrices are row-major and every rank holds only its own block; the block
 * partition is jaxpar_block_lo(), the same formula the Python harness uses.
 * Kernels return 0 on success, JAXPAR_EINVAL for bad arguments, or an MPI error.
 */
#ifndef JAXPAR_MPI_H
#define JAXPAR_MPI_H

#include <mpi.h>
#include <stdint.h>

enum { JAXPAR_FLOAT64 = 0, JAXPAR_FLOAT32 = 1 };
enum { JAXPAR_EINVAL = -1 };

/* First index of block `index` when n items are split into `parts` blocks whose
 * sizes differ by at most one. */
int64_t jaxpar_block_lo(int64_t n, int parts, int index);

/* SUMMA on a pr x pc grid (rank = row * pc + col). Rank (i, j) holds
 * A[Mi, Kj], B[Ki, Nj] and receives C[Mi, Nj], where Mi is M split over pr,
 * Kj is K split over pc, Ki is K split over pr and Nj is N split over pc. */
int jaxpar_matmul_summa(const MPI_Comm *comm, int dtype, int64_t m, int64_t k,
                        int64_t n, int pr, int pc, int64_t panel,
                        const void *a, const void *b, void *c);

/* 1-D algorithm: rank r holds rows Mr of A and rows Kr of B, all-gathers B and
 * computes rows Mr of C. */
int jaxpar_matmul_allgather(const MPI_Comm *comm, int dtype, int64_t m,
                            int64_t k, int64_t n, const void *a, const void *b,
                            void *c);

/* Data-parallel SGD of the MLP yhat = tanh(x W1 + b1) W2 + b2 (see sgd.c).
 * Unlike the matmul kernels, every rank passes the full X (n x d_in) and
 * Y (n x d_out), but reads only the rows of its slice of each step's batch:
 * step t uses rows (t batch + i) mod n, i < batch, split over the ranks by
 * jaxpar_block_lo (a rank may get none when batch < ranks). The replicated
 * parameters w1 (d_in x h), b1 (h), w2 (h x d_out), b2 (d_out) are updated in
 * place with the same values on every rank; losses[t] (steps entries, in the
 * dtype) is the mean-squared loss 1/(2 batch) sum ||yhat - y||^2 of step t's
 * batch before its update. */
int jaxpar_sgd(const MPI_Comm *comm, int dtype, int64_t n, int64_t d_in,
               int64_t h, int64_t d_out, const void *x, const void *y,
               void *w1, void *b1, void *w2, void *b2, int64_t steps,
               int64_t batch, double lr, void *losses);

/* The CBLAS library this library was built against (set by CMake). */
const char *jaxpar_blas_info(void);

/* MPI_Get_library_version of the libmpi this library was linked against. */
int jaxpar_mpi_library_version(char *buf, int len);

#endif
