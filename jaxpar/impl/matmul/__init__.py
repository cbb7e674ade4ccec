"""Distributed dense matmul, one file per programming model (C/MPI is mpi_c/matmul.c)."""
