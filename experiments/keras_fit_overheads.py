"""Where a Keras SGD step's time goes, beside raw JAX: one process with P devices,
pinned to P cores, at one SGD size and dtype.

    python experiments/keras_fit_overheads.py                       # default size, P = 1 2
    python experiments/keras_fit_overheads.py --bench --dtype float32

Per step (median of the repeats; each repeat trains `steps` steps from the same weights):
  keras (jaxpar)       the keras implementation as the harness times it: model.fit with the
                       LossCurve metric, steps_per_execution = steps
  keras, 10x steps     the same at 10 x steps: with the row above, fit's fixed cost per call
                       and its cost per step (printed below the table)
  callback, spe=1      the alternative it replaced: a metric holding the last batch's loss and
                       a callback that reads it after every step (steps_per_execution = 1)
  no loss metric       model.fit with no metric at all, steps_per_execution = steps: fit's floor
  train_step loop      Keras's own jitted train_step called `steps` times on batches already on
                       the devices: the step without fit's loop and data path
  data path            the PyDataset's batch (host gather) and its transfer to the devices,
                       as fit's iterator does it, without training
  jax_auto, jax        the raw JAX implementations (one jitted lax.scan of all steps); jax_auto
                       also at 10 x steps
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

    def per_step(run, factor=1):
        run()
        run()  # Keras compiles again on its second call (keras.py)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return float(np.median(times)) / (factor * steps)

    out = {}
    for name, impl, factor in (("keras (jaxpar)", "keras", 1), ("keras, 10x steps", "keras", 10),
                               ("jax_auto", "jax_auto", 1), ("jax_auto, 10x steps", "jax_auto", 10),
                               ("jax", "jax", 1)):
        prepared = api.prepare("sgd", impl, x, y, params, **{**kw, "steps": factor * steps})
        out[name] = per_step(prepared.run, factor)

    distribution = keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False)
    data = keras_sgd.Batches(x, y, steps=steps, batch=batch, mine=np.arange(batch))
    initial = [params["W1"], params["b1"], params["W2"], params["b2"]]

    class LastLoss(keras.metrics.Metric):
        def __init__(self):
            super().__init__(name="last_loss")
            self.last = self.add_variable(shape=(), initializer="zeros", name="last")

        def update_state(self, y_true, y_pred, sample_weight=None):
            losses = keras_sgd.half_squared_error(y_true, y_pred)
            self.last.assign(keras.ops.sum(losses) / losses.shape[0])

        def result(self):
            return self.last.value

    class EveryLoss(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            self.losses.append(logs["last_loss"])

    def model_with(metrics, steps_per_execution):
        with keras_sgd.keras_settings(dtype, distribution):
            model = keras.Sequential([keras.Input((size["d_in"],)),
                                      keras.layers.Dense(size["hidden"], activation=jax.nn.tanh),
                                      keras.layers.Dense(size["d_out"])])
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                          loss=keras_sgd.half_squared_error, metrics=[m() for m in metrics],
                          steps_per_execution=steps_per_execution)
        return model

    def fit(model, callbacks=()):
        def run():
            for c in callbacks:
                c.losses = []
            with keras_sgd.keras_settings(dtype, distribution):
                model.set_weights(initial)
                model.fit(data, epochs=1, shuffle=False, verbose=0, callbacks=list(callbacks))
                jax.block_until_ready([w.value for w in model.weights])
        return run

    out["callback, spe=1"] = per_step(fit(model_with([LastLoss], 1), [EveryLoss()]))
    model = model_with([], steps)
    out["no loss metric"] = per_step(fit(model))

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
    parser.add_argument("--repeats", type=int, default=15)
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
    steps = size["steps"]
    for p in args.ranks:
        r = results[p]
        print(f"P={p}: keras ÷ jax_auto {r['keras (jaxpar)'] / r['jax_auto']:.2f}; "
              f"keras ÷ its own train_step loop {r['keras (jaxpar)'] / r['train_step loop']:.2f}")
        for impl, name in (("keras", "keras (jaxpar)"), ("jax_auto", "jax_auto")):
            t1, t10 = steps * r[name], 10 * steps * r[f"{impl}, 10x steps"]
            per, fixed = (t10 - t1) / (9 * steps), t1 - steps * (t10 - t1) / (9 * steps)
            print(f"P={p}: {impl} costs {1e3 * fixed:.2f} ms per run + {1e3 * per:.2f} ms per step")


if __name__ == "__main__":
    main()
