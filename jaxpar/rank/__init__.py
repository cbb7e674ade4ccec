"""What runs inside each rank of `python -m jaxpar.run`: pinning before numpy, OpenBLAS or
XLA load (pinning), the timed repeats (timing), peak memory around them (memory), the probe
of the local work with the implementation's own library (localkernel), the hardware probes
(probes: single-core GEMM rate, memory bandwidth, MPI ping-pong) and the record's
environment (records). It imports jaxpar.core and the registry, never jaxpar.harness: the
compare process (jaxpar.harness) launches ranks and reads what they write."""
