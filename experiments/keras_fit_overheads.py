"""Where a Keras SGD step's time goes, beside raw JAX: one process with P devices,
pinned to P cores, at one SGD size and dtype.

    python experiments/keras_fit_overheads.py                       # default size, P = 1 2
    python experiments/keras_fit_overheads.py --bench --dtype float32

Per step (median of the repeats; each repeat trains `steps` steps from the same weights):
  keras (jaxpar)       the keras implementation as the harness times it: model.fit with the
                       per-step loss callback, steps_per_execution = 1
  fit, spe=T, no cb    the same model and data in model.fit without the callback and its metric,
                       steps_per_execution = steps (Keras's fastest setting)
  train_step loop      Keras's own jitted train_step called `steps` times on batches already on
                       the devices: the step without fit's loop and data path
  data path            the PyDataset's batch (host gather) and its transfer to the devices,
                       as fit's iterator does it, without training
  jax_auto, jax        the raw JAX implementations (one jitted lax.scan of all steps)
Each P runs in its own child process, pinned before JAX starts, so that XLA's threads use
only the P cores a P-rank run would get.
"""
import argparse
import json
import os
import subprocess
import sys
import time

SIZES = {"default": dict(n=16384, d_in=64, hidden=256, d_out=8, batch=2048, steps=5),
         "bench": dict(n=65536, d_in=256, hidden=512, d_out=16, batch=4096, steps=20)}


def child(ranks, dtype, size, repeats):
    import jax
    jax.config.update("jax_num_cpu_devices", ranks)
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from mpi4py import MPI

    from jaxpar import api
    from jaxpar.workloads.sgd import keras as keras_sgd
    from jaxpar.workloads.sgd.problem import sgd_problem

    keras = keras_sgd.keras
    x, y, params = sgd_problem(size["n"], size["d_in"], size["hidden"], size["d_out"], dtype)
    steps, batch = size["steps"], size["batch"]
    kw = dict(steps=steps, batch=batch, lr=0.1, devices=ranks)

    def per_step(run):
        run()
        run()  # Keras compiles again on its second call (keras.py)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return float(np.median(times)) / steps

    out = {}
    for impl in ("keras", "jax_auto", "jax"):
        prepared = api.prepare("sgd", impl, x, y, params, **kw)
        out[impl if impl != "keras" else "keras (jaxpar)"] = per_step(prepared.run)

    distribution = keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False)
    data = keras_sgd.Batches(x, y, steps=steps, batch=batch, mine=np.arange(batch))
    initial = [params["W1"], params["b1"], params["W2"], params["b2"]]
    with keras_sgd.keras_settings(dtype, distribution):
        model = keras.Sequential([keras.Input((size["d_in"],)),
                                  keras.layers.Dense(size["hidden"], activation=jax.nn.tanh),
                                  keras.layers.Dense(size["d_out"])])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                      loss=keras_sgd.half_squared_error, steps_per_execution=steps)

    def fit():
        with keras_sgd.keras_settings(dtype, distribution):
            model.set_weights(initial)
            model.fit(data, epochs=1, shuffle=False, verbose=0)
            jax.block_until_ready([w.value for w in model.weights])

    out["fit, spe=T, no cb"] = per_step(fit)

    with keras_sgd.keras_settings(dtype, distribution):
        layout = distribution.get_data_layout((batch, size["d_in"])).backend_layout
        out_layout = distribution.get_data_layout((batch, size["d_out"])).backend_layout
        on_devices = [(jax.device_put(xb, layout), jax.device_put(yb, out_layout))
                      for xb, yb in (data[t] for t in range(steps))]
        step = jax.jit(model.train_step, donate_argnums=0)
        state0 = [[v.value for v in vs] for vs in (model.trainable_variables,
                                                   model.non_trainable_variables,
                                                   model.optimizer.variables, model.metrics_variables)]

        def loop():
            state = jax.tree.map(lambda a: a.copy(), state0)
            for batch_t in on_devices:
                _, state = step(state, batch_t)
            jax.block_until_ready(state)

        out["train_step loop"] = per_step(loop)

        def data_path():
            for t in range(steps):
                xb, yb = data[t]
                jax.block_until_ready((jax.device_put(xb, layout), jax.device_put(yb, out_layout)))

        out["data path"] = per_step(data_path)
    MPI.COMM_WORLD.Barrier()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--bench", action="store_true", help="the benchmark size (bench_sgd.toml)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = SIZES["bench" if args.bench else "default"]
    if args.child:
        print(json.dumps(child(args.child, args.dtype, size, args.repeats)))
        return
    cores = sorted(os.sched_getaffinity(0))
    print(f"SGD {size}, {args.dtype}, one process, P devices pinned to P cores; ms per step")
    results = {}
    for ranks in args.ranks:
        if ranks > len(cores):
            sys.exit(f"P={ranks} needs {ranks} cores; this process may use {len(cores)}")
        env = {**os.environ, "KERAS_BACKEND": "jax"}
        command = [sys.executable, __file__, "--child", str(ranks), "--dtype", args.dtype,
                   "--repeats", str(args.repeats)] + (["--bench"] if args.bench else [])
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                              preexec_fn=lambda r=ranks: os.sched_setaffinity(0, cores[:r]))
        if done.returncode:
            sys.exit(f"P={ranks} failed:\n{done.stderr[-3000:]}")
        results[ranks] = json.loads(done.stdout.strip().splitlines()[-1])
    names = list(results[args.ranks[0]])
    print(f"{'':22}" + "".join(f"{'P=' + str(p):>10}" for p in args.ranks))
    for name in names:
        print(f"{name:22}" + "".join(f"{1e3 * results[p][name]:10.2f}" for p in args.ranks))
    for p in args.ranks:
        r = results[p]
        print(f"P={p}: keras ÷ jax_auto {r['keras (jaxpar)'] / r['jax_auto']:.2f}; "
              f"keras ÷ its own train_step loop {r['keras (jaxpar)'] / r['train_step loop']:.2f}")


if __name__ == "__main__":
    main()
