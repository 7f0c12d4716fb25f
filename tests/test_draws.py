"""Exact conditional draws of the decay model's (t0, N0): finite at every extreme, exact,
and independent of the machine's thread count."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import stats

import pymc_hier as ph
from pymc_hier.decay.draws import draw_widgets, n0_given_t0
from pymc_hier.decay.exact import decay_posterior

LOG_N0_MAX = float(np.log(10.0))
DECAYS = [0.1, 5.0, 700.0, 738.0, 745.0, 760.0, 1e4, 1e300]


@pytest.mark.parametrize("y, sigma", [(-1e-3, 0.1), (5.0, 0.1), (1e3, 1e-3), (-1e5, 1.0),
                                      (1e-300, 1e-300), (3.0, 1e-300)])
def test_n0_draws_are_finite_at_every_extreme(y, sigma):
    """alpha * dt past ~745 made A underflow and N0 = 0 * inf = NaN (issue 19, item 3)."""
    rng = np.random.default_rng(3)
    for decay in DECAYS:
        n0 = n0_given_t0(np.full(2000, y), sigma, decay, LOG_N0_MAX, rng)
        assert np.all(np.isfinite(n0)), decay
        assert np.all((n0 >= 0) & (n0 <= 10.0 * (1 + 1e-15))), decay


def test_the_naive_formula_fails_where_the_draws_do_not():
    """The check above can fail: the product of the old code is NaN at alpha * dt = 760."""
    with np.errstate(all="ignore"):
        amount = np.exp(LOG_N0_MAX - 760.0) * 0.5  # underflows to 0
        assert np.isnan(amount * np.exp(760.0))


@pytest.mark.parametrize("decay", [0.5, 3.0, 800.0, 1e6])
def test_n0_draws_follow_the_truncated_normal(decay):
    """N0 / N0_max is the amount's fraction of A, Normal(y, sigma) truncated to [0, A]:
    compared with SciPy's truncated normal (in units of A, where that is representable;
    past the underflow of A the data say nothing and the fraction is uniform)."""
    y, sigma, n = 2.0, 1.0, 20000
    rng = np.random.default_rng(11)
    fraction = n0_given_t0(np.full(n, y), sigma, decay, LOG_N0_MAX, rng) / 10.0
    upper = 10.0 * np.exp(-decay)
    if upper > 1e-300:
        ref = stats.truncnorm((0 - y) / sigma, (upper - y) / sigma, loc=y, scale=sigma)
        cdf = lambda f: ref.cdf(f * upper)  # noqa: E731
    else:
        cdf = stats.uniform().cdf
    assert stats.kstest(fraction, cdf).pvalue > 1e-3
    # and the test has power: draws with the wrong sigma fail it
    if upper > 1e-3:
        wrong = stats.truncnorm(-y / (2 * sigma), (upper - y) / (2 * sigma), loc=y,
                                scale=2 * sigma)
        sample = wrong.rvs(n, random_state=np.random.default_rng(1)) / upper
        assert stats.kstest(sample, cdf).pvalue < 1e-6


@pytest.mark.parametrize("alpha", [1e-9, 1e-3, 1.0, 1e3, 1e300])
def test_latent_t0_draws_are_finite_at_every_rate(alpha):
    y = np.array([1e-3, -1e-3, 0.5, 3.0])
    sigma = np.array([0.1, 0.1, 0.05, 0.3])
    t1 = np.full(4, 10.0)
    start, end = np.zeros(4), np.ones(4)
    t0, n0 = draw_widgets(y, sigma, t1, LOG_N0_MAX, np.full(50, alpha),
                          np.random.default_rng(2), day_start=start, day_end=end)
    assert np.all(np.isfinite(t0)) and np.all(np.isfinite(n0))
    assert np.all((t0 >= 0) & (t0 <= 1)) and np.all((n0 >= 0) & (n0 <= 10.0 * (1 + 1e-15)))


@pytest.mark.parametrize("t0", ["latent", "known"])
def test_exact_fit_of_near_zero_measurements_has_no_nan(t0):
    """The issue's case: measurements near 0, where alpha reaches alpha * dt ~ 1e4."""
    data = ph.simulate_decay(3, n_widgets=2)
    data = data._replace(n_measured=[1e-3, -1e-3], sigma=[0.1, 0.1])
    idata = ph.fit(ph.decay_model(data, t0=t0), sampler="exact", draws=2000, chains=2,
                   random_seed=1, progressbar=False)
    post = idata["posterior"]
    alpha = post["alpha"].values
    assert float(alpha.max() * np.max(data.t_measured - data.day_end)) > 1e3
    for name, var in post.data_vars.items():
        assert np.all(np.isfinite(var.values)), name
    # the data say nothing there: N0 is near its uniform prior (mean N0_max / 2)
    n0 = post["N0"].values
    assert abs(n0.mean() - 5.0) < 4 * 10 / np.sqrt(12 * n0.size) + 0.5


