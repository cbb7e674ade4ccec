/* Data-parallel SGD of a one-hidden-layer MLP in C with MPI and CBLAS.
 *
 *   yhat = tanh(x W1 + b1) W2 + b2,  loss_t = 1/(2B) sum_i ||yhat_i - y_i||^2
 *
 * Synchronous data parallelism: the parameters are replicated; each rank takes
 * a contiguous slice of step t's global batch (rows (t B + i) mod n), runs the
 * forward and backward pass by hand over its rows, and one in-place
 * MPI_Allreduce of a single buffer [dW1 | db1 | dW2 | db2 | loss] per step
 * sums the partial gradients and losses. Scaling by the global 1/B before the
 * sum makes that sum the single-process gradient; every rank then applies the
 * same update to its copy of the parameters.
 *
 * Sizes are checked before any communication, the same way on every rank (on
 * the largest slice of a batch), so that all return JAXPAR_EINVAL alike: every
 * product of sizes is formed without overflow (jaxpar_mul_overflows), and the
 * packed buffer, the slice's rows and dimensions, which MPI and CBLAS take as
 * int, fit one. A failed allocation is agreed on and returns MPI_ERR_NO_MEM.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "c_mpi.h"
#include "common.h"
#include "real.h"

/* The activation, out = tanh(x), vectorised with glibc's libmvec where the build has
 * it (JAXPAR_LIBMVEC, checked by CMake): the declarations below tell the compiler
 * that libmvec has SIMD versions of tanh and tanhf (_ZGVeN8v_tanh, ...), and
 * `omp simd` (-fopenmp-simd: no OpenMP runtime) vectorises the loop with them.
 * glibc declares these only under -ffast-math, which would also let the compiler
 * assume no NaN or inf; this keeps IEEE semantics. target_clones builds the loop
 * for AVX-512, AVX2 and baseline x86-64, picked at load time, so one build runs
 * on any x86-64 with the widest vectors it has. libmvec's tanh is within 3 ulp in
 * float64 and 2 in float32 (measured at most 2.13 and 1.03 ulp; numpy's: 1.15 and
 * 1.33; tests/mpi/test_vector_tanh_mpi.py checks the bounds and the special
 * values), far inside the float64 tolerance of 1e-10, and several times faster
 * than the scalar loop it replaces. Without libmvec this is the scalar loop. */
#ifdef JAXPAR_LIBMVEC
#pragma omp declare simd notinbranch
double tanh(double);
#pragma omp declare simd notinbranch
float tanhf(float);
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void JAXPAR_TYPED(jaxpar_tanh)(const real *x, real *out, int64_t count) {
#pragma omp simd
  for (int64_t i = 0; i < count; i++) out[i] = REAL_TANH(x[i]);
}

/* region: gradient (derived by hand: the backward pass, its buffers and the tanh derivative) */
/* d *= 1 - a^2: the derivative of tanh, from its output a. */
static void times_tanh_derivative(real *d, const real *a, int64_t count) {
  for (int64_t i = 0; i < count; i++) d[i] *= 1 - a[i] * a[i];
}
/* endregion */

/* Each row of the rows x cols matrix m = v. Bias terms are then added by a gemm
 * with beta = 1 instead of a separate loop. */
static void fill_rows(real *m, const real *v, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; i++) memcpy(m + i * cols, v, sizeof(real) * cols);
}

