/* The Parallel Research Kernels' Stencil in C with MPI (after PRK's MPI1/Stencil).
 *
 *   PRK Stencil: a star stencil of radius R on an n x n grid, 2-D block
 *   decomposition on a pr x pc process grid, halo exchange. Each iteration
 *     OUT[r][c] += sum_{k=1..R} w_k (IN[r][c+k] - IN[r][c-k] + IN[r+k][c] - IN[r-k][c])
 *                  at every interior point R <= r, c < n - R, with w_k = 1/(2 k R);
 *     IN += 1 at every point.
 *
 * A rank keeps its block of IN in an array with a halo of width R on all four
 * sides. Each iteration first fills the halos from the four neighbours (a star
 * needs no corners; MPI_PROC_NULL beyond the global edge, whose halo is never
 * read), then sweeps its block once. Every block has at least R rows and
 * columns, so a halo comes from the adjacent neighbour alone.
 *
 * Sizes are checked before any communication, from the arguments alone, so that
 * every rank returns JAXPAR_EINVAL alike: blocks of fewer than R rows or columns,
 * products of sizes that overflow (jaxpar_mul_overflows), and block dimensions
 * past the int that MPI's datatypes take. A failed allocation is agreed on by
 * all ranks and returns MPI_ERR_NO_MEM.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "c_mpi.h"
#include "common.h"
#include "real.h"

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* out[j] += the star of IN around in[j] (in: a row of IN, the next row ld
 * further), for columns lo <= j < hi, in one pass: OUT is read and written once
 * per point. The sweep calls it with the common radii as constants, as PRK
 * compiles its RADIUS in: the k loop then unrolls with constant weights, leaving
 * a unit-stride loop over j with no loop inside, which the compiler vectorises. */
static inline void star_row(real *restrict out, const real *restrict in, int64_t ld,
                            const int radius, int64_t lo, int64_t hi) {
  for (int64_t j = lo; j < hi; j++) {
    real sum = 0;
    for (int k = 1; k <= radius; k++)
      sum += (real)(1.0 / (2.0 * k * radius)) *
             (in[j + k] - in[j - k] + in[j + k * ld] - in[j - k * ld]);
    out[j] += sum;
  }
}

static inline void add_one(real *restrict row, int64_t count) {
  for (int64_t j = 0; j < count; j++) row[j] += 1;
}

/* One iteration's update of my block (own: its first point, rows ld apart) and
 * my block of OUT (w wide), rows i_lo <= i < i_hi and columns j_lo <= j < j_hi
 * of its interior points. Fused with IN += 1: once OUT's row i is done, no later
 * row reads IN's row i - R, so it gets its +1 then, while still in cache. IN
 * then streams through memory once per iteration (read and written) instead of
 * twice as with a separate pass (PRK's two loops), which this bandwidth-bound
 * kernel pays in full: IN and OUT each read and written once, nothing more. The
 * halos need no +1: the next exchange refreshes them.
 *
 * The build targets baseline x86-64 (SSE2); the sweep is also compiled for
 * AVX-512 and AVX2, and the widest the CPU has is picked at load time (GCC's
 * target_clones, a glibc ifunc, as the SGD kernel's tanh). Though the stencil is
 * bandwidth-bound, wider vectors mean fewer instructions per cache line, so one
 * core keeps more loads in flight: measured on a Xeon at n = 8192, 20 to 40%
 * more GB/s than SSE2 alone, on 1 and on 2 ranks. */
#if defined(__x86_64__) && defined(__GLIBC__) && !defined(__clang__) && __GNUC__ >= 12
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void sweep(real *restrict out, real *restrict own, int64_t h, int64_t w, int64_t ld,
                  int radius, int64_t i_lo, int64_t i_hi, int64_t j_lo, int64_t j_hi) {
  for (int64_t i = 0; i < h; i++) {
    real *restrict out_row = out + i * w, *restrict in_row = own + i * ld;
    if (i >= i_lo && i < i_hi) switch (radius) {
        case 1: star_row(out_row, in_row, ld, 1, j_lo, j_hi); break;
        case 2: star_row(out_row, in_row, ld, 2, j_lo, j_hi); break;
        case 3: star_row(out_row, in_row, ld, 3, j_lo, j_hi); break;
        case 4: star_row(out_row, in_row, ld, 4, j_lo, j_hi); break;
        default: /* a larger radius: a vectorised pass over the row per k */
          for (int k = 1; k <= radius; k++) {
            const real weight = (real)(1.0 / (2.0 * k * radius));
            for (int64_t j = j_lo; j < j_hi; j++)
              out_row[j] += weight * (in_row[j + k] - in_row[j - k] + in_row[j + k * ld] -
                                      in_row[j - k * ld]);
          }
      }
    if (i >= radius) add_one(in_row - radius * ld, w);
  }
  for (int64_t i = h - radius; i < h; i++) add_one(own + i * ld, w); /* h >= R */
}

/* Asks Linux for transparent huge pages for IN (a hint, as numpy gives for its
 * large arrays): IN is allocated at every call, and faulting it in 4 KiB pages
 * cost more than an iteration at n = 8192 (measured: 0.33 s per call on 1 rank,
 * 0.15 s with huge pages). */