def _alpha_draws(**threads) -> bytes:
    code = ("import sys, numpy as np, pymc_hier as ph\n"
            "from pymc_hier.decay.exact import decay_posterior\n"
            "post = decay_posterior(ph.simulate_decay(1), t0='latent')\n"
            "s = post.sample(100, 2, random_seed=5)['posterior']\n"
            "sys.stdout.buffer.write(s['alpha'].values.tobytes() + s['N0'].values.tobytes())\n")
    env = {**os.environ, **{k: str(v) for k, v in threads.items()}}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                          env=env).stdout


@pytest.mark.slow
def test_exact_draws_do_not_depend_on_the_thread_count():
    """A least-squares Chebyshev fit (LAPACK) made 149 of 200 alpha draws differ between
    OMP_NUM_THREADS=1 and the default (issue 19, item 11)."""
    one = _alpha_draws(OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1, NUMBA_NUM_THREADS=1)
    many = _alpha_draws(OMP_NUM_THREADS=4, OPENBLAS_NUM_THREADS=4, NUMBA_NUM_THREADS=2)
    assert one == many


def test_exact_draws_in_parallel_threads_equal_the_sequential_ones():
    """What a threaded executor (Dask's, say) runs concurrently gives the same draws."""
    data = ph.simulate_decay(1, n_widgets=30)

    def draw(seed):
        post = decay_posterior(data, t0="latent")
        return post.sample(100, 2, random_seed=seed)["posterior"]

    sequential = [draw(s) for s in range(4)]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(draw, range(4)))
    for a, b in zip(sequential, parallel, strict=True):
        assert a.identical(b)


def test_exact_draws_through_dask_equal_the_sequential_ones():
    distributed = pytest.importorskip("distributed")
    data = ph.simulate_decay(1, n_widgets=30)

    def draw(seed):
        return decay_posterior(data, t0="latent").sample(100, 2, random_seed=seed)[
            "posterior"]["alpha"].values

    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        remote = [f.result() for f in client.map(draw, range(3), pure=False)]
    for seed, values in enumerate(remote):
        np.testing.assert_array_equal(values, draw(seed))


# -- the compiled known-t0 kernel and the latent kernel's two routes (issue 22) --------------
def _fraction_cdf(y, sigma, upper):
    """CDF of M / A for M ~ Normal(y, sigma) truncated to [0, A] (A = upper)."""
    ref = stats.truncnorm(-y / sigma, (upper - y) / sigma, loc=y, scale=sigma)
    return lambda f: ref.cdf(f * upper)


# (y, sigma, decay): a >= 0 (mass at 0), mass at A, the mode inside (narrow and wide),
# A narrower than 1e-8 sigma (the tilted uniform)
KNOWN_CASES = [(-0.05, 0.1, 1.0), (4.0, 0.2, 1.0), (1.0, 0.3, 1.0), (2.0, 0.05, 1.0),
               (3.0, 2.0, 1.0), (1e-9, 1.0, 25.0)]


