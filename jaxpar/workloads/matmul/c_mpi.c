/* Distributed dense matrix multiply C = A B in C with MPI and CBLAS.
 *
 *   summa:     SUMMA (van de Geijn and Watts, 1997) on a pr x pc process grid.
 *              For each panel of `panel` columns of A / rows of B, the owning
 *              grid column broadcasts its A panel along the grid rows, the owning
 *              grid row broadcasts its B panel along the grid columns, and every
 *              rank adds the panel product to its block of C. The broadcasts are
 *              nonblocking (MPI_Ibcast) and run `lookahead` panels ahead of the
 *              multiplies, into lookahead + 1 panel buffers, so that a panel's
 *              communication overlaps the products before it.
 *   allgather: 1-D row blocks of A, B and C; B is all-gathered, then one gemm.
 *
 * Blocks may be uneven or empty (a dimension smaller than the grid), so panels
 * are also cut at the block edges of both partitions of K (a panel wider than
 * K is one panel of K).
 *
 * Sizes are checked before any communication, on the largest blocks so that
 * every rank returns JAXPAR_EINVAL alike: every product of sizes is formed
 * without overflow (jaxpar_mul_overflows), and what CBLAS and MPI take as an
 * int (block dimensions, leading dimensions, panel counts) fits one. A failed
 * allocation is agreed on by all ranks and returns MPI_ERR_NO_MEM.
 */
#include <stdlib.h>
#include <string.h>

#include "c_mpi.h"
#include "common.h"
#include "real.h"

/* Index of the block of the n-item partition into `parts` that holds item i.
 * The estimate owner = floor(i parts / n) never overshoots, since
 * block_lo(owner) = floor(n owner / parts) <= i, so it only moves up. The
 * caller has checked that n parts does not overflow. */
