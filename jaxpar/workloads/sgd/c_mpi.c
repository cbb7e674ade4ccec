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
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "common.h"
#include "jaxpar_mpi.h"

/* y += alpha x */
static void axpy(int dtype, int64_t count, double alpha, const void *x, void *y) {
  if (dtype == JAXPAR_FLOAT32) CBLAS(saxpy)(count, (float)alpha, x, 1, y, 1);
  else CBLAS(daxpy)(count, alpha, x, 1, y, 1);
}

static double dot(int dtype, int64_t count, const void *x, const void *y) {
  if (count == 0) return 0.0;
  if (dtype == JAXPAR_FLOAT32) return CBLAS(sdot)(count, x, 1, y, 1);
  return CBLAS(ddot)(count, x, 1, y, 1);
}

static void tanh_inplace(int dtype, void *a, int64_t count) {
  if (dtype == JAXPAR_FLOAT32)
    for (int64_t i = 0; i < count; i++) ((float *)a)[i] = tanhf(((float *)a)[i]);
  else
    for (int64_t i = 0; i < count; i++) ((double *)a)[i] = tanh(((double *)a)[i]);
}

/* d *= 1 - a^2: the derivative of tanh, from its output a. */
static void times_tanh_derivative(int dtype, void *d, const void *a, int64_t count) {
  if (dtype == JAXPAR_FLOAT32) {
    float *df = d;
    const float *af = a;
    for (int64_t i = 0; i < count; i++) df[i] *= 1.0f - af[i] * af[i];
  } else {
    double *dd = d;
    const double *ad = a;
    for (int64_t i = 0; i < count; i++) dd[i] *= 1.0 - ad[i] * ad[i];
  }
}

/* Each row of the rows x cols matrix m = v. Bias terms are then added by a gemm
 * with beta = 1 instead of a separate loop. */
static void fill_rows(void *m, const void *v, int64_t rows, int64_t cols, size_t elem) {
  for (int64_t i = 0; i < rows; i++) memcpy((char *)m + i * cols * elem, v, cols * elem);
}

int jaxpar_sgd(const MPI_Comm *comm, int dtype, int64_t n, int64_t d_in,
               int64_t h, int64_t d_out, const void *x, const void *y,
               void *w1, void *b1, void *w2, void *b2, int64_t steps,
               int64_t batch, double lr, void *losses) {
  int rank, size;
  MPI_Comm_rank(*comm, &rank);
  MPI_Comm_size(*comm, &size);
  if (n < 1 || d_in < 1 || h < 1 || d_out < 1 || steps < 1 || batch < 1 || !isfinite(lr))
    return JAXPAR_EINVAL;
  if (d_in * h + h + h * d_out + d_out + 1 > INT_MAX) return JAXPAR_EINVAL; /* MPI count */

  const size_t elem = jaxpar_elem_size(dtype);
  const int64_t lo = jaxpar_block_lo(batch, size, rank);
  const int64_t rows = jaxpar_block_lo(batch, size, rank + 1) - lo; /* may be 0 */
  /* Offsets in the packed buffer, in the order of the parameters. */
  const int64_t o_b1 = d_in * h, o_w2 = o_b1 + h, o_b2 = o_w2 + h * d_out;
  const int64_t o_loss = o_b2 + d_out, packed = o_loss + 1;
  void *params[4] = {w1, b1, w2, b2};
  const int64_t offsets[5] = {0, o_b1, o_w2, o_b2, o_loss};

  char *xb = malloc((size_t)(rows * d_in) * elem + 1);   /* my batch rows of X */
  char *yb = malloc((size_t)(rows * d_out) * elem + 1);  /* ... and of Y */
  char *a = malloc((size_t)(rows * h) * elem + 1);       /* hidden activations */
  char *da = malloc((size_t)(rows * h) * elem + 1);      /* d loss / d (x W1 + b1) */
  char *r = malloc((size_t)(rows * d_out) * elem + 1);   /* yhat - y */
  char *ones = malloc((size_t)rows * elem + 1);          /* column sums as gemm */
  char *grad = malloc((size_t)packed * elem);
  /* Agree on allocation failure first, so that no rank waits for one that gave up. */
  int failed = !(xb && yb && a && da && r && ones && grad);
  int err = MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, *comm);
  if (err == MPI_SUCCESS && failed) err = MPI_ERR_NO_MEM;
  for (int64_t i = 0; i < rows && err == MPI_SUCCESS; i++) {
    if (dtype == JAXPAR_FLOAT32) ((float *)ones)[i] = 1.0f;
    else ((double *)ones)[i] = 1.0;
  }

  const double scale = 1.0 / (double)batch;
  for (int64_t t = 0; t < steps && err == MPI_SUCCESS; t++) {
    /* Only these rows of X and Y are read: every rank holds them all, as a
     * data-parallel trainer holds (or streams) its own shard of the data. */
    for (int64_t i = 0; i < rows; i++) {
      const int64_t row = (t * batch + lo + i) % n;
      memcpy(xb + i * d_in * elem, (const char *)x + row * d_in * elem, d_in * elem);
      memcpy(yb + i * d_out * elem, (const char *)y + row * d_out * elem, d_out * elem);
    }
    /* Forward: a = tanh(xb W1 + b1), r = a W2 + b2 - yb. */
    fill_rows(a, b1, rows, h, elem);
    jaxpar_gemm(dtype, 0, 0, rows, h, d_in, 1.0, xb, d_in, w1, h, 1.0, a, h);
    tanh_inplace(dtype, a, rows * h);
    fill_rows(r, b2, rows, d_out, elem);
    jaxpar_gemm(dtype, 0, 0, rows, d_out, h, 1.0, a, h, w2, d_out, 1.0, r, d_out);
    axpy(dtype, rows * d_out, -1.0, yb, r);

    /* Backward with d loss / d yhat = r / B, the 1/B folded into alpha. A rank
     * with no rows gets zeros from every gemm (k = 0) and adds nothing. */
    const double loss = 0.5 * scale * dot(dtype, rows * d_out, r, r);
    if (dtype == JAXPAR_FLOAT32) ((float *)grad)[o_loss] = (float)loss;
    else ((double *)grad)[o_loss] = loss;
    jaxpar_gemm(dtype, 1, 0, h, d_out, rows, scale, a, h, r, d_out, 0.0, grad + o_w2 * elem, d_out);
    jaxpar_gemm(dtype, 1, 0, d_out, 1, rows, scale, r, d_out, ones, 1, 0.0, grad + o_b2 * elem, 1);
    jaxpar_gemm(dtype, 0, 1, rows, h, d_out, scale, r, d_out, w2, d_out, 0.0, da, h);
    times_tanh_derivative(dtype, da, a, rows * h);
    jaxpar_gemm(dtype, 1, 0, d_in, h, rows, 1.0, xb, d_in, da, h, 0.0, grad, h);
    jaxpar_gemm(dtype, 1, 0, h, 1, rows, 1.0, da, h, ones, 1, 0.0, grad + o_b1 * elem, 1);

    err = MPI_Allreduce(MPI_IN_PLACE, grad, (int)packed, jaxpar_mpi_type(dtype), MPI_SUM, *comm);
    for (int p = 0; p < 4 && err == MPI_SUCCESS; p++)
      axpy(dtype, offsets[p + 1] - offsets[p], -lr, grad + offsets[p] * elem, params[p]);
    memcpy((char *)losses + t * elem, grad + o_loss * elem, elem);
  }

  free(xb); free(yb); free(a); free(da); free(r); free(ones); free(grad);
  return err;
}
