/* jaxpar-sgd: standalone driver for the C/MPI data-parallel SGD kernel, no Python.
 *
 *   mpirun -n P jaxpar-sgd [--n N] [--d-in D] [--hidden H] [--d-out O]
 *                          [--batch B] [--steps T] [--lr LR]
 *                          [--dtype float64|float32] [--seed S] [--print-every K]
 *   jaxpar-sgd --help
 *
 * Every rank generates the same data: X uniform with unit variance, Y the
 * output of a teacher MLP (weights from the same hash generator) plus 1% noise,
 * and a student starting point drawn independently of the teacher.
 * Validation: a checksum of the parameters has the same value on every rank
 * (they are replicated, so a divergence is a bug), and the model learned:
 *   steps >= 2: the last step's loss is finite and at least LEARNING_FACTOR
 *               times lower than the first;
 *   steps == 1: the first and last loss are the same step, so the trained
 *               parameters are evaluated on that step's batch (one more kernel
 *               call with lr = 0, on a copy): that loss must be finite and
 *               lower than the loss before the step.
 *
 * Bad arguments exit with status 2 on every rank (rank 0 says why), as do
 * sizes whose byte counts overflow or that need more than the physical memory
 * of a node (data, teacher, parameters and the kernel's buffers, per rank);
 * all is checked before anything is allocated.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "c_mpi.h"
#include "common.h"
#include "driver.h"

#define LEARNING_FACTOR 2.0

enum { X_STREAM, TEACHER_W1, TEACHER_B1, TEACHER_W2, TEACHER_B2, NOISE, STUDENT_W1, STUDENT_W2 };

static void usage(FILE *out) {
  fprintf(out,
          "usage: jaxpar-sgd [--n N] [--d-in D] [--hidden H] [--d-out O] [--batch B] "
          "[--steps T] [--lr LR] [--dtype float64|float32] [--seed S] [--print-every K]\n");
}

static int parse_int(const char *text, int64_t min, int64_t max, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max) return 0;
  *out = v;
  return 1;
}

/* Uniform in [-1, 1) from a hash of (seed, stream, index): splitmix64's mixer. */
static double uniform(uint64_t seed, int stream, uint64_t index) {
  uint64_t z = index + 0x9E3779B97F4A7C15ULL * (1 + (uint64_t)stream + 16 * seed);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return (double)(z >> 11) * 0x1.0p-52 - 1.0;
}

/* count values with variance var (uniform has variance 1/3). */
static void fill_uniform(double *v, int64_t count, double var, uint64_t seed, int stream) {
  const double s = sqrt(3.0 * var);
  for (int64_t i = 0; i < count; i++) v[i] = s * uniform(seed, stream, (uint64_t)i);
}

/* A copy of v in float (f32) or double. */
static void *to_dtype(int f32, const double *v, int64_t count) {
  void *out = jaxpar_alloc(count, f32 ? sizeof(float) : sizeof(double));
  if (!out) return NULL;
  for (int64_t i = 0; i < count; i++) {
    if (f32) ((float *)out)[i] = (float)v[i];
    else ((double *)out)[i] = v[i];
  }
  return out;
}

static double element(int f32, const void *v, int64_t i) {
  return f32 ? ((const float *)v)[i] : ((const double *)v)[i];
}

