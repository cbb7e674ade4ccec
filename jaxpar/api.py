"""Public Python API: jaxpar.matmul (and the prepared form the runner times).

Every implementation gets the global inputs on every rank. `prepare_matmul`
distributes them (not timed) and returns a PreparedRun whose `run()` is the
timed kernel on already distributed blocks and whose `gather()` returns the
global result (not timed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from mpi4py import MPI

from jaxpar.harness.blocks import block_slice, process_grid, round_up

IMPLEMENTATIONS = ("c_mpi", "mpi4py", "jax", "jax_pmap", "jax_auto")
JAX_IMPLEMENTATIONS = ("jax", "jax_pmap", "jax_auto")
MATMUL_ALGORITHMS = ("summa", "allgather")
DEFAULT_PANEL = 256


@dataclass
class PreparedRun:
    run: Callable[[], Any]
    gather: Callable[[Any], np.ndarray]
    ranks: int
    grid: tuple[int, int] | None
    launch: str
    compile_seconds: float | None = None
    details: dict = field(default_factory=dict)


def check_same_on_all_ranks(comm, what: str, value):
    """Raise the same ValueError on every rank if ranks disagree on value.

    Runs before any other validation, so that a rank that would fail alone
    cannot leave the others waiting in a collective.
    """
    values = comm.allgather(value)
    if any(v != values[0] for v in values):
        raise ValueError(f"ranks disagree on {what}: " + "; ".join(
            f"rank {r}: {v}" for r, v in enumerate(values)))


def _describe(x):
    return (type(x).__name__, getattr(x, "shape", None), str(getattr(x, "dtype", None)))


def check_choice(kind: str, value, choices):
    if value not in choices:
        raise ValueError(f"unknown {kind} {value!r}; choose one of: {', '.join(choices)}")


def check_float_matrix(name, x, layout=""):
    """x must be a non-empty 2-D float64 or float32 numpy array."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D{layout}, got shape {x.shape}")
    if x.dtype not in (np.float64, np.float32):
        raise ValueError(f"{name} has dtype {x.dtype}; use float64 or float32")
    if 0 in x.shape:
        raise ValueError(f"{name} has an empty dimension: shape {x.shape}")


def validate_matmul(a, b, impl, algorithm, panel):
    check_choice("implementation", impl, IMPLEMENTATIONS)
    if impl == "jax_auto":
        if algorithm not in (None, "auto"):
            raise ValueError("jax_auto takes no algorithm: XLA chooses the partitioning "
                             f"(got algorithm={algorithm!r})")
    else:
        check_choice("algorithm", algorithm, MATMUL_ALGORITHMS)
    check_float_matrix("A", a)
    check_float_matrix("B", b)
    if a.dtype != b.dtype:
        raise ValueError(f"A and B have different dtypes ({a.dtype} and {b.dtype}); "
                         "convert one so both sides compute in the same precision")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"inner dimensions do not match: A is {a.shape[0]}x{a.shape[1]}, "
                         f"B is {b.shape[0]}x{b.shape[1]}")
    if not isinstance(panel, (int, np.integer)) or isinstance(panel, bool) or panel < 1:
        raise ValueError(f"panel must be a positive integer, got {panel!r}")


def prepare_matmul(a, b, impl="c_mpi", algorithm=None, comm=None, devices=None,
                   panel=DEFAULT_PANEL) -> PreparedRun:
    comm = MPI.COMM_WORLD if comm is None else comm
    if algorithm is None and impl != "jax_auto":
        algorithm = "summa"
    check_same_on_all_ranks(comm, "the matmul arguments",
                            (_describe(a), _describe(b), impl, algorithm, panel, devices))
    validate_matmul(a, b, impl, algorithm, panel)
    if impl in JAX_IMPLEMENTATIONS:
        return _prepare_jax(a, b, impl, algorithm, comm, devices, panel)
    if devices is not None:
        raise ValueError("devices= applies to the JAX implementations; MPI ones use every rank of comm")
    return _prepare_mpi(a, b, impl, algorithm, comm, panel)


def matmul(a, b, impl="c_mpi", algorithm=None, comm=None, devices=None, panel=DEFAULT_PANEL):
    """C = A @ B with the given implementation and algorithm; every rank gets C."""
    prepared = prepare_matmul(a, b, impl, algorithm, comm, devices, panel)
    return prepared.gather(prepared.run())


