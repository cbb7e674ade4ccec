/* jaxpar-matmul: standalone driver for the C/MPI matmul kernels, no Python.
 *
 *   mpirun -n P jaxpar-matmul M K N [--algorithm summa|allgather]
 *                                   [--repeats R] [--dtype float64|float32]
 *                                   [--panel W] [--lookahead L]
 *   jaxpar-matmul --help
 *
 * Validation follows the Parallel Research Kernels: A(i,j) = B(i,j) = j + 1
 * (0-based j), so C(i,j) = (j + 1) K(K+1)/2 and sum(C) = M K(K+1)/2 N(N+1)/2,
 * which is nonzero at every size: a wrong or zero C cannot pass.
 *
 * Bad arguments exit with status 2 on every rank (rank 0 says why), as do
 * sizes whose byte counts overflow or whose blocks (with the kernel's panels
 * or gathered B) need more than the physical memory of a node; all is checked
 * before anything is allocated.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_mpi.h"
#include "common.h"
#include "driver.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: jaxpar-matmul M K N [--algorithm summa|allgather] "
          "[--repeats R] [--dtype float64|float32] [--panel W] [--lookahead L]\n");
}

static int parse_at_least(const char *text, long long low, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno == ERANGE || v < low) return 0;
  *out = v;
  return 1;
}

static int parse_positive(const char *text, int64_t *out) { return parse_at_least(text, 1, out); }

/* Fill a rows x cols block whose first global column is col0 with A(i,j) = j + 1. */
static void fill_by_column(int f32, void *x, int64_t rows, int64_t cols, int64_t col0) {
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) {
      if (f32) ((float *)x)[i * cols + j] = (float)(col0 + j + 1);
      else ((double *)x)[i * cols + j] = (double)(col0 + j + 1);
    }
}

static double sum_block(int f32, const void *x, int64_t count) {
  double s = 0.0;
  for (int64_t i = 0; i < count; i++)
    s += f32 ? ((const float *)x)[i] : ((const double *)x)[i];
  return s;
}

/* The kernel of the algorithm and precision of the run. */
static int multiply(int f32, int summa, MPI_Comm comm, int64_t m, int64_t k, int64_t n,
                    int pr, int pc, int64_t panel, int lookahead, const void *a,
                    const void *b, void *c) {
  if (f32)
    return summa ? jaxpar_matmul_summa_f32(comm, m, k, n, pr, pc, panel, lookahead, a, b, c)
                 : jaxpar_matmul_allgather_f32(comm, m, k, n, a, b, c);
  return summa ? jaxpar_matmul_summa_f64(comm, m, k, n, pr, pc, panel, lookahead, a, b, c)
               : jaxpar_matmul_allgather_f64(comm, m, k, n, a, b, c);
}