def test_known_t0_draws_follow_the_truncated_normal_in_every_case(rng):
    """All cases in one call (one widget each), against SciPy, in units of A."""
    from pymc_hier.decay.draws import draw_n0_known

    y, sigma, decay = (np.array(v) for v in zip(*KNOWN_CASES, strict=True))
    alpha = 0.5
    n0 = draw_n0_known(y, sigma, decay / alpha, LOG_N0_MAX, np.full(20000, alpha), rng)
    assert n0.shape == (20000, len(y)) and n0.flags.c_contiguous
    for i, (yi, si, di) in enumerate(KNOWN_CASES):
        upper = 10.0 * np.exp(-di)
        cdf = _fraction_cdf(yi, si, upper)
        assert stats.kstest(n0[:, i] / 10.0, cdf).pvalue > 1e-3, KNOWN_CASES[i]
        # power: the draws of the neighbouring case fail it
        j = (i + 1) % len(y)
        if abs(KNOWN_CASES[j][2] - di) < 1:
            assert stats.kstest(n0[:, j] / 10.0, cdf).pvalue < 1e-6, KNOWN_CASES[i]


def test_known_t0_draws_past_the_linear_range_go_through_logs():
    """A / sigma beyond exp(700): the fraction through its log, still exact (the amount
    is y to 1e-300 of sigma), and as before when A underflows."""
    from pymc_hier.decay.draw_kernels import LOG_LINEAR
    from pymc_hier.decay.draws import draw_n0_known

    sigma = 1e-306
    y, decay = np.array([0.5, 0.5]), np.array([0.1, 800.0])
    assert np.log(10 * np.exp(-0.1) / sigma) > LOG_LINEAR
    n0 = draw_n0_known(y, np.full(2, sigma), decay, LOG_N0_MAX, np.ones(50),
                       np.random.default_rng(1))
    np.testing.assert_allclose(n0[:, 0], 0.5 * np.exp(0.1), rtol=1e-13)
    assert np.all(np.isfinite(n0)) and np.all((n0[:, 1] >= 0) & (n0[:, 1] <= 10 * (1 + 1e-15)))


def test_known_t0_draws_depend_on_the_seed_not_on_threads(monkeypatch):
    from pymc_hier.decay import draws as _draws

    data = ph.simulate_decay(seed=4, n_widgets=7)
    alpha = np.full(1201, data.truth["alpha"])   # three chunks, the last one short
    dt = data.t_measured - data.t0

    def draws(threads, seed, times=dt):
        monkeypatch.setattr(_draws, "THREADS", threads)
        return _draws.draw_n0_known(data.n_measured, data.sigma, times, np.log(data.n0_max),
                                    alpha, np.random.default_rng(seed))

    one = draws(1, 5)
    np.testing.assert_array_equal(one, draws(3, 5))
    # per-rate times equal to the shared ones draw the same numbers
    np.testing.assert_array_equal(one, draws(2, 5, np.tile(dt, (alpha.size, 1))))
    assert not np.array_equal(one, draws(3, 6))
    # and draw_widgets with known times is this kernel
    t, n0 = _draws.draw_widgets(data.n_measured, data.sigma, data.t_measured,
                                np.log(data.n0_max), alpha, np.random.default_rng(5),
                                t0=data.t0)
    np.testing.assert_array_equal(n0, one)
    np.testing.assert_array_equal(t, np.broadcast_to(data.t0, t.shape))


def _day_cdfs(y, sigma, t1, start, end, alpha, n0_max=10.0):
    """CDFs of t0 and of N0 given alpha and y, t0 uniform on [start, end] (dense quadrature)."""
    from scipy import integrate

    days = np.linspace(start, end, 2001)
    upper = n0_max * np.exp(-alpha * (t1 - days))
    ref = stats.norm(y, sigma)
    dens_t = (ref.cdf(upper) - ref.cdf(0.0)) / upper
    cum_t = integrate.cumulative_simpson(dens_t, x=days, initial=0.0)
    grid = np.linspace(0.0, n0_max, 20001)
    dens_n = integrate.simpson(ref.pdf(grid[:, None] * np.exp(-alpha * (t1 - days))),
                               x=days, axis=1)
    cum_n = integrate.cumulative_simpson(dens_n, x=grid, initial=0.0)
    return (lambda x: np.interp(x, days, cum_t / cum_t[-1]),
            lambda x: np.interp(x, grid, cum_n / cum_n[-1]))