static int block_owner(int64_t n, int parts, int64_t i) {
  int owner = (int)(i * parts / n);
  while (jaxpar_block_lo(n, parts, owner + 1) <= i) owner++;
  return owner;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Rows of C per gemm call between two tests of the broadcasts in flight. */
enum { PROGRESS_ROWS = 256 };

/* Panel t of SUMMA: columns [k0, k0 + width) of A and the same rows of B, cut at
 * the block edges of both partitions of K, with the grid column that holds those
 * columns of A and the grid row that holds those rows of B. */
typedef struct {
  int64_t k0, width, a_off, b_off;
  int a_owner, b_owner;
} panel_t;

static panel_t panel_from(int64_t k0, int64_t k, int pr, int pc, int64_t wmax) {
  panel_t p;
  p.k0 = k0;
  p.a_owner = block_owner(k, pc, k0);
  p.b_owner = block_owner(k, pr, k0);
  p.a_off = k0 - jaxpar_block_lo(k, pc, p.a_owner);
  p.b_off = k0 - jaxpar_block_lo(k, pr, p.b_owner);
  p.width = min64(k0 + wmax, min64(jaxpar_block_lo(k, pc, p.a_owner + 1),
                                   jaxpar_block_lo(k, pr, p.b_owner + 1))) - k0;
  return p;
}

/* Where a rank reads a panel of A and B from: its own block (the owner, which
 * broadcasts in place) or the buffer it receives into. */
typedef struct {
  const real *a, *b;
  int64_t lda;
} operands_t;

/* Post the broadcasts of panel p into slot's buffers: A along my grid row, B along
 * my grid column, as two requests. mloc is the same across a grid row and nloc
 * down a grid column, so a whole communicator skips an empty broadcast together
 * (posting one with a zero-size type on the root only would leave a stray message). */
static int post_panel(panel_t p, int mycol, int myrow, int64_t mloc, int64_t nloc,
                      int64_t a_cols, const real *a, const real *b, real *a_buf, real *b_buf,
                      MPI_Comm row_comm, MPI_Comm col_comm, operands_t *use, MPI_Request req[2]) {
  int err = MPI_SUCCESS;
  use->a = a_buf;
  use->lda = p.width;
  use->b = b_buf;
  req[0] = req[1] = MPI_REQUEST_NULL;
  if (mloc > 0 && mycol == p.a_owner && p.width == a_cols) {
    use->a = a; /* the panel is my whole A block: contiguous, sent in place */
  } else if (mloc > 0 && mycol == p.a_owner) {
    /* The owner packs its strided A columns: measured, MPICH moved an MPI_Type_vector
     * of them at about 0.5 GB/s, far slower than this copy and a contiguous send. */
    for (int64_t i = 0; i < mloc; i++)
      memcpy(a_buf + i * p.width, a + i * a_cols + p.a_off, sizeof(real) * (size_t)p.width);
  }
  if (mloc > 0)
    err = MPI_Ibcast((real *)use->a, (int)(mloc * p.width), REAL_MPI, p.a_owner, row_comm, &req[0]);
  /* Rows of a row-major B block are contiguous: the owner sends in place. */
  if (myrow == p.b_owner) use->b = b + p.b_off * nloc;
  if (nloc > 0 && err == MPI_SUCCESS)
    err = MPI_Ibcast((real *)use->b, (int)(p.width * nloc), REAL_MPI, p.b_owner, col_comm,
                     &req[1]);
  return err;
}

int JAXPAR_TYPED(jaxpar_matmul_summa)(MPI_Comm comm, int64_t m, int64_t k,
                                      int64_t n, int pr, int pc, int64_t panel,
                                      int lookahead, const real *a, const real *b,
                                      real *c) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (m < 1 || k < 1 || n < 1 || pr < 1 || pc < 1 || (int64_t)pr * pc != size ||
      panel < 1 || lookahead < 0 || lookahead > JAXPAR_SUMMA_MAX_LOOKAHEAD)
    return JAXPAR_EINVAL;
  /* Largest blocks: of A (mb x ka), B (kb x nb), C (mb x nb) and the panels
   * (mb x wmax, wmax x nb), since a panel never crosses a block edge of K. The
   * panel sizes are MPI counts, so mb and nb fit an int too, as does the
   * leading dimension ka of A; lookahead + 1 panels of each are buffered. */
  const int64_t mb = jaxpar_block_max(m, pr), nb = jaxpar_block_max(n, pc);
  const int64_t ka = jaxpar_block_max(k, pc), kb = jaxpar_block_max(k, pr);
  const int64_t wmax = min64(panel, min64(ka, kb));
  const int slots = lookahead + 1;
  int64_t count;
  if (!jaxpar_fits_int(ka) || !jaxpar_product_fits_int(mb, wmax) ||
      !jaxpar_product_fits_int(wmax, nb) || jaxpar_mul_overflows(mb, ka, &count) ||
      jaxpar_mul_overflows(kb, nb, &count) || jaxpar_mul_overflows(mb, nb, &count) ||
      jaxpar_mul_overflows(count, sizeof(real), &count) || /* bytes of C */
      jaxpar_mul_overflows(mb * wmax, slots, &count) || jaxpar_mul_overflows(wmax * nb, slots, &count) ||
      jaxpar_mul_overflows(k, pr > pc ? pr : pc, &count))  /* block_owner */
    return JAXPAR_EINVAL;

  const int myrow = rank / pc, mycol = rank % pc;
  const int64_t mloc = jaxpar_block_lo(m, pr, myrow + 1) - jaxpar_block_lo(m, pr, myrow);
  const int64_t nloc = jaxpar_block_lo(n, pc, mycol + 1) - jaxpar_block_lo(n, pc, mycol);
  const int64_t a_cols = jaxpar_block_lo(k, pc, mycol + 1) - jaxpar_block_lo(k, pc, mycol);

  MPI_Comm row_comm, col_comm; /* ranks of my grid row / my grid column */
  MPI_Comm_split(comm, myrow, mycol, &row_comm);
  MPI_Comm_split(comm, mycol, myrow, &col_comm);

  /* lookahead + 1 slots of panel buffers: panel t lives in slot t mod slots. */
  real *a_bufs = jaxpar_alloc(slots * mloc * wmax, sizeof(real));
  real *b_bufs = jaxpar_alloc(slots * wmax * nloc, sizeof(real));
  memset(c, 0, sizeof(real) * (size_t)(mloc * nloc));
  /* Agree on allocation failure first, so that no rank waits for one that gave up. */
  int failed = !(a_bufs && b_bufs);
  int err = MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, comm);
  if (err == MPI_SUCCESS && failed) err = MPI_ERR_NO_MEM;

  /* Look-ahead: the broadcasts of the next `lookahead` panels are in flight while
   * panel t multiplies (lookahead 0: broadcast, then multiply). Every rank posts
   * the same broadcasts in the same order, as nonblocking collectives require. */
  panel_t panels[JAXPAR_SUMMA_MAX_LOOKAHEAD + 1];
  operands_t use[JAXPAR_SUMMA_MAX_LOOKAHEAD + 1];
  MPI_Request req[JAXPAR_SUMMA_MAX_LOOKAHEAD + 1][2];
  int64_t next_k0 = 0; /* first column of the next panel to post */
  int64_t posted = 0;  /* panels posted so far */
  for (int64_t t = 0; err == MPI_SUCCESS; t++) {
    /* Keep lookahead + 1 panels posted: t and the next ones, into free slots (the
     * slot of panel t - 1 was freed by its multiply). */
    while (err == MPI_SUCCESS && next_k0 < k && posted <= t + lookahead) {
      const int slot = (int)(posted % slots);
      panels[slot] = panel_from(next_k0, k, pr, pc, wmax);
      err = post_panel(panels[slot], mycol, myrow, mloc, nloc, a_cols, a, b,
                       a_bufs + slot * mloc * wmax, b_bufs + slot * wmax * nloc,
                       row_comm, col_comm, &use[slot], req[slot]);
      next_k0 += panels[slot].width;
      posted++;
    }
    if (t == posted || err != MPI_SUCCESS) break; /* every panel multiplied */
    const int slot = (int)(t % slots);
    err = MPI_Waitall(2, req[slot], MPI_STATUSES_IGNORE);
    /* With broadcasts in flight, the product in blocks of rows of C, testing them
     * between blocks: MPI moves a nonblocking collective's data only inside MPI
     * calls (no progress thread), so without these tests nothing would overlap the
     * gemm. With none in flight (the last panel, lookahead 0), one gemm. */
    const int64_t block_rows = t + 1 < posted ? PROGRESS_ROWS : mloc;
    for (int64_t i0 = 0; i0 < mloc && err == MPI_SUCCESS; i0 += block_rows) {
      const int64_t rows_now = min64(block_rows, mloc - i0);
      jaxpar_gemm(0, 0, rows_now, nloc, panels[slot].width, 1, use[slot].a + i0 * use[slot].lda,
                  use[slot].lda, use[slot].b, nloc, 1, c + i0 * nloc, nloc);
      for (int64_t ahead = t + 1; ahead < posted && err == MPI_SUCCESS; ahead++) {
        int done;
        err = MPI_Testall(2, req[ahead % slots], &done, MPI_STATUSES_IGNORE);
      }
    }
  }

  free(a_bufs);
  free(b_bufs);
  MPI_Comm_free(&row_comm);
  MPI_Comm_free(&col_comm);
  return err;
}