def _prepare_mpi(a, b, impl, algorithm, comm, panel):
    from jaxpar import c_mpi
    from jaxpar.impl.matmul import numpy_mpi4py

    (m, k), n, size, rank = a.shape, b.shape[1], comm.size, comm.rank
    if impl == "c_mpi":
        c_mpi.load()
    if algorithm == "summa":
        grid = process_grid(size)
        row, col = divmod(rank, grid[1])
        rows, cols = block_slice(m, grid[0], row), block_slice(n, grid[1], col)
        a_local = np.ascontiguousarray(a[rows, block_slice(k, grid[1], col)])
        b_local = np.ascontiguousarray(b[block_slice(k, grid[0], row), cols])
        c_local = np.empty((a_local.shape[0], b_local.shape[1]), a.dtype)
        if impl == "c_mpi":
            run = lambda: c_mpi.summa(comm, a_local, b_local, c_local, (m, k, n), grid, panel)
        else:
            run = lambda: numpy_mpi4py.summa(comm, a_local, b_local, (m, k, n), grid, panel)
        c_slices = [(block_slice(m, grid[0], r // grid[1]), block_slice(n, grid[1], r % grid[1]))
                    for r in range(size)]
    else:
        grid = (size, 1)
        a_local = np.ascontiguousarray(a[block_slice(m, size, rank)])
        b_local = np.ascontiguousarray(b[block_slice(k, size, rank)])
        c_local = np.empty((a_local.shape[0], n), a.dtype)
        if impl == "c_mpi":
            run = lambda: c_mpi.allgather(comm, a_local, b_local, c_local, (m, k, n))
        else:
            run = lambda: numpy_mpi4py.allgather(comm, a_local, b_local, (m, k, n))
        c_slices = [(block_slice(m, size, r), slice(0, n)) for r in range(size)]

    def gather(c_block):
        c = np.empty((m, n), a.dtype)
        for where, block in zip(c_slices, comm.allgather(c_block)):
            c[where] = block
        return c

    return PreparedRun(run=run, gather=gather, ranks=size, grid=grid, launch="mpirun")


def _prepare_jax(a, b, impl, algorithm, comm, devices, panel):
    from jaxpar.harness import jaxenv

    jax = jaxenv.ensure_runtime(comm)
    from jax.sharding import Mesh
    from jax.sharding import PartitionSpec as P

    devices = jaxenv.select_devices(devices)
    (m, k), n, ndev = a.shape, b.shape[1], len(devices)
    grid = process_grid(ndev) if algorithm != "allgather" else (ndev, 1)
    pr, pc = grid
    details = {"devices": ndev, "platform": devices[0].platform}

    if algorithm == "allgather":
        padded = (round_up(m, ndev), round_up(k, ndev), n)
    elif algorithm == "summa":
        lcm = math.lcm(pr, pc)
        panel = min(panel, -(-k // lcm))  # a panel wider than K / lcm would only add zeros
        padded = (round_up(m, pr), round_up(k, panel * lcm), round_up(n, pc))
        details["panel"] = panel
    else:  # jax_auto
        padded = (round_up(m, pr), round_up(k, math.lcm(pr, pc)), round_up(n, pc))
    mp, kp, np_ = padded
    details["padded_shape"] = list(padded)

    if impl == "jax_pmap":
        from jaxpar.impl.matmul import jax_pmap
        a_stack = _stack_blocks(a, (mp, kp), (pr, pc) if algorithm == "summa" else (ndev, 1))
        b_stack = _stack_blocks(b, (kp, np_), (pr, pc) if algorithm == "summa" else (ndev, 1))
        mesh = Mesh(np.array(devices), ("p",))
        a_dev, b_dev = jaxenv.put(a_stack, mesh, P("p"), a_stack.shape), jaxenv.put(b_stack, mesh, P("p"), b_stack.shape)
        kernel = (jax_pmap.summa(devices, grid, panel) if algorithm == "summa"
                  else jax_pmap.allgather(devices))
        c_grid = (pr, pc) if algorithm == "summa" else (ndev, 1)
        unstack = lambda c: _unstack_blocks(jaxenv.fetch(c, c.shape), c_grid)[:m, :n]
    else:
        from jaxpar.impl.matmul import jax_auto, jax_shard_map
        if algorithm == "allgather":
            mesh = Mesh(np.array(devices), ("x",))
            spec = P("x", None)
            kernel = jax_shard_map.allgather(mesh)
        else:
            mesh = Mesh(np.array(devices).reshape(pr, pc), ("row", "col"))
            spec = P("row", "col")
            kernel = jax_shard_map.summa(mesh, panel) if impl == "jax" else jax_auto.matmul(mesh)
        a_dev, b_dev = jaxenv.put(a, mesh, spec, (mp, kp)), jaxenv.put(b, mesh, spec, (kp, np_))
        unstack = lambda c: jaxenv.fetch(c, (m, n))

    compiled, compile_seconds = jaxenv.compile_timed(kernel, (a_dev, b_dev), comm)
    return PreparedRun(
        run=lambda: jax.block_until_ready(compiled(a_dev, b_dev)),
        gather=unstack, ranks=ndev, grid=grid, launch=jaxenv.launch_mode(),
        compile_seconds=compile_seconds, details=details)


def _stack_blocks(x, padded_shape, grid):
    """Zero-pad x and stack its grid blocks in device order d = row * pc + col."""
    pr, pc = grid
    x = np.pad(x, [(0, p - s) for s, p in zip(x.shape, padded_shape)])
    rows, cols = x.shape[0] // pr, x.shape[1] // pc
    return np.ascontiguousarray(x.reshape(pr, rows, pc, cols).transpose(0, 2, 1, 3).reshape(pr * pc, rows, cols))


def _unstack_blocks(stack, grid):
    pr, pc = grid
    _, rows, cols = stack.shape
    return stack.reshape(pr, pc, rows, cols).transpose(0, 2, 1, 3).reshape(pr * rows, pc * cols)
