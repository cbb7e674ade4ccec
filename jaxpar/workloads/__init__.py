"""One folder per workload: its problem definition (problem.py), one file per
implementation named after it (IMPL.py, and IMPL.c for C), the public function
in __init__.py, and the standalone C driver (main.c). See jaxpar/registry.py
and docs/architecture.md."""