static void advise_huge_pages(void *p, int64_t bytes) {
#ifdef MADV_HUGEPAGE
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return;
  const uintptr_t lo = ((uintptr_t)p + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
  const uintptr_t hi = ((uintptr_t)p + (uintptr_t)bytes) / (uintptr_t)page * (uintptr_t)page;
  if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

int JAXPAR_TYPED(jaxpar_stencil)(MPI_Comm comm, int64_t n, int radius, int64_t iterations,
                                 int pr, int pc, const real *in_block, real *out_block) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int64_t R = radius;
  /* The smallest block of n over p is floor(n / p): it must hold a whole halo. */
  if (n < 1 || R < 1 || iterations < 1 || pr < 1 || pc < 1 || (int64_t)pr * pc != size ||
      n <= 2 * R || n / pr < R || n / pc < R)
    return JAXPAR_EINVAL;
  /* The largest block with its halos, (hb + 2R) x (wb + 2R), in bytes; MPI's
   * vector types take the block's rows, columns and halo'd width as int. */
  const int64_t hb = jaxpar_block_max(n, pr), wb = jaxpar_block_max(n, pc);
  int64_t count;
  if (!jaxpar_fits_int(hb) || !jaxpar_fits_int(wb) || !jaxpar_fits_int(wb + 2 * R) ||
      jaxpar_mul_overflows(hb + 2 * R, wb + 2 * R, &count) ||
      jaxpar_mul_overflows(count, sizeof(real), &count))
    return JAXPAR_EINVAL;

  const int myrow = rank / pc, mycol = rank % pc;
  const int64_t row0 = jaxpar_block_lo(n, pr, myrow), col0 = jaxpar_block_lo(n, pc, mycol);
  const int64_t h = jaxpar_block_lo(n, pr, myrow + 1) - row0;
  const int64_t w = jaxpar_block_lo(n, pc, mycol + 1) - col0;
  /* region: halo (IN with its ghost cells, R wide on every side) */
  const int64_t ld = w + 2 * R; /* IN's row length, halos included */
  real *in = jaxpar_alloc((h + 2 * R) * ld, sizeof(real));
  /* endregion */
  if (in) advise_huge_pages(in, (h + 2 * R) * ld * (int64_t)sizeof(real));
  /* Agree on allocation failure first, so that no rank waits for one that gave up. */
  int failed = !in;
  int err = MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, comm);
  if (err == MPI_SUCCESS && failed) err = MPI_ERR_NO_MEM;
  if (err != MPI_SUCCESS) {
    free(in);
    return err;
  }
  /* region: halo */
  real *own = in + R * ld + R; /* my block's first point: own[i * ld + j], -R <= i, j */
  /* endregion */
  for (int64_t i = 0; i < h; i++)
    memcpy(own + i * ld, in_block + i * w, sizeof(real) * (size_t)w);
  memset(out_block, 0, sizeof(real) * (size_t)(h * w));

  /* region: halo (datatypes, neighbours, where each halo lands and what is sent) */
  /* The halos exchanged with a neighbour: R rows of my block's w columns above or
   * below it (R runs of w, ld apart), or R columns of its h rows beside it. Both
   * are vector types on IN in place, committed once, so nothing is packed by hand
   * and all eight messages can be in flight at once: the regions sent and
   * received are disjoint (sends may overlap, they only read). */
  MPI_Datatype halo_rows, halo_cols;
  MPI_Type_vector(radius, (int)w, (int)ld, REAL_MPI, &halo_rows);
  MPI_Type_vector((int)h, radius, (int)ld, REAL_MPI, &halo_cols);
  MPI_Type_commit(&halo_rows);
  MPI_Type_commit(&halo_cols);
  /* up, down, left, right: the neighbour, where its halo lands, what it gets */
  const int neighbour[4] = {myrow > 0 ? rank - pc : MPI_PROC_NULL,
                            myrow < pr - 1 ? rank + pc : MPI_PROC_NULL,
                            mycol > 0 ? rank - 1 : MPI_PROC_NULL,
                            mycol < pc - 1 ? rank + 1 : MPI_PROC_NULL};
  real *const halo[4] = {own - R * ld, own + h * ld, own - R, own + w};
  real *const edge[4] = {own, own + (h - R) * ld, own, own + w - R};
  const MPI_Datatype type[4] = {halo_rows, halo_rows, halo_cols, halo_cols};
  /* endregion */

  /* My part of the global interior R <= r, c < n - R, in block coordinates. */
  const int64_t i_lo = max64(R - row0, 0), i_hi = min64(n - R - row0, h);
  const int64_t j_lo = max64(R - col0, 0), j_hi = min64(n - R - col0, w);

  for (int64_t t = 0; t < iterations && err == MPI_SUCCESS; t++) {
    /* region: halo (the exchange) */
    /* Nonblocking, all four directions at once, rather than a MPI_Sendrecv per
     * direction: the exchanges proceed together instead of one after another,
     * and no send/receive order is needed to avoid deadlock. Receives first, so
     * that data lands in place rather than in MPI's unexpected-message buffers.
     * One tag suffices: a neighbour sends me one message per iteration, and
     * messages from one source arrive in order. */
    MPI_Request req[8];
    for (int d = 0; d < 4; d++)
      req[d] = req[4 + d] = MPI_REQUEST_NULL;
    for (int d = 0; d < 4 && err == MPI_SUCCESS; d++)
      err = MPI_Irecv(halo[d], 1, type[d], neighbour[d], 0, comm, &req[d]);
    for (int d = 0; d < 4 && err == MPI_SUCCESS; d++)
      err = MPI_Isend(edge[d], 1, type[d], neighbour[d], 0, comm, &req[4 + d]);
    if (err == MPI_SUCCESS) err = MPI_Waitall(8, req, MPI_STATUSES_IGNORE);
    if (err != MPI_SUCCESS) break;
    /* endregion */

    sweep(out_block, own, h, w, ld, radius, i_lo, i_hi, j_lo, j_hi);
  }

  /* region: halo */
  MPI_Type_free(&halo_rows);
  MPI_Type_free(&halo_cols);
  /* endregion */
  free(in);
  return err;
}