# (y, sigma, t1, alpha): alpha (end - start) = 0.5 and 1.5 (the linear route and the route
# through logs), measurements between A_s and A_e (the acceptance step runs) and below A_s
LATENT_CASES = [(4.0, 0.3, 2.0, 0.5), (1.5, 0.05, 2.0, 0.5), (0.3, 0.3, 2.0, 1.5),
                (1.5, 0.1, 2.0, 1.5)]


@pytest.mark.parametrize(("y", "sigma", "t1", "alpha"), LATENT_CASES)
def test_latent_draws_follow_their_conditionals_on_both_routes(y, sigma, t1, alpha, rng):
    t0, n0 = draw_widgets(np.array([y]), np.array([sigma]), np.array([t1]), LOG_N0_MAX,
                          np.full(20000, alpha), rng, day_start=np.zeros(1),
                          day_end=np.ones(1))
    cdf_t, cdf_n = _day_cdfs(y, sigma, t1, 0.0, 1.0, alpha)
    assert stats.kstest(t0[:, 0], cdf_t).pvalue > 1e-3
    assert stats.kstest(n0[:, 0], cdf_n).pvalue > 1e-3
    # power: manufacture times uniform on the day (the data ignored) fail the t0 test
    assert stats.kstest(rng.uniform(size=20000), cdf_t).pvalue < 1e-6


def test_in_chunks_runs_each_chunk_once_and_reraises():
    from pymc_hier.decay.draws import CHUNK, in_chunks

    seen = []
    in_chunks(5 * CHUNK + 3, np.random.default_rng(0), lambda rows, gen: seen.append(
        (rows.start, rows.stop)), threads=3)
    assert sorted(seen) == [(lo, min(lo + CHUNK, 5 * CHUNK + 3))
                            for lo in range(0, 5 * CHUNK + 3, CHUNK)]

    def fail(rows, gen):
        if rows.start == 2 * CHUNK:
            raise RuntimeError("chunk 2")

    with pytest.raises(RuntimeError, match="chunk 2"):
        in_chunks(5 * CHUNK, np.random.default_rng(0), fail, threads=2)


_WARM_UP = """
import sys
import numpy as np
import xarray as xr
import pymc_hier as ph
from pymc_hier.decay.draw_kernels import known_n0, widget_pairs
from pymc_hier.decay.family import postprocess, warm_up
from pymc_hier.spec import get_spec

t0 = sys.argv[1]
model = ph.decay_model(ph.simulate_decay(seed=0, n_widgets=5), t0=t0)
spec = get_spec(model)
kernel = widget_pairs if t0 == "marginal" else known_n0
warm_up(model, spec)
ahead = len(kernel.signatures)
rng = np.random.default_rng(0)
alpha = np.full((2, 3), spec.data.truth["alpha"])
alpha.flags.writeable = False   # as draws read from a file may be
post = {"alpha": (("chain", "draw"), alpha)}
if t0 == "latent":
    start = np.asarray(spec.data.day_start)
    post["t0"] = (("chain", "draw", "widget"), np.broadcast_to(start + 0.5, (2, 3, 5)))
idata = xr.DataTree.from_dict({"posterior": xr.Dataset(post)})
out = postprocess(idata, model, spec, random_seed=1)
assert np.isfinite(out["posterior"]["N0"].values).all()
after = len(kernel.signatures)
# a read-only array passed to the kernel itself is typed apart: what _c_array prevents
y = np.ones(1)
y.flags.writeable = False
known_n0(y, np.ones(1), np.ones((1, 1)), 0.0, np.ones(1), rng, np.empty((1, 1)))
print(ahead, after, len(known_n0.signatures))
"""


@pytest.mark.parametrize("t0", ["latent", "known", "marginal"])
def test_the_warm_up_compiles_what_postprocess_calls(t0, tmp_path):
    """After the decay family's warm_up, postprocess (with read-only draws) compiles no
    other signature of its kernel; a read-only array passed to the kernel directly would."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "nb"))
    done = subprocess.run([sys.executable, "-c", _WARM_UP, t0], env=env, capture_output=True,
                          text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    ahead, after, direct = map(int, done.stdout.split())
    assert ahead == after == 1
    assert direct == (2 if t0 != "marginal" else 1)
