/* jaxpar-stencil: standalone driver for the C/MPI stencil kernel, no Python; the
 * Parallel Research Kernels' MPI1 Stencil driver, with PRK's arguments.
 *
 *   mpirun -n P jaxpar-stencil ITERATIONS N [--radius R] [--dtype float64|float32]
 *   jaxpar-stencil --help
 *
 * As PRK: each rank fills its own block of the input IN[r][c] = COEFX c + COEFY r
 * (no global array), runs ITERATIONS + 1 iterations of which the first is an
 * untimed warm-up, and validates the L1 norm of OUT over the interior points,
 * divided by their number (N - 2R)^2, against (ITERATIONS + 1)(COEFX + COEFY).
 * The kernel starts from its input and zeroes OUT at every call, so the two
 * calls run PRK's sequence in two parts: the warm-up iteration from IN, then the
 * ITERATIONS timed ones from IN + 1 (where PRK's IN stands after it), and OUT is
 * the sum of both calls' OUT. The timed call includes the kernel's own set-up:
 * the copy of IN into its array with halos and the zeroing of OUT.
 *
 * Bad arguments exit with status 2 on every rank (rank 0 says why), as do grids
 * too small for the process grid (every block needs at least R rows and
 * columns), sizes whose byte counts overflow and blocks that need more than the
 * physical memory of a node; all is checked before anything is allocated.
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

#define COEFX 1.0
#define COEFY 1.0

static void usage(FILE *out) {
  fprintf(out, "usage: jaxpar-stencil ITERATIONS N [--radius R] [--dtype float64|float32]\n");
}

static int parse_int(const char *text, int64_t max, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno == ERANGE || v < 1 || v > max) return 0;
  *out = v;
  return 1;
}

/* Most nearly square pr x pc = P with pr <= pc, as in the Python harness. */
static void process_grid(int size, int *pr, int *pc) {
  int r = 1;
  for (int d = 1; (long)d * d <= size; d++)
    if (size % d == 0) r = d;
  *pr = r;
  *pc = size / r;
}

static double element(int f32, const void *x, int64_t i) {
  return f32 ? ((const float *)x)[i] : ((const double *)x)[i];
}

static void set_element(int f32, void *x, int64_t i, double v) {
  if (f32) ((float *)x)[i] = (float)v;
  else ((double *)x)[i] = v;
}