/* The kernel in the precision of the run; param = {W1, b1, W2, b2}. */
static int train(int f32, MPI_Comm comm, int64_t n, int64_t d_in, int64_t h, int64_t d_out,
                 const void *x, const void *y, void *const param[4], int64_t steps,
                 int64_t batch, double lr, void *losses) {
  if (f32)
    return jaxpar_sgd_f32(comm, n, d_in, h, d_out, x, y, param[0], param[1], param[2],
                          param[3], steps, batch, lr, losses);
  return jaxpar_sgd_f64(comm, n, d_in, h, d_out, x, y, param[0], param[1], param[2],
                        param[3], steps, batch, lr, losses);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm comm = MPI_COMM_WORLD;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);

  int64_t n = 4096, d_in = 64, h = 128, d_out = 4, batch = 256, steps = 100;
  int64_t seed = 0, print_every = 10;
  double lr = 0.1;
  int f32 = 0, ok = 1, known = 1;
  const char *opt = NULL, *val = NULL;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      if (rank == 0) usage(stdout);
      MPI_Finalize();
      return 0;
    }
  for (int i = 1; i < argc && ok; i++) {
    opt = argv[i];
    val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!val) ok = 0;
    else if (!strcmp(opt, "--n")) ok = parse_int(val, 1, INT_MAX, &n);
    else if (!strcmp(opt, "--d-in")) ok = parse_int(val, 1, INT_MAX, &d_in);
    else if (!strcmp(opt, "--hidden")) ok = parse_int(val, 1, INT_MAX, &h);
    else if (!strcmp(opt, "--d-out")) ok = parse_int(val, 1, INT_MAX, &d_out);
    else if (!strcmp(opt, "--batch")) ok = parse_int(val, 1, INT_MAX, &batch);
    else if (!strcmp(opt, "--steps")) ok = parse_int(val, 1, INT64_MAX, &steps);
    else if (!strcmp(opt, "--seed")) ok = parse_int(val, 0, INT64_MAX, &seed);
    else if (!strcmp(opt, "--print-every")) ok = parse_int(val, 1, INT64_MAX, &print_every);
    else if (!strcmp(opt, "--lr")) {
      char *end;
      lr = strtod(val, &end);
      ok = *val != '\0' && *end == '\0' && isfinite(lr) && lr > 0.0;
    } else if (!strcmp(opt, "--dtype")) {
      if (!strcmp(val, "float64")) f32 = 0;
      else if (!strcmp(val, "float32")) f32 = 1;
      else ok = 0;
    } else ok = known = 0;
    i++;
  }
  if (!ok) { /* every rank parsed the same arguments, so every rank exits here */
    if (rank == 0) {
      if (!known) fprintf(stderr, "jaxpar-sgd: unknown option %s\n", opt);
      else if (!val) fprintf(stderr, "jaxpar-sgd: %s needs a value\n", opt);
      else fprintf(stderr, "jaxpar-sgd: invalid argument %s %s (sizes, counts and the learning "
                           "rate must be positive, sizes at most %d, the seed non-negative)\n",
                   opt, val, INT_MAX);
      usage(stderr);
    }
    MPI_Finalize();
    return 2;
  }

  /* Bytes of this rank at its peak: the run's copies of X, Y, the parameters
   * (initial and trained) and the losses, plus the larger of the float64 data
   * and teacher they are made from and the kernel's buffers (the slice of a
   * batch, its activations and gradients, and the packed gradient). */
  const size_t elem = f32 ? sizeof(float) : sizeof(double);
  const int64_t max_rows = batch / size + (batch % size != 0);
  int64_t n_params = 0; /* elements of W1, b1, W2, b2 */
  jaxpar_add_bytes(&n_params, d_in, h, 1);
  jaxpar_add_bytes(&n_params, 1, h, 1);
  jaxpar_add_bytes(&n_params, h, d_out, 1);
  jaxpar_add_bytes(&n_params, 1, d_out, 1);
  int64_t run = 0, setup = 0, kernel = 0;
  jaxpar_add_bytes(&run, n, d_in, elem);
  jaxpar_add_bytes(&run, n, d_out, elem);
  jaxpar_add_bytes(&run, 2, n_params, elem);
  jaxpar_add_bytes(&run, 1, steps, elem);
  jaxpar_add_bytes(&setup, n, d_in, sizeof(double));
  jaxpar_add_bytes(&setup, n, d_out, sizeof(double));
  jaxpar_add_bytes(&setup, n, h, sizeof(double));
  jaxpar_add_bytes(&setup, 1, n_params, sizeof(double));
  jaxpar_add_bytes(&kernel, max_rows, d_in, elem);
  jaxpar_add_bytes(&kernel, max_rows, 2 * d_out + 1, elem);
  jaxpar_add_bytes(&kernel, max_rows, 2 * h, elem);
  jaxpar_add_bytes(&kernel, 1, n_params, elem);
  jaxpar_add_bytes(&kernel, 1, 1, elem);
  int64_t need = setup > kernel ? setup : kernel;
  jaxpar_add_bytes(&need, 1, run, 1);
  if (jaxpar_check_memory(comm, "jaxpar-sgd", need)) {
    MPI_Finalize();
    return 2;
  }

  /* Data and teacher in float64, then rounded to the dtype of the run. */
  const int64_t n_w1 = d_in * h, n_w2 = h * d_out; /* the products fit: need did not overflow */
  double *xd = jaxpar_alloc(n * d_in, sizeof(double)), *yd = jaxpar_alloc(n * d_out, sizeof(double));
  double *hid = jaxpar_alloc(n * h, sizeof(double));
  double *tw1 = jaxpar_alloc(n_w1, sizeof(double)), *tb1 = jaxpar_alloc(h, sizeof(double));
  double *tw2 = jaxpar_alloc(n_w2, sizeof(double)), *tb2 = jaxpar_alloc(d_out, sizeof(double));
  if (!xd || !yd || !hid || !tw1 || !tb1 || !tw2 || !tb2) {
    fprintf(stderr, "jaxpar-sgd: rank %d: out of memory\n", rank);
    MPI_Abort(comm, 1);
  }
  fill_uniform(xd, n * d_in, 1.0, seed, X_STREAM);
  fill_uniform(tw1, n_w1, 1.0 / d_in, seed, TEACHER_W1);
  fill_uniform(tb1, h, 0.01, seed, TEACHER_B1);
  fill_uniform(tw2, n_w2, 1.0 / h, seed, TEACHER_W2);
  fill_uniform(tb2, d_out, 0.01, seed, TEACHER_B2);
  CBLAS(dgemm)(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, h, d_in, 1.0, xd, d_in, tw1, h,
               0.0, hid, h);
  for (int64_t i = 0; i < n * h; i++) hid[i] = tanh(hid[i] + tb1[i % h]);
  CBLAS(dgemm)(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d_out, h, 1.0, hid, h, tw2, d_out,
               0.0, yd, d_out);
  for (int64_t i = 0; i < n * d_out; i++)
    yd[i] += tb2[i % d_out] + 0.01 * uniform(seed, NOISE, (uint64_t)i);
  fill_uniform(tw1, n_w1, 1.0 / d_in, seed, STUDENT_W1); /* the teacher is no longer needed */
  fill_uniform(tw2, n_w2, 1.0 / h, seed, STUDENT_W2);
  memset(tb1, 0, sizeof(double) * h);
  memset(tb2, 0, sizeof(double) * d_out);

  void *x = to_dtype(f32, xd, n * d_in), *y = to_dtype(f32, yd, n * d_out);
  void *init[4] = {to_dtype(f32, tw1, n_w1), to_dtype(f32, tb1, h),
                   to_dtype(f32, tw2, n_w2), to_dtype(f32, tb2, d_out)};
  void *param[4] = {to_dtype(f32, tw1, n_w1), to_dtype(f32, tb1, h),
                    to_dtype(f32, tw2, n_w2), to_dtype(f32, tb2, d_out)};
  const int64_t counts[4] = {n_w1, h, n_w2, d_out};
  void *losses = jaxpar_alloc(steps, elem);
  free(xd); free(yd); free(hid); free(tw1); free(tb1); free(tw2); free(tb2);
  if (!x || !y || !losses || !init[0] || !init[1] || !init[2] || !init[3] ||
      !param[0] || !param[1] || !param[2] || !param[3]) {
    fprintf(stderr, "jaxpar-sgd: rank %d: out of memory\n", rank);
    MPI_Abort(comm, 1);
  }

  if (rank == 0)
    printf("jaxpar-sgd: %d ranks, n=%lld d_in=%lld hidden=%lld d_out=%lld batch=%lld "
           "steps=%lld lr=%g, %s\n", size, (long long)n, (long long)d_in, (long long)h,
           (long long)d_out, (long long)batch, (long long)steps, lr,
           f32 ? "float32" : "float64");

  /* One warm-up step on a copy (page faults, BLAS start-up), then the timed run
   * of all steps from the initial parameters. */
  int err = train(f32, comm, n, d_in, h, d_out, x, y, param, 1, batch, lr, losses);
  for (int p = 0; p < 4; p++) memcpy(param[p], init[p], (size_t)counts[p] * elem);
  MPI_Barrier(comm);
  double t0 = MPI_Wtime();
  if (err == 0)
    err = train(f32, comm, n, d_in, h, d_out, x, y, param, steps, batch, lr, losses);
  double local = MPI_Wtime() - t0, slowest;
  if (err == JAXPAR_EINVAL) { /* sizes past the int of MPI and CBLAS: on every rank alike */
    if (rank == 0)
      fprintf(stderr, "jaxpar-sgd: the kernel rejected the sizes: the parameters, a batch "
                      "slice or steps x batch exceed what MPI and CBLAS can count\n");
    free(x); free(y); free(losses);
    for (int p = 0; p < 4; p++) { free(init[p]); free(param[p]); }
    MPI_Finalize();
    return 2;
  }
  if (err != 0) {
    jaxpar_kernel_failed(comm, "jaxpar-sgd", err); /* returns if all ranks failed */
    free(x); free(y); free(losses);
    for (int p = 0; p < 4; p++) { free(init[p]); free(param[p]); }
    MPI_Finalize();
    return 1;
  }
  MPI_Allreduce(&local, &slowest, 1, MPI_DOUBLE, MPI_MAX, comm);

  /* Position-weighted, so that swapped entries change it too. */
  double checksum = 0.0;
  for (int p = 0; p < 4; p++)
    for (int64_t i = 0; i < counts[p]; i++)
      checksum += (double)(1 + (i + p) % 7) * element(f32, param[p], i);
  double local_range[2] = {checksum, -checksum}, range[2];
  MPI_Allreduce(local_range, range, 2, MPI_DOUBLE, MPI_MAX, comm); /* max and -min */

  /* With one step, its loss is both the first and the last: evaluate the
   * trained parameters (a copy, into init) on that step's batch instead, by a
   * step with lr = 0 whose loss is that of the batch before its (null) update. */
  double evaluated[1]; /* one loss, in float or double */
  if (steps == 1) {
    for (int p = 0; p < 4; p++) memcpy(init[p], param[p], (size_t)counts[p] * elem);
    err = train(f32, comm, n, d_in, h, d_out, x, y, init, 1, batch, 0.0, evaluated);
    if (err != 0) {
      jaxpar_kernel_failed(comm, "jaxpar-sgd", err); /* returns if all ranks failed */
      free(x); free(y); free(losses);
      for (int p = 0; p < 4; p++) { free(init[p]); free(param[p]); }
      MPI_Finalize();
      return 1;
    }
  }

  int status = 0;
  if (rank == 0) {
    for (int64_t t = 0; t < steps; t++)
      if (t % print_every == 0 || t == steps - 1)
        printf("step %6lld  loss %.10g\n", (long long)t, element(f32, losses, t));
    const double first = element(f32, losses, 0);
    const double last = steps == 1 ? element(f32, evaluated, 0) : element(f32, losses, steps - 1);
    const double spread = range[0] + range[1];
    const int learned = isfinite(last) && (steps == 1 ? last < first : last * LEARNING_FACTOR <= first);
    const int replicated = isfinite(spread) && spread <= 1e-12 * fmax(1.0, fabs(range[0]));
    if (learned && replicated) {
      if (steps == 1)
        printf("Solution validates: loss %.6g -> %.6g on the step's batch (lower), parameter "
               "checksum %.17g %s on all %d ranks\n", first, last, range[0],
               spread == 0.0 ? "identical" : "near-identical", size);
      else
        printf("Solution validates: loss %.6g -> %.6g (at least %gx lower), parameter checksum "
               "%.17g %s on all %d ranks\n", first, last, LEARNING_FACTOR, range[0],
               spread == 0.0 ? "identical" : "near-identical", size);
      const double per_step = slowest / steps;
      printf("Avg time per step (s): %.6g Samples/s: %.6g\n", per_step, batch / per_step);
    } else {
      if (!learned && steps == 1)
        printf("ERROR: loss %.6g -> %.6g on the step's batch is not lower (another --lr?)\n",
               first, last);
      else if (!learned)
        printf("ERROR: loss %.6g -> %.6g is not %gx lower (more steps or another --lr?)\n",
               first, last, LEARNING_FACTOR);
      if (!replicated)
        printf("ERROR: parameter checksums differ across ranks: max %.17g, min %.17g\n",
               range[0], -range[1]);
      status = 1;
    }
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, comm);
  free(x); free(y); free(losses);
  for (int p = 0; p < 4; p++) { free(init[p]); free(param[p]); }
  MPI_Finalize();
  return status;
}
