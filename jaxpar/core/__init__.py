"""Plumbing shared by the implementations, below the workloads: the block
layout, the PreparedRun they return, the JAX runtime, the C library loader,
the error measure and the collective cost models. None of it is counted as
part of any implementation's code size, and none of it imports the harness.
"""
