"""Data-parallel SGD of a one-hidden-layer MLP, one file per programming model (C/MPI is mpi_c/sgd.c)."""
