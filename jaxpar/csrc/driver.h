/* Helpers of the standalone drivers (driver.c). */
#ifndef JAXPAR_DRIVER_H
#define JAXPAR_DRIVER_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* For the drivers' memory estimates: *bytes += a * b * size, or 1 when that
 * overflows int64_t (then *bytes is INT64_MAX). */
int jaxpar_add_bytes(int64_t *bytes, int64_t a, int64_t b, size_t size);

/* For the drivers, collective over comm: 0 when every node has the physical
 * memory (sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE)) for the `need`
 * bytes of each of its ranks; otherwise 1, on every rank, after rank 0 printed
 * why to stderr, prefixed by `program`. need = INT64_MAX means the sizes
 * overflowed (see jaxpar_add_bytes). */
int jaxpar_check_memory(MPI_Comm comm, const char *program, int64_t need);

/* For the drivers: a kernel's return code in words ("out of memory" for
 * MPI_ERR_NO_MEM, whose MPI error string names MPI_Alloc_mem). */
void jaxpar_error_string(int err, char *buf, int len);

/* For the drivers, after a kernel returned err != 0 on this rank. The kernels
 * agree on a failed allocation (MPI_ERR_NO_MEM on every rank): then rank 0
 * prints why, once, and this returns, so that every rank can free, call
 * MPI_Finalize and exit 1. Any other error may be this rank's alone: it prints
 * why with its rank and calls MPI_Abort. (Not MPI_Abort for the agreed case:
 * mpiexec may kill the ranks before it has forwarded what they printed.) */
void jaxpar_kernel_failed(MPI_Comm comm, const char *program, int err);

#endif
