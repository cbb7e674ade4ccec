"""Issue 10: which form of the JAX SUMMA an expert would keep, measured.

    python experiments/jax_summa_variants.py [--n 4096 1024] [--devices 2] [--repeats 5]

One process with P CPU devices (one core each, by affinity: run it with nothing else
on the machine). Every variant is SUMMA on the same (row, col) mesh, panels along K
broadcast along the mesh rows and columns; they differ in:
  broadcast  psum:     lax.psum of the panel masked to its owner (an all-reduce);
             ppermute: lax.ppermute from the owner, forwarded round the ring
                       (PRK's RING_Bcast: pc - 1 hops along `col`, pr - 1 along `row`);
  loop       fori:     lax.fori_loop over panels (owners traced);
             unrolled: a Python loop (owners, slices and ring hops static);
  accumulate add:      c = c + a_panel @ b_panel;
             sum:      the panel products summed at the end, one add tree (unrolled only);
  panel      columns of A per broadcast.
Each line is the median of the repeats (after one warm-up) and the ratio to P times
the one-device XLA dot of the whole product on one pinned core (jax_auto at P = 1, the
issue's target).
"""
import argparse
import math
import os
import statistics
import sys
import time
from functools import partial


def build(mesh, panel, broadcast, loop, accumulate):
    import jax
    import jax.numpy as jnp
    from jax import lax
    from jax.sharding import PartitionSpec as P

    pr, pc = mesh.shape["row"], mesh.shape["col"]

    def ring_bcast(x, owner, axis, size, me):
        # owner static: hops owner -> owner+1 -> ... each a one-pair ppermute
        out = x
        for hop in range(size - 1):
            src, dst = (owner + hop) % size, (owner + hop + 1) % size
            got = lax.ppermute(out, axis, perm=[(src, dst)])
            out = jnp.where(me == dst, got, out)
        return out

    def bcast(x, owner, axis, size, me):
        if size == 1:
            return x
        if broadcast == "psum":
            return lax.psum(jnp.where(me == owner, x, 0), axis)
        if isinstance(owner, int):
            return ring_bcast(x, owner, axis, size, me)
        # traced owner: full ring shifts, each device keeps the copy that reached it
        out = jnp.where(me == owner, x, 0)
        for hop in range(1, size):
            shifted = lax.ppermute(out, axis, perm=[(i, (i + 1) % size) for i in range(size)])
            out = jnp.where(me == (owner + hop) % size, shifted, out)
        return out

    @jax.jit
    @partial(jax.shard_map, mesh=mesh, in_specs=(P("row", "col"), P("row", "col")),
             out_specs=P("row", "col"))
    def kernel(a_block, b_block):
        a_width, b_height = a_block.shape[1], b_block.shape[0]
        my_row, my_col = lax.axis_index("row"), lax.axis_index("col")
        panels = a_width * pc // panel

        def products(t, static):
            k0 = t * panel
            if static:
                a_panel = a_block[:, k0 % a_width:k0 % a_width + panel]
                b_panel = b_block[k0 % b_height:k0 % b_height + panel]
            else:
                a_panel = lax.dynamic_slice_in_dim(a_block, k0 % a_width, panel, axis=1)
                b_panel = lax.dynamic_slice_in_dim(b_block, k0 % b_height, panel, axis=0)
            a_panel = bcast(a_panel, k0 // a_width, "col", pc, my_col)
            b_panel = bcast(b_panel, k0 // b_height, "row", pr, my_row)
            return a_panel @ b_panel

        c_block = lax.pcast(jnp.zeros((a_block.shape[0], b_block.shape[1]), a_block.dtype),
                            ("row", "col"), to="varying")
        if loop == "fori":
            return lax.fori_loop(0, panels, lambda t, c: c + products(t, False), c_block)
        parts = [products(t, True) for t in range(panels)]
        if accumulate == "sum":
            return sum(parts[1:], parts[0])
        for part in parts:
            c_block = c_block + part
        return c_block

    return kernel


def timed(fn, args, repeats):
    import jax
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def one_core_dot_seconds(n, core, repeats):
    """The one-device reference: XLA's dot of the same seeded N x N matrices in a child
    process pinned to one core before JAX starts. XLA's dot uses every core in its
    affinity (its thread flags do not apply), so measured in this 2-core process it would
    be a 2-core rate."""
    import subprocess
    code = (f"import os; os.sched_setaffinity(0, {{{core}}})\n"
            "import statistics, time, jax, numpy as np\n"
            "jax.config.update('jax_enable_x64', True)\n"
            f"rng = np.random.default_rng(0); a, b = rng.standard_normal(({n}, {n})), "
            f"rng.standard_normal(({n}, {n}))\n"
            "f = jax.jit(lambda x, y: x @ y); a, b = jax.device_put(a), jax.device_put(b)\n"
            "f(a, b).block_until_ready(); times = []\n"
            f"for _ in range({repeats}):\n"
            "    t = time.perf_counter(); f(a, b).block_until_ready(); "
            "times.append(time.perf_counter() - t)\n"
            "print(statistics.median(times))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[4096, 1024])
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--panels", type=int, nargs="+", default=[256, 512, 1024, 2048])
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))[:args.devices]
    os.sched_setaffinity(0, cores)

    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_num_cpu_devices", args.devices)
    import numpy as np
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P
    from jaxpar.core.layout import process_grid

    pr, pc = process_grid(args.devices)
    mesh = Mesh(np.array(jax.devices()).reshape(pr, pc), ("row", "col"))
    print(f"# {args.devices} CPU devices on cores {cores}, grid {pr}x{pc}, float64, "
          f"median of {args.repeats}", flush=True)
    for n in args.n:
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        single = one_core_dot_seconds(n, cores[0], args.repeats)
        ideal = single / args.devices
        print(f"N = {n}: one device on one core {single * 1e3:.1f} ms ({2 * n**3 / single / 1e9:.1f} GFLOP/s); "
              f"P x that: {ideal * 1e3:.1f} ms", flush=True)
        sharding = NamedSharding(mesh, P("row", "col"))
        ad, bd = jax.device_put(a, sharding), jax.device_put(b, sharding)
        reference = a @ b
        for panel in args.panels:
            if (n // pc) % panel or (n // pr) % panel or panel > n // math.lcm(pr, pc):
                continue
            for broadcast in ("psum", "ppermute"):
                for loop, accumulate in (("fori", "add"), ("unrolled", "add"), ("unrolled", "sum")):
                    kernel = build(mesh, panel, broadcast, loop, accumulate)
                    seconds = timed(kernel, (ad, bd), args.repeats)
                    error = float(np.abs(np.asarray(kernel(ad, bd)) - reference).max())
                    print(f"  panel {panel:5d} {broadcast:8s} {loop:8s} {accumulate:3s}: "
                          f"{seconds * 1e3:8.1f} ms  {ideal / seconds:5.3f} of P x one device"
                          f"  (max error {error:.1e})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
