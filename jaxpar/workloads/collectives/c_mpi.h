/* C API of the collectives kernels (c_mpi.c), in double (_f64) and float (_f32). */
#ifndef JAXPAR_COLLECTIVES_C_MPI_H
#define JAXPAR_COLLECTIVES_C_MPI_H

#include <mpi.h>
#include <stdint.h>

#include "jaxpar_mpi.h"

/* Each runs its collective `iterations` times back to back on buffers of
 * `count` elements per rank, allocated and filled by the caller. */

/* MPI_Allreduce (sum) of send into recv. */
int jaxpar_collectives_allreduce_f64(MPI_Comm comm, int64_t count, int64_t iterations,
                                     const double *send, double *recv);
int jaxpar_collectives_allreduce_f32(MPI_Comm comm, int64_t count, int64_t iterations,
                                     const float *send, float *recv);

/* MPI_Allgather of send into recv, which holds size x count elements. */
int jaxpar_collectives_allgather_f64(MPI_Comm comm, int64_t count, int64_t iterations,
                                     const double *send, double *recv);
int jaxpar_collectives_allgather_f32(MPI_Comm comm, int64_t count, int64_t iterations,
                                     const float *send, float *recv);

/* MPI_Bcast of buffer from rank 0, in place. */
int jaxpar_collectives_bcast_f64(MPI_Comm comm, int64_t count, int64_t iterations,
                                 double *buffer);
int jaxpar_collectives_bcast_f32(MPI_Comm comm, int64_t count, int64_t iterations,
                                 float *buffer);

/* MPI_Sendrecv around the ring: send to rank + 1, recv from rank - 1 (mod size). */
int jaxpar_collectives_sendrecv_f64(MPI_Comm comm, int64_t count, int64_t iterations,
                                    const double *send, double *recv);
int jaxpar_collectives_sendrecv_f32(MPI_Comm comm, int64_t count, int64_t iterations,
                                    const float *send, float *recv);

#endif