int JAXPAR_TYPED(jaxpar_sgd)(MPI_Comm comm, int64_t n, int64_t d_in, int64_t h,
                             int64_t d_out, const real *x, const real *y,
                             real *w1, real *b1, real *w2, real *b2,
                             int64_t steps, int64_t batch, double lr,
                             real *losses) {
  /* region: distribution (what the one-process version would not have) */
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  /* endregion */
  if (n < 1 || d_in < 1 || h < 1 || d_out < 1 || steps < 1 || batch < 1 || !isfinite(lr))
    return JAXPAR_EINVAL;
  /* X (n x d_in) and Y (n x d_out) are indexed by row, rows up to steps batch;
   * the packed buffer is one MPI count; CBLAS gets the slice's rows (at most
   * max_rows), the dimensions and the rows x d_out residual as int. */
  /* region: distribution */
  const int64_t max_rows = jaxpar_block_max(batch, size);
  /* endregion */
  int64_t n_w1, n_w2, count;
  if (jaxpar_mul_overflows(n, d_in, &count) || jaxpar_mul_overflows(n, d_out, &count) ||
      jaxpar_mul_overflows(steps, batch, &count) || count > INT64_MAX - batch ||
      jaxpar_mul_overflows(d_in, h, &n_w1) || jaxpar_mul_overflows(h, d_out, &n_w2) ||
      n_w1 > INT_MAX || n_w2 > INT_MAX || n_w1 + h + n_w2 + d_out + 1 > INT_MAX ||
      !jaxpar_product_fits_int(max_rows, d_out) || jaxpar_mul_overflows(max_rows, d_in, &count) ||
      jaxpar_mul_overflows(max_rows, h, &count))
    return JAXPAR_EINVAL;

  /* region: distribution (my slice of the batch) */
  const int64_t lo = jaxpar_block_lo(batch, size, rank);
  const int64_t rows = jaxpar_block_lo(batch, size, rank + 1) - lo; /* may be 0 */
  /* endregion */
  /* Offsets in the packed buffer, in the order of the parameters. */
  const int64_t o_b1 = n_w1, o_w2 = o_b1 + h, o_b2 = o_w2 + n_w2;
  const int64_t o_loss = o_b2 + d_out, packed = o_loss + 1;
  real *params[4] = {w1, b1, w2, b2};
  const int64_t offsets[5] = {0, o_b1, o_w2, o_b2, o_loss};

  real *xb = jaxpar_alloc(rows * d_in, sizeof(real));   /* my batch rows of X */
  real *yb = jaxpar_alloc(rows * d_out, sizeof(real));  /* ... and of Y */
  real *a = jaxpar_alloc(rows * h, sizeof(real));       /* hidden activations */
  /* region: gradient */
  real *da = jaxpar_alloc(rows * h, sizeof(real));      /* d loss / d (x W1 + b1) */
  /* endregion */
  real *r = jaxpar_alloc(rows * d_out, sizeof(real));   /* yhat - y */
  /* region: gradient */
  real *ones = jaxpar_alloc(rows, sizeof(real));        /* column sums as gemm */
  /* endregion */
  real *grad = jaxpar_alloc(packed, sizeof(real));
  /* Agree on allocation failure first, so that no rank waits for one that gave up. */
  int failed = !(xb && yb && a && da && r && ones && grad);
  /* region: distribution */
  int err = MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, comm);
  /* endregion */
  if (err == MPI_SUCCESS && failed) err = MPI_ERR_NO_MEM;
  /* region: gradient */
  for (int64_t i = 0; i < rows && err == MPI_SUCCESS; i++) ones[i] = 1;
  /* endregion */

  const double inv_batch = 1.0 / (double)batch;
  /* region: gradient */
  const real scale = (real)inv_batch;
  /* endregion */
  for (int64_t t = 0; t < steps && err == MPI_SUCCESS; t++) {
    /* Only these rows of X and Y are read: every rank holds them all, as a
     * data-parallel trainer holds (or streams) its own shard of the data. */
    for (int64_t i = 0; i < rows; i++) {
      /* region: distribution */
      const int64_t row = (t * batch + lo + i) % n;
      /* endregion */
      memcpy(xb + i * d_in, x + row * d_in, sizeof(real) * d_in);
      memcpy(yb + i * d_out, y + row * d_out, sizeof(real) * d_out);
    }
    /* Forward: a = tanh(xb W1 + b1), r = a W2 + b2 - yb. */
    fill_rows(a, b1, rows, h);
    jaxpar_gemm(0, 0, rows, h, d_in, 1, xb, d_in, w1, h, 1, a, h);
    JAXPAR_TYPED(jaxpar_tanh)(a, a, rows * h);
    fill_rows(r, b2, rows, d_out);
    jaxpar_gemm(0, 0, rows, d_out, h, 1, a, h, w2, d_out, 1, r, d_out);
    REAL_AXPY(rows * d_out, -1, yb, 1, r, 1);

    /* Backward with d loss / d yhat = r / B, the 1/B folded into alpha. A rank
     * with no rows gets zeros from every gemm (k = 0) and adds nothing. */
    const double sum_r2 = rows > 0 ? REAL_DOT(rows * d_out, r, 1, r, 1) : 0.0;
    grad[o_loss] = (real)(0.5 * inv_batch * sum_r2);
    /* region: gradient (dW2 = a^T r/B, db2 = 1^T r/B, da = r/B W2^T (1 - a^2), dW1 = x^T da, ...) */
    jaxpar_gemm(1, 0, h, d_out, rows, scale, a, h, r, d_out, 0, grad + o_w2, d_out);
    jaxpar_gemm(1, 0, d_out, 1, rows, scale, r, d_out, ones, 1, 0, grad + o_b2, 1);
    jaxpar_gemm(0, 1, rows, h, d_out, scale, r, d_out, w2, d_out, 0, da, h);
    times_tanh_derivative(da, a, rows * h);
    jaxpar_gemm(1, 0, d_in, h, rows, 1, xb, d_in, da, h, 0, grad, h);
    jaxpar_gemm(1, 0, h, 1, rows, 1, da, h, ones, 1, 0, grad + o_b1, 1);
    /* endregion */

    /* region: distribution */
    err = MPI_Allreduce(MPI_IN_PLACE, grad, (int)packed, REAL_MPI, MPI_SUM, comm);
    /* endregion */
    for (int p = 0; p < 4 && err == MPI_SUCCESS; p++)
      REAL_AXPY(offsets[p + 1] - offsets[p], (real)-lr, grad + offsets[p], 1, params[p], 1);
    /* region: distribution (the loss rode in the all-reduced buffer) */
    losses[t] = grad[o_loss];
    /* endregion */
  }

  free(xb); free(yb); free(a); free(da); free(r); free(ones); free(grad);
  return err;
}