static int stencil(int f32, MPI_Comm comm, int64_t n, int radius, int64_t iterations,
                   int pr, int pc, const void *in, void *out) {
  return f32 ? jaxpar_stencil_f32(comm, n, radius, iterations, pr, pc, in, out)
             : jaxpar_stencil_f64(comm, n, radius, iterations, pr, pc, in, out);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm comm = MPI_COMM_WORLD;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);

  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      if (rank == 0) usage(stdout);
      MPI_Finalize();
      return 0;
    }
  /* Every rank parses the same arguments, so every rank exits on the same error;
   * rank 0 says why. */
  char why[512] = "";
  int64_t iterations = 0, n = 0, radius = 2;
  int f32 = 0, npos = 0;
  for (int i = 1; i < argc && !why[0]; i++) {
    const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(arg, "--radius") || !strcmp(arg, "--dtype")) {
      i++;
      if (!val)
        snprintf(why, sizeof why, "%s needs a value", arg);
      else if (!strcmp(arg, "--radius") && !parse_int(val, INT_MAX, &radius))
        snprintf(why, sizeof why, "--radius must be a positive integer (at most %d), got %s",
                 INT_MAX, val);
      else if (!strcmp(arg, "--dtype") && strcmp(val, "float64") && strcmp(val, "float32"))
        snprintf(why, sizeof why, "--dtype must be float64 or float32, got %s", val);
      else if (!strcmp(arg, "--dtype"))
        f32 = !strcmp(val, "float32");
    } else if (!strncmp(arg, "--", 2) || npos == 2) {
      snprintf(why, sizeof why, "unexpected argument %s", arg);
    } else if (npos++ == 0) {
      if (!parse_int(arg, INT64_MAX - 1, &iterations))
        snprintf(why, sizeof why, "ITERATIONS must be a positive integer, got %s", arg);
    } else if (!parse_int(arg, INT64_MAX, &n)) {
      snprintf(why, sizeof why, "N must be a positive integer, got %s", arg);
    }
  }
  if (!why[0] && npos < 2) snprintf(why, sizeof why, "ITERATIONS and N are required");
  if (!why[0] && n <= 2 * radius)
    snprintf(why, sizeof why, "N=%lld must exceed 2 x radius = %lld: a grid of N <= 2R has "
             "no interior point for the stencil to update", (long long)n, (long long)(2 * radius));
  int pr, pc;
  process_grid(size, &pr, &pc);
  const int64_t smallest = n / (pr > pc ? pr : pc); /* the smallest block: floor(n / parts) */
  if (!why[0] && smallest < radius)
    snprintf(why, sizeof why, "N=%lld is too small for %d ranks with radius %lld: the %d x %d "
             "process grid leaves blocks of %lld rows or columns, and every block needs at "
             "least R = %lld (its halo comes from its neighbours only); use N >= %lld or "
             "fewer ranks", (long long)n, size, (long long)radius, pr, pc, (long long)smallest,
             (long long)radius, (long long)(radius * (pr > pc ? pr : pc)));
  if (why[0]) {
    if (rank == 0) {
      fprintf(stderr, "jaxpar-stencil: %s\n", why);
      usage(stderr);
    }
    MPI_Finalize();
    return 2;
  }

  /* My block, the same partition as the kernel's. */
  const int myrow = rank / pc, mycol = rank % pc;
  const int64_t row0 = jaxpar_block_lo(n, pr, myrow), col0 = jaxpar_block_lo(n, pc, mycol);
  const int64_t h = jaxpar_block_lo(n, pr, myrow + 1) - row0;
  const int64_t w = jaxpar_block_lo(n, pc, mycol + 1) - col0;

  /* Bytes of this rank: IN and the two calls' OUT blocks, and the kernel's IN
   * with halos. */
  const size_t elem = f32 ? sizeof(float) : sizeof(double);
  int64_t need = 0;
  jaxpar_add_bytes(&need, 3 * h, w, elem);
  jaxpar_add_bytes(&need, h + 2 * radius, w + 2 * radius, elem);
  if (jaxpar_check_memory(comm, "jaxpar-stencil", need)) {
    MPI_Finalize();
    return 2;
  }
  const int64_t count = h * w; /* the products fit: need did not overflow */
  void *in = jaxpar_alloc(count, elem), *out = jaxpar_alloc(count, elem);
  void *warm_out = jaxpar_alloc(count, elem);
  if (!in || !out || !warm_out) {
    fprintf(stderr, "jaxpar-stencil: rank %d: out of memory\n", rank);
    MPI_Abort(comm, 1);
  }
  for (int64_t i = 0; i < h; i++)
    for (int64_t j = 0; j < w; j++)
      set_element(f32, in, i * w + j, COEFX * (double)(col0 + j) + COEFY * (double)(row0 + i));

  if (rank == 0)
    printf("jaxpar-stencil: PRK star stencil, %d ranks (grid %dx%d), N=%lld, radius %lld, "
           "%lld iterations, %s\n", size, pr, pc, (long long)n, (long long)radius,
           (long long)iterations, f32 ? "float32" : "float64");

  /* Warm-up iteration, then IN + 1, as PRK's IN after it; then the timed ones. */
  int err = stencil(f32, comm, n, (int)radius, 1, pr, pc, in, warm_out);
  for (int64_t i = 0; i < count && err == 0; i++) set_element(f32, in, i, element(f32, in, i) + 1);
  MPI_Barrier(comm);
  const double t0 = MPI_Wtime();
  if (err == 0) err = stencil(f32, comm, n, (int)radius, iterations, pr, pc, in, out);
  double local = MPI_Wtime() - t0, slowest;
  if (err == JAXPAR_EINVAL) { /* sizes past the int of MPI's datatypes: on every rank alike */
    if (rank == 0)
      fprintf(stderr, "jaxpar-stencil: the kernel rejected the sizes: a block's rows or "
                      "columns with halos exceed %d\n", INT_MAX);
    free(in); free(out); free(warm_out);
    MPI_Finalize();
    return 2;
  }
  if (err != 0) {
    jaxpar_kernel_failed(comm, "jaxpar-stencil", err); /* returns if all ranks failed */
    free(in); free(out); free(warm_out);
    MPI_Finalize();
    return 1;
  }
  MPI_Allreduce(&local, &slowest, 1, MPI_DOUBLE, MPI_MAX, comm);

  /* PRK's norm: sum |OUT| over my interior points (R <= r, c < N - R), with OUT
   * both calls' sum; OUT off the interior must have stayed zero. */
  double sums[2] = {0.0, 0.0}, total[2]; /* {interior, boundary band} */
  for (int64_t i = 0; i < h; i++)
    for (int64_t j = 0; j < w; j++) {
      const int64_t r = row0 + i, c = col0 + j;
      const int interior = r >= radius && r < n - radius && c >= radius && c < n - radius;
      sums[!interior] += fabs(element(f32, out, i * w + j) + element(f32, warm_out, i * w + j));
    }
  MPI_Reduce(sums, total, 2, MPI_DOUBLE, MPI_SUM, 0, comm);
  int status = 0;
  if (rank == 0) {
    const double active = (double)(n - 2 * radius) * (double)(n - 2 * radius);
    const double norm = total[0] / active;
    const double reference = ((double)iterations + 1) * (COEFX + COEFY);
    const double epsilon = f32 ? 1e-4 : 1e-8;
    if (fabs(norm - reference) <= epsilon && total[1] == 0.0) {
      printf("Solution validates\n");
      const double avg = slowest / (double)iterations;
      const double flops = (2.0 * (4 * radius + 1) + 1) * active;
      const double bytes = (double)elem * (2.0 * (double)n * (double)n + 2.0 * active);
      printf("Rate (MFlops/s): %.6f  Avg time (s): %.6f\n", 1e-6 * flops / avg, avg);
      printf("Rate (GB/s): %.6f\n", 1e-9 * bytes / avg);
    } else {
      if (!(fabs(norm - reference) <= epsilon)) /* NaN too */
        printf("ERROR: L1 norm = %.17g, reference L1 norm = %.17g\n", norm, reference);
      if (total[1] != 0.0)
        printf("ERROR: OUT is not zero on the boundary band (L1 norm there %.17g)\n", total[1]);
      status = 1;
    }
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, comm);
  free(in); free(out); free(warm_out);
  MPI_Finalize();
  return status;
}
