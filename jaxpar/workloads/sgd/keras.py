"""Data-parallel SGD of the MLP yhat = tanh(x W1 + b1) W2 + b2 in Keras 3 on JAX, as a
Keras user writes it: a keras.Sequential model, a custom loss, keras.optimizers.SGD and
model.fit, distributed by keras.distribution.DataParallel (each batch split evenly over
the devices, the weights replicated; XLA inserts the gradient all-reduce, as in jax_auto).

Step t must train on rows (t B + i) mod n, so a keras.utils.PyDataset yields the batches
in that order (fit's shuffle is off). Under mpirun every process yields its own block of
each batch and Keras assembles the global one: DataParallel(auto_shard_dataset=False),
because Keras 3.15 shards multi-process input itself only for a tf.data.Dataset.

What Keras 3.15.1 cannot express, refused with a ValueError here (docs/findings.md, "What Keras 3.15.1 cannot express"):
- a batch that P does not divide: DataParallel needs every device's share to be equal.

Keras logs the running mean of an epoch's losses, so the metric LossCurve keeps each
step's own loss in a vector. It needs no callback, so fit runs with steps_per_execution = T:
one pass of fit's loop, its callbacks and logs once, for all T steps. That is not one
compiled program of T steps, as the JAX forms' lax.scan is: Keras 3.15's JAX trainer jits a
single training step (make_train_function: jit(self.train_step, donate_argnums=0)), and the
train function that fit calls once per execution is a Python loop over it
(Trainer._make_function: `for _ in range(self.steps_per_execution - 1): data =
next(iterator); outputs, state = step_function(state, data)`). So T times, from Python, a
step's batch is taken from the PyDataset and placed on the devices and the one-step program
is called (asynchronously: nothing in that loop reads a step's result back). A callback that
read each step's loss made Keras copy it to the host after every step: 8.6 against 5.4 ms a
step at the default size in float32, one device (experiments/keras_fit_overheads.py).

The activation is jax.nn.tanh, not Keras's "tanh": on the JAX backend Keras 3.15.1 computes
its own tanh of a float64 tensor in float32 (keras.backend.result_type maps 64-bit types to
32-bit ones there; keras-team/keras#23225 fixes it after 3.15.1), which misses the float64
tolerance by two orders of magnitude. In float32 the two are the same function.
"""
import contextlib
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from jaxpar.core import jaxenv  # noqa: E402
# region: distribution (what the one-device version would not have)
from jaxpar.core.layout import block_sizes, block_slice  # noqa: E402
# endregion
from jaxpar.core.prepared import PreparedRun  # noqa: E402


def half_squared_error(y_true, y_pred):
    """0.5 ||yhat - y||^2 of each sample; Keras averages it over the batch."""
    return 0.5 * keras.ops.sum(keras.ops.square(y_pred - y_true), axis=-1)


class LossCurve(keras.metrics.Metric):
    """The loss of every step of the epoch, in order (Keras's own "loss" is their running mean)."""

    def __init__(self, steps):
        super().__init__(name="loss_curve")
        self.curve = self.add_variable(shape=(steps,), initializer="zeros", name="curve")
        self.step = self.add_variable(shape=(), initializer="zeros", dtype="int32", name="step")

    def update_state(self, y_true, y_pred, sample_weight=None):
        losses = half_squared_error(y_true, y_pred)
        # Not keras.ops.mean: it computes float64 in float32 on JAX too, as tanh does.
        loss = keras.ops.sum(losses) / losses.shape[0]
        self.curve.assign(keras.ops.slice_update(self.curve.value, [self.step.value], loss[None]))
        self.step.assign(self.step + 1)

    def result(self):
        return self.curve.value


class Batches(keras.utils.PyDataset):
    """Step t's rows (t B + i) mod n, for the i in `mine` (this process's block of them)."""

    def __init__(self, x, y, *, steps, batch, mine):
        super().__init__()
        self.x, self.y, self.steps, self.batch, self.mine = x, y, steps, batch, mine

    def __len__(self):
        return self.steps

    def __getitem__(self, t):
        rows = (t * self.batch + self.mine) % len(self.x)
        return self.x[rows], self.y[rows]


@contextlib.contextmanager
def keras_settings(dtype, distribution):
    """Keras's global floatx and distribution for the block only, so that other code in
    this process keeps its own (jaxpar's caller, the other implementations)."""
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)  # the optimizer's learning rate and the metrics
    keras.config.set_dtype_policy(dtype)  # the layers' weights and computation
    try:
        # region: distribution
        with distribution.scope():
            # endregion
            yield
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)


def prepare(x, y, params, *, steps, batch, lr, comm, devices=None):
    if keras.backend.backend() != "jax":
        raise ValueError(f"the keras implementation runs Keras on JAX, but KERAS_BACKEND is "
                         f"{keras.backend.backend()!r}: unset it or set it to 'jax'")
    # region: distribution
    devices = jaxenv.select_devices(devices, comm)
    # endregion
    if batch % len(devices):
        raise ValueError(f"keras.distribution.DataParallel splits every batch evenly over the "
                         f"devices, so batch={batch} must be a multiple of P={len(devices)} "
                         "(the other implementations take any batch)")
    # region: distribution
    distribution = keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
    mine = np.arange(batch)[block_slice(batch, jax.process_count(), jax.process_index())]
    # endregion
    data = Batches(x, y, steps=steps, batch=batch, mine=mine)
    with keras_settings(x.dtype.name, distribution):
        # Zeros, not Keras's random initializers: set_weights() replaces them with the given
        # params, and under mpirun they must be the same in every process, which Keras's
        # unseeded generators are not (keras.distribution.initialize would seed them, but it
        # cannot use the mpi4py cluster detection that joined these processes).
        dense = dict(kernel_initializer="zeros", bias_initializer="zeros")
        model = keras.Sequential([keras.Input((x.shape[1],)),
                                  keras.layers.Dense(params["W1"].shape[1], activation=jax.nn.tanh,
                                                     **dense),
                                  keras.layers.Dense(y.shape[1], **dense)])
        curve = LossCurve(steps)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss=half_squared_error,
                      metrics=[curve], steps_per_execution=steps)
        model.set_weights([params["W1"], params["b1"], params["W2"], params["b2"]])
        # Every run trains from these, placed on the devices once, as the other
        # implementations' inputs are (set_weights would copy them from the host each time).
        initial = [w.value.copy() for w in model.weights]

    def train():
        with keras_settings(x.dtype.name, distribution):
            for w, value in zip(model.weights, initial):
                w.assign(value.copy())  # a copy: fit donates the weights it trains
            model.fit(data, epochs=1, shuffle=False, verbose=0)
        return [w.value for w in model.weights], curve.result()

    # fit() traces and compiles as it goes: its first call compiles the step, and its second
    # compiles it again for the weights that the first left on the devices. Both run here.
    compile_seconds = jaxenv.compile_seconds_during(lambda: (train(), train()), comm)

    def gather(output):
        weights, losses = output
        values = [jaxenv.replica(w) for w in weights]
        return dict(zip(("W1", "b1", "W2", "b2"), values)), jaxenv.replica(losses)

    return PreparedRun(run=lambda: jax.block_until_ready(train()), gather=gather,
                       ranks=len(devices), grid=None, launch=jaxenv.launch_mode(),
                       compile_seconds=compile_seconds,
                       details={"devices": len(devices), "platform": devices[0].platform,
                                "keras": keras.__version__,
                                "steps_per_execution": steps,
                                "batch_rows": block_sizes(batch, len(devices))})
