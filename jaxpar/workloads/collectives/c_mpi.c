/* The collectives the workloads use, in C with MPI, each run `iterations`
 * times back to back (an OSU-style loop; the caller times the whole loop):
 *
 *   allreduce: MPI_Allreduce (sum) of every rank's buffer
 *   allgather: MPI_Allgather of every rank's buffer
 *   bcast:     MPI_Bcast from rank 0, in place
 *   sendrecv:  MPI_Sendrecv around the ring, to rank + 1 and from rank - 1
 *
 * The buffers come from the caller, filled, so nothing but communication is
 * timed. Sizes are checked before any communication, the same way on every
 * rank, so that all return JAXPAR_EINVAL alike: counts are MPI ints, and so is
 * the all-gathered size x count, which some MPI libraries form as an int.
 */
#include "c_mpi.h"
#include "common.h"
#include "real.h"

static int bad_sizes(int64_t count, int64_t iterations) {
  return count < 1 || iterations < 1 || !jaxpar_fits_int(count);
}

int JAXPAR_TYPED(jaxpar_collectives_allreduce)(MPI_Comm comm, int64_t count, int64_t iterations,
                                               const real *send, real *recv) {
  if (bad_sizes(count, iterations)) return JAXPAR_EINVAL;
  int err = MPI_SUCCESS;
  for (int64_t i = 0; i < iterations && err == MPI_SUCCESS; i++)
    err = MPI_Allreduce(send, recv, (int)count, REAL_MPI, MPI_SUM, comm);
  return err;
}

int JAXPAR_TYPED(jaxpar_collectives_allgather)(MPI_Comm comm, int64_t count, int64_t iterations,
                                               const real *send, real *recv) {
  int size;
  MPI_Comm_size(comm, &size);
  if (bad_sizes(count, iterations) || !jaxpar_product_fits_int(size, count)) return JAXPAR_EINVAL;
  int err = MPI_SUCCESS;
  for (int64_t i = 0; i < iterations && err == MPI_SUCCESS; i++)
    err = MPI_Allgather(send, (int)count, REAL_MPI, recv, (int)count, REAL_MPI, comm);
  return err;
}

int JAXPAR_TYPED(jaxpar_collectives_bcast)(MPI_Comm comm, int64_t count, int64_t iterations,
                                           real *buffer) {
  if (bad_sizes(count, iterations)) return JAXPAR_EINVAL;
  int err = MPI_SUCCESS;
  for (int64_t i = 0; i < iterations && err == MPI_SUCCESS; i++)
    err = MPI_Bcast(buffer, (int)count, REAL_MPI, 0, comm);
  return err;
}

int JAXPAR_TYPED(jaxpar_collectives_sendrecv)(MPI_Comm comm, int64_t count, int64_t iterations,
                                              const real *send, real *recv) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (bad_sizes(count, iterations)) return JAXPAR_EINVAL;
  const int right = (rank + 1) % size, left = (rank + size - 1) % size;
  int err = MPI_SUCCESS;
  /* One rank sends to itself: MPI_Sendrecv pairs the two without deadlock. */
  for (int64_t i = 0; i < iterations && err == MPI_SUCCESS; i++)
    err = MPI_Sendrecv(send, (int)count, REAL_MPI, right, 0, recv, (int)count, REAL_MPI, left, 0,
                       comm, MPI_STATUS_IGNORE);
  return err;
}