/* Most nearly square pr x pc = P with pr <= pc, as in the Python harness. */
static void process_grid(int size, int *pr, int *pc) {
  int r = 1;
  for (int d = 1; (long)d * d <= size; d++)
    if (size % d == 0) r = d;
  *pr = r;
  *pc = size / r;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm comm = MPI_COMM_WORLD;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);

  int64_t dims[3], repeats = 5, panel = 256, lookahead = 1;
  const char *algorithm = "summa";
  int f32 = 0, npos = 0, ok = 1;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      if (rank == 0) usage(stdout);
      MPI_Finalize();
      return 0;
    }
  for (int i = 1; i < argc && ok; i++) {
    if (!strcmp(argv[i], "--algorithm") && i + 1 < argc) algorithm = argv[++i];
    else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) ok = parse_positive(argv[++i], &repeats);
    else if (!strcmp(argv[i], "--panel") && i + 1 < argc) ok = parse_positive(argv[++i], &panel);
    else if (!strcmp(argv[i], "--lookahead") && i + 1 < argc)
      ok = parse_at_least(argv[++i], 0, &lookahead) && lookahead <= JAXPAR_SUMMA_MAX_LOOKAHEAD;
    else if (!strcmp(argv[i], "--dtype") && i + 1 < argc) {
      i++;
      if (!strcmp(argv[i], "float64")) f32 = 0;
      else if (!strcmp(argv[i], "float32")) f32 = 1;
      else ok = 0;
    } else if (npos < 3) ok = parse_positive(argv[i], &dims[npos++]);
    else ok = 0;
  }
  int summa = !strcmp(algorithm, "summa");
  if (!summa && strcmp(algorithm, "allgather")) ok = 0;
  if (!ok || npos != 3) {
    if (rank == 0) {
      fprintf(stderr, "jaxpar-matmul: invalid arguments (sizes, repeats and panel must be "
                      "positive integers, lookahead 0 to %d)\n",
              (int)JAXPAR_SUMMA_MAX_LOOKAHEAD);
      usage(stderr);
    }
    MPI_Finalize();
    return 2;
  }
  const int64_t m = dims[0], k = dims[1], n = dims[2];
  int pr = 1, pc = size;
  if (summa) process_grid(size, &pr, &pc);
  const int myrow = summa ? rank / pc : rank, mycol = summa ? rank % pc : 0;

  /* Local block extents, the same partition as jaxpar_matmul_{summa,allgather}. */
  int64_t a_rows, a_cols, a_col0, b_rows, b_cols, b_col0;
  if (summa) {
    a_rows = jaxpar_block_lo(m, pr, myrow + 1) - jaxpar_block_lo(m, pr, myrow);
    a_col0 = jaxpar_block_lo(k, pc, mycol);
    a_cols = jaxpar_block_lo(k, pc, mycol + 1) - a_col0;
    b_rows = jaxpar_block_lo(k, pr, myrow + 1) - jaxpar_block_lo(k, pr, myrow);
    b_col0 = jaxpar_block_lo(n, pc, mycol);
    b_cols = jaxpar_block_lo(n, pc, mycol + 1) - b_col0;
  } else {
    a_rows = jaxpar_block_lo(m, size, rank + 1) - jaxpar_block_lo(m, size, rank);
    a_cols = k; a_col0 = 0;
    b_rows = jaxpar_block_lo(k, size, rank + 1) - jaxpar_block_lo(k, size, rank);
    b_cols = n; b_col0 = 0;
  }
  const int64_t c_rows = a_rows, c_cols = b_cols;

  /* Bytes of this rank: its blocks of A, B and C, and the kernel's buffers
   * (SUMMA: an A and a B panel at most min(panel, K) wide; allgather: all of B). */
  const size_t elem = f32 ? sizeof(float) : sizeof(double);
  const int64_t wide = panel < k ? panel : k;
  int64_t need = 0;
  jaxpar_add_bytes(&need, a_rows, a_cols, elem);
  jaxpar_add_bytes(&need, b_rows, b_cols, elem);
  jaxpar_add_bytes(&need, c_rows, c_cols, elem);
  if (summa) {
    for (int64_t slot = 0; slot <= lookahead; slot++) { /* lookahead + 1 panel buffers */
      jaxpar_add_bytes(&need, a_rows, wide, elem);
      jaxpar_add_bytes(&need, wide, b_cols, elem);
    }
  } else {
    jaxpar_add_bytes(&need, k, n, elem);
    jaxpar_add_bytes(&need, 2, size, sizeof(int));
  }
  if (jaxpar_check_memory(comm, "jaxpar-matmul", need)) {
    MPI_Finalize();
    return 2;
  }
  const int64_t c_count = c_rows * c_cols; /* the products fit: need did not overflow */
  void *a = jaxpar_alloc(a_rows * a_cols, elem);
  void *b = jaxpar_alloc(b_rows * b_cols, elem);
  void *c = jaxpar_alloc(c_count, elem);
  if (!a || !b || !c) {
    fprintf(stderr, "jaxpar-matmul: rank %d: out of memory\n", rank);
    MPI_Abort(comm, 1);
  }
  fill_by_column(f32, a, a_rows, a_cols, a_col0);
  fill_by_column(f32, b, b_rows, b_cols, b_col0);

  if (rank == 0)
    printf("jaxpar-matmul: %s, %d ranks (grid %dx%d), M=%lld K=%lld N=%lld, %s, %lld repeats\n",
           algorithm, size, pr, pc, (long long)m, (long long)k, (long long)n,
           f32 ? "float32" : "float64", (long long)repeats);

  double total = 0.0;
  for (int64_t iter = 0; iter <= repeats; iter++) { /* iteration 0 is warm-up */
    MPI_Barrier(comm);
    double t0 = MPI_Wtime();
    int err = multiply(f32, summa, comm, m, k, n, pr, pc, panel, (int)lookahead, a, b, c);
    double local = MPI_Wtime() - t0, slowest;
    if (err == JAXPAR_EINVAL) { /* sizes past the int of MPI and CBLAS: on every rank alike */
      if (rank == 0)
        fprintf(stderr, "jaxpar-matmul: the kernel rejected the sizes: a block dimension, "
                        "panel or MPI count exceeds %d\n", INT_MAX);
      free(a); free(b); free(c);
      MPI_Finalize();
      return 2;
    }
    if (err != 0) {
      jaxpar_kernel_failed(comm, "jaxpar-matmul", err); /* returns if all ranks failed */
      free(a); free(b); free(c);
      MPI_Finalize();
      return 1;
    }
    MPI_Allreduce(&local, &slowest, 1, MPI_DOUBLE, MPI_MAX, comm);
    if (iter > 0) total += slowest;
  }

  double local_sum = sum_block(f32, c, c_count), checksum;
  MPI_Reduce(&local_sum, &checksum, 1, MPI_DOUBLE, MPI_SUM, 0, comm);
  int status = 0;
  if (rank == 0) {
    const double reference = (double)m * (0.5 * k * (k + 1)) * (0.5 * n * (n + 1)); /* > 0 */
    const double epsilon = f32 ? 1e-4 : 1e-8;
    const double error = fabs(checksum - reference) / reference;
    if (error < epsilon) {
      printf("Solution validates: checksum %.17g, relative error %.3g\n", checksum, error);
      const double avg = total / repeats;
      printf("Rate (GFLOP/s): %.6g Avg time (s): %.6g\n", 2.0 * m * k * n / avg * 1e-9, avg);
    } else {
      printf("ERROR: checksum %.17g does not match reference %.17g (relative error %.3g)\n",
             checksum, reference, error);
      status = 1;
    }
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, comm);
  free(a); free(b); free(c);
  MPI_Finalize();
  return status;
}
