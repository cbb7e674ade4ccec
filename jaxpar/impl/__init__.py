"""The paired implementations, one package per workload and one file per programming model."""
