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
