"""Data-parallel SGD of the MLP yhat = tanh(x W1 + b1) W2 + b2 in numpy with
mpi4py: the same algorithm as c_mpi.c.

Parameters are replicated. Each rank runs the forward and backward pass on its
contiguous slice of step t's global batch (rows (t B + i) mod n), scaled by the
global 1/B so that one sum-Allreduce of a single packed buffer
[dW1 | db1 | dW2 | db2 | loss] per step yields the full-batch gradient and loss.
Every rank holds the full x and y, and reads only its rows of each batch.
"""
import numpy as np
# region: distribution (what the one-process version would not have)
from mpi4py import MPI

from jaxpar.core.layout import block_sizes, block_slice
# endregion
from jaxpar.core.prepared import PreparedRun

NAMES = ("W1", "b1", "W2", "b2")


def sgd(comm, x, y, params, *, steps, batch, lr):
    p = {name: params[name].copy() for name in NAMES}
    # region: distribution
    mine = block_slice(batch, comm.size, comm.rank)  # may be empty when batch < ranks
    # The gradients are views into the buffer that is all-reduced.
    sizes = [p[name].size for name in NAMES]
    packed = np.empty(sum(sizes) + 1, dtype=x.dtype)
    views = np.split(packed, np.cumsum(sizes))
    grad = {name: view.reshape(p[name].shape) for name, view in zip(NAMES, views)}
    loss = views[-1]
    # endregion
    losses = np.empty(steps, dtype=x.dtype)

    for t in range(steps):
        # region: distribution
        rows = (t * batch + np.arange(mine.start, mine.stop)) % x.shape[0]
        # endregion
        xb, yb = x[rows], y[rows]
        a = np.tanh(xb @ p["W1"] + p["b1"])
        r = a @ p["W2"] + p["b2"] - yb
        loss[0] = 0.5 / batch * np.sum(r * r)
        # region: gradient (derived by hand, as in c_mpi.c)
        g = r / batch  # d loss / d yhat
        np.matmul(a.T, g, out=grad["W2"])
        np.sum(g, axis=0, out=grad["b2"])
        da = (g @ p["W2"].T) * (1 - a * a)
        np.matmul(xb.T, da, out=grad["W1"])
        np.sum(da, axis=0, out=grad["b1"])
        # endregion

        # region: distribution
        comm.Allreduce(MPI.IN_PLACE, packed, op=MPI.SUM)
        # endregion
        for name in NAMES:
            p[name] -= lr * grad[name]
        # region: distribution
        losses[t] = loss[0]
        # endregion
    return p, losses


def prepare(x, y, params, *, steps, batch, lr, comm, devices=None):
    # The result is the replicated parameters and the summed losses on every rank.
    return PreparedRun(run=lambda: sgd(comm, x, y, params, steps=steps, batch=batch, lr=lr),
                       gather=lambda output: output, ranks=comm.size, grid=None, launch="mpirun",
                       details={"batch_rows": block_sizes(batch, comm.size)})
