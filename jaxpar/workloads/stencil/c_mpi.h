/* C API of the stencil kernel (c_mpi.c), in double (_f64) and float (_f32). */
#ifndef JAXPAR_STENCIL_C_MPI_H
#define JAXPAR_STENCIL_C_MPI_H

#include <mpi.h>
#include <stdint.h>

#include "jaxpar_mpi.h"

/* `iterations` iterations of PRK's star stencil of radius `radius` on the global
 * n x n grid, on a pr x pc process grid (rank = row * pc + col). Rank (row, col)
 * passes its block of the input, rows jaxpar_block_lo(n, pr, row) up to that of
 * row + 1 by the columns of the same split of n over pc (C-contiguous, as many
 * columns per row as the block has), and receives the same block of OUT in
 * out_block (overwritten: OUT starts at zero). in_block is not modified. Every
 * block must have at least `radius` rows and columns (halos come from the four
 * neighbours only), else JAXPAR_EINVAL on every rank. */
int jaxpar_stencil_f64(MPI_Comm comm, int64_t n, int radius, int64_t iterations,
                       int pr, int pc, const double *in_block, double *out_block);
int jaxpar_stencil_f32(MPI_Comm comm, int64_t n, int radius, int64_t iterations,
                       int pr, int pc, const float *in_block, float *out_block);

#endif
