/* C API of the SGD kernel (c_mpi.c), in double (_f64) and float (_f32). */
#ifndef JAXPAR_SGD_C_MPI_H
#define JAXPAR_SGD_C_MPI_H

#include <mpi.h>
#include <stdint.h>

#include "jaxpar_mpi.h"

/* Data-parallel SGD of the MLP yhat = tanh(x W1 + b1) W2 + b2 (see c_mpi.c).
 * Unlike the matmul kernels, every rank passes the full X (n x d_in) and
 * Y (n x d_out), but reads only the rows of its slice of each step's batch:
 * step t uses rows (t batch + i) mod n, i < batch, split over the ranks by
 * jaxpar_block_lo (a rank may get none when batch < ranks). The replicated
 * parameters w1 (d_in x h), b1 (h), w2 (h x d_out), b2 (d_out) are updated in
 * place with the same values on every rank; losses[t] (steps entries) is the
 * mean-squared loss 1/(2 batch) sum ||yhat - y||^2 of step t's batch before
 * its update. */
int jaxpar_sgd_f64(MPI_Comm comm, int64_t n, int64_t d_in, int64_t h,
                   int64_t d_out, const double *x, const double *y, double *w1,
                   double *b1, double *w2, double *b2, int64_t steps,
                   int64_t batch, double lr, double *losses);
int jaxpar_sgd_f32(MPI_Comm comm, int64_t n, int64_t d_in, int64_t h,
                   int64_t d_out, const float *x, const float *y, float *w1,
                   float *b1, float *w2, float *b2, int64_t steps,
                   int64_t batch, double lr, float *losses);

/* out[i] = tanh(x[i]), i < count: the kernel's activation (vectorised with
 * libmvec where the build has it; out may be x), exported for its tests. */
void jaxpar_tanh_f64(const double *x, double *out, int64_t count);
void jaxpar_tanh_f32(const float *x, float *out, int64_t count);

#endif
