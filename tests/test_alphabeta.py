"""The alpha-beta fit of collective latencies, on synthetic data with a known alpha and beta."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxpar.harness import alphabeta

SIZES = [8 * 4 ** i for i in range(13)]  # 8 B .. 128 MiB


@settings(max_examples=60, deadline=None)
@given(alpha=st.floats(1e-7, 1e-2), beta=st.floats(1e-12, 1e-8))
def test_exact_lines_are_recovered(alpha, beta):
    f = alphabeta.fit(SIZES, [alpha + beta * m for m in SIZES])
    assert f["alpha_s"] == pytest.approx(alpha, rel=1e-6)
    assert f["beta_s_per_byte"] == pytest.approx(beta, rel=1e-6)
    assert f["rms_rel_residual"] < 1e-9 and f["points"] == len(SIZES)


@settings(max_examples=30, deadline=None)
@given(alpha=st.floats(1e-6, 1e-3), beta=st.floats(1e-11, 1e-9), seed=st.integers(0, 2 ** 16))
def test_noisy_lines_are_recovered_within_the_noise(alpha, beta, seed):
    rng = np.random.default_rng(seed)
    times = [(alpha + beta * m) * (1 + 0.02 * rng.uniform(-1, 1)) for m in SIZES]
    f = alphabeta.fit(SIZES, times)
    assert f["alpha_s"] == pytest.approx(alpha, rel=0.1)
    assert f["beta_s_per_byte"] == pytest.approx(beta, rel=0.1)
    assert 0 < f["rms_rel_residual"] <= 0.02 and f["max_rel_residual"] <= 0.05


def test_the_small_messages_are_not_drowned_by_the_large():
    """An unweighted fit's alpha would be set by the 64 MiB point's noise; this one's is not."""
    alpha, beta = 5e-6, 3e-10
    times = [alpha + beta * m for m in SIZES]
    times[-1] *= 1.05  # 5% noise on the largest message: ~2 ms, 400 alphas
    f = alphabeta.fit(SIZES, times)
    assert f["alpha_s"] == pytest.approx(alpha, rel=0.05)
    assert alphabeta.ratio_at(f, 8, times[0]) == pytest.approx(1, abs=0.05)


def test_no_negative_alpha_or_beta():
    flat = alphabeta.fit([8, 1024, 65536], [1e-3, 1e-3, 1e-3])
    assert flat["beta_s_per_byte"] == 0 and flat["alpha_s"] == pytest.approx(1e-3)
    through_origin = alphabeta.fit([1024, 4096], [1e-6, 5e-6])  # a line with alpha < 0
    assert through_origin["alpha_s"] == 0 and through_origin["beta_s_per_byte"] > 0


@pytest.mark.parametrize("sizes, times", [([8], [1e-6]), ([8, 16], [1e-6, 0.0]), ([8, 16], [1e-6])])
def test_bad_points_are_refused(sizes, times):
    with pytest.raises(ValueError, match="at least two"):
        alphabeta.fit(sizes, times)


def test_fits_group_series_and_skip_failed_checks():
    def rec(m, t, status="ok", impl="c_mpi"):
        return {"workload": "collectives", "impl": impl, "launch": "mpirun", "algorithm": "allreduce",
                "ranks": 2, "dtype": "float64", "status": status, "sizes": {"bytes": m},
                "time_s": {"median": t}}
    records = [rec(8, 1e-5), rec(1024, 2e-5), rec(65536, 1.0, status="failed_check"),
               rec(8, 1e-3, impl="jax"), {"workload": "sgd", "status": "ok"}]
    out = alphabeta.fits(records)
    assert list(out) == [("c_mpi", "mpirun", True, "allreduce", 2, "float64")]  # jax: one point
    assert out[list(out)[0]]["points"] == 2


def test_a_fit_prices_only_the_sizes_it_measured():
    """Beyond the largest measured message the line is not extrapolated: the ping-pong model
    prices it, or nothing does; within it, the measured latencies interpolate."""
    from jaxpar.core.costmodel import CommModel

    f = alphabeta.fit([8, 1024, 65536], [1e-5, 4e-3, 4e-3])  # gloo-like: a plateau, no line
    line = alphabeta.Line(f["alpha_s"], f["beta_s_per_byte"], f["max_bytes"])
    measured = alphabeta.Measured(tuple(f["bytes"]), tuple(f["seconds"]))
    assert measured.seconds_at(1024) == pytest.approx(4e-3)
    assert measured.seconds_at(8 + (1024 - 8) / 2) == pytest.approx((1e-5 + 4e-3) / 2)
    fitted = CommModel({("allreduce", 2): line})
    assert fitted.seconds("allreduce", 65536, 2) == pytest.approx(line.seconds_at(65536))
    assert fitted.seconds("allreduce", 65537, 2) is None and fitted.used == {"fit"}
    with_ping = CommModel({("allreduce", 2): line}, pingpong=(1e-6, 1e-10))
    assert with_ping.seconds("allreduce", 1 << 20, 2) == pytest.approx(2 * 1e-6 + (1 << 20) * 1e-10)
    assert with_ping.used == {"ping-pong"}
