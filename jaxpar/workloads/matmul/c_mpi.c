/* Distributed dense matrix multiply C = A B in C with MPI and CBLAS.
 *
 *   summa:     SUMMA (van de Geijn and Watts, 1997) on a pr x pc process grid.
 *              For each panel of `panel` columns of A / rows of B, the owning
 *              grid column broadcasts its A panel along the grid rows, the owning
 *              grid row broadcasts its B panel along the grid columns, and every
 *              rank adds the panel product to its block of C.
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

int JAXPAR_TYPED(jaxpar_matmul_summa)(MPI_Comm comm, int64_t m, int64_t k,
                                      int64_t n, int pr, int pc, int64_t panel,
                                      const real *a, const real *b, real *c) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (m < 1 || k < 1 || n < 1 || pr < 1 || pc < 1 || (int64_t)pr * pc != size ||
      panel < 1)
    return JAXPAR_EINVAL;
  /* Largest blocks: of A (mb x ka), B (kb x nb), C (mb x nb) and the panels
   * (mb x wmax, wmax x nb), since a panel never crosses a block edge of K. The
   * panel sizes are MPI counts, so mb and nb fit an int too, as does the
   * leading dimension ka of A. */
  const int64_t mb = jaxpar_block_max(m, pr), nb = jaxpar_block_max(n, pc);
  const int64_t ka = jaxpar_block_max(k, pc), kb = jaxpar_block_max(k, pr);
  const int64_t wmax = min64(panel, min64(ka, kb));
  int64_t count;
  if (!jaxpar_fits_int(ka) || !jaxpar_product_fits_int(mb, wmax) ||
      !jaxpar_product_fits_int(wmax, nb) || jaxpar_mul_overflows(mb, ka, &count) ||
      jaxpar_mul_overflows(kb, nb, &count) || jaxpar_mul_overflows(mb, nb, &count) ||
      jaxpar_mul_overflows(count, sizeof(real), &count) || /* bytes of C */
      jaxpar_mul_overflows(k, pr > pc ? pr : pc, &count))  /* block_owner */
    return JAXPAR_EINVAL;

  const int myrow = rank / pc, mycol = rank % pc;
  const int64_t mloc = jaxpar_block_lo(m, pr, myrow + 1) - jaxpar_block_lo(m, pr, myrow);
  const int64_t nloc = jaxpar_block_lo(n, pc, mycol + 1) - jaxpar_block_lo(n, pc, mycol);
  const int64_t a_cols = jaxpar_block_lo(k, pc, mycol + 1) - jaxpar_block_lo(k, pc, mycol);

  MPI_Comm row_comm, col_comm; /* ranks of my grid row / my grid column */
  MPI_Comm_split(comm, myrow, mycol, &row_comm);
  MPI_Comm_split(comm, mycol, myrow, &col_comm);

  real *a_panel = jaxpar_alloc(mloc * wmax, sizeof(real));
  real *b_panel = jaxpar_alloc(wmax * nloc, sizeof(real));
  memset(c, 0, sizeof(real) * (size_t)(mloc * nloc));
  /* Agree on allocation failure first, so that no rank waits for one that gave up. */
  int failed = !(a_panel && b_panel);
  int err = MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, comm);
  if (err == MPI_SUCCESS && failed) err = MPI_ERR_NO_MEM;

  for (int64_t k0 = 0; k0 < k && err == MPI_SUCCESS;) {
    const int a_owner = block_owner(k, pc, k0); /* grid column holding A[:, k0] */
    const int b_owner = block_owner(k, pr, k0); /* grid row holding B[k0, :] */
    const int64_t a_off = k0 - jaxpar_block_lo(k, pc, a_owner);
    const int64_t b_off = k0 - jaxpar_block_lo(k, pr, b_owner);
    const int64_t width = min64(k0 + wmax, min64(jaxpar_block_lo(k, pc, a_owner + 1),
                                                  jaxpar_block_lo(k, pr, b_owner + 1))) - k0;

    /* The owner sends its strided A columns in place; the others receive a
     * contiguous mloc x width panel. */
    /* mloc is the same across a grid row and nloc down a grid column, so a
     * whole communicator skips an empty broadcast together. (Posting it with a
     * zero-size derived type on the root only would leave a stray message.) */
    const real *a_use = a_panel;
    int64_t lda = width;
    if (mloc == 0) {
      /* nothing to send or receive in this grid row */
    } else if (mycol == a_owner) {
      MPI_Datatype a_cols_type;
      MPI_Type_vector((int)mloc, (int)width, (int)a_cols, REAL_MPI, &a_cols_type);
      MPI_Type_commit(&a_cols_type);
      err = MPI_Bcast((real *)a + a_off, 1, a_cols_type, a_owner, row_comm);
      MPI_Type_free(&a_cols_type);
      a_use = a + a_off;
      lda = a_cols;
    } else {
      err = MPI_Bcast(a_panel, (int)(mloc * width), REAL_MPI, a_owner, row_comm);
    }
    /* Rows of a row-major B block are contiguous: the owner sends in place. */
    const real *b_use = b_panel;
    if (nloc == 0) {
      /* nothing to send or receive in this grid column */
    } else if (myrow == b_owner) {
      b_use = b + b_off * nloc;
      if (err == MPI_SUCCESS)
        err = MPI_Bcast((real *)b_use, (int)(width * nloc), REAL_MPI, b_owner, col_comm);
    } else if (err == MPI_SUCCESS) {
      err = MPI_Bcast(b_panel, (int)(width * nloc), REAL_MPI, b_owner, col_comm);
    }
    jaxpar_gemm(0, 0, mloc, nloc, width, 1, a_use, lda, b_use, nloc, 1, c, nloc);
    k0 += width;
  }

  free(a_panel);
  free(b_panel);
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
