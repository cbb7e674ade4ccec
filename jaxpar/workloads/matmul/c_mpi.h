/* C API of the matmul kernels (c_mpi.c), in double (_f64) and float (_f32). */
#ifndef JAXPAR_MATMUL_C_MPI_H
#define JAXPAR_MATMUL_C_MPI_H

#include <mpi.h>
#include <stdint.h>

#include "jaxpar_mpi.h"

/* SUMMA on a pr x pc grid (rank = row * pc + col). Rank (i, j) holds
 * A[Mi, Kj], B[Ki, Nj] and receives C[Mi, Nj], where Mi is M split over pr,
 * Kj is K split over pc, Ki is K split over pr and Nj is N split over pc.
 * Panels are at most `panel` wide; the broadcasts of the next `lookahead`
 * panels (0 to JAXPAR_SUMMA_MAX_LOOKAHEAD) are in flight during a multiply. */
enum { JAXPAR_SUMMA_MAX_LOOKAHEAD = 8 };
int jaxpar_matmul_summa_f64(MPI_Comm comm, int64_t m, int64_t k, int64_t n,
                            int pr, int pc, int64_t panel, int lookahead,
                            const double *a, const double *b, double *c);
int jaxpar_matmul_summa_f32(MPI_Comm comm, int64_t m, int64_t k, int64_t n,
                            int pr, int pc, int64_t panel, int lookahead,
                            const float *a, const float *b, float *c);

/* 1-D algorithm: rank r holds rows Mr of A and rows Kr of B, all-gathers B and
 * computes rows Mr of C. */
int jaxpar_matmul_allgather_f64(MPI_Comm comm, int64_t m, int64_t k, int64_t n,
                                const double *a, const double *b, double *c);
int jaxpar_matmul_allgather_f32(MPI_Comm comm, int64_t m, int64_t k, int64_t n,
                                const float *a, const float *b, float *c);

#endif