int JAXPAR_TYPED(jaxpar_matmul_allgather)(MPI_Comm comm, int64_t m, int64_t k,
                                          int64_t n, const real *a,
                                          const real *b, real *c) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (m < 1 || k < 1 || n < 1) return JAXPAR_EINVAL;
  /* CBLAS takes the largest block of rows mb, k and n as int, MPI counts rows
   * of B (k) of n elements as int; A (mb x k), C (mb x n) and the gathered B
   * (k x n, in bytes) are formed without overflow. */
  const int64_t mb = jaxpar_block_max(m, size);
  int64_t count;
  if (!jaxpar_fits_int(mb) || !jaxpar_fits_int(k) || !jaxpar_fits_int(n) ||
      jaxpar_mul_overflows(mb, k, &count) || jaxpar_mul_overflows(mb, n, &count) ||
      jaxpar_mul_overflows(k, n, &count) || jaxpar_mul_overflows(count, sizeof(real), &count))
    return JAXPAR_EINVAL;

  const int64_t mloc = jaxpar_block_lo(m, size, rank + 1) - jaxpar_block_lo(m, size, rank);
  int *b_rows = jaxpar_alloc(size, sizeof(int)), *b_first = jaxpar_alloc(size, sizeof(int));
  real *b_full = jaxpar_alloc(k * n, sizeof(real));
  /* Agree on allocation failure first, so that no rank waits for one that gave up. */
  int failed = !(b_rows && b_first && b_full);
  int err = MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, comm);
  if (err == MPI_SUCCESS && failed) err = MPI_ERR_NO_MEM;
  if (err != MPI_SUCCESS) {
    free(b_rows); free(b_first); free(b_full);
    return err;
  }
  for (int r = 0; r < size; r++) {
    b_first[r] = (int)jaxpar_block_lo(k, size, r);
    b_rows[r] = (int)jaxpar_block_lo(k, size, r + 1) - b_first[r];
  }
  /* Count whole rows of B so that the int counts of MPI cannot overflow. */
  MPI_Datatype b_row;
  MPI_Type_contiguous((int)n, REAL_MPI, &b_row);
  MPI_Type_commit(&b_row);
  err = MPI_Allgatherv(b, b_rows[rank], b_row, b_full, b_rows, b_first, b_row, comm);
  MPI_Type_free(&b_row);
  if (err == MPI_SUCCESS)
    jaxpar_gemm(0, 0, mloc, n, k, 1, a, k, b_full, n, 0, c, n);

  free(b_rows); free(b_first); free(b_full);
  return err;
}
