"""The exact reference posterior of the decay model, against brute-force integration."""

import numpy as np
import pytest
from scipy import integrate, stats

import pymc_hier as ph
from pymc_hier.decay.problem import time_scale
from pymc_hier.exact import DecayPosterior, decay_posterior
from pymc_hier.exceptions import InfiniteMomentWarning

SEED = 20261124


@pytest.fixture(scope="module")
def small():
    """20 widgets measured in days: quick to integrate by brute force."""
    return ph.simulate_decay(seed=3, n_widgets=20, time_unit="day")


@pytest.fixture(scope="module")
def post_known(small):
    return decay_posterior(small, t0="known")


@pytest.fixture(scope="module")
def post_latent(small):
    return decay_posterior(small, t0="latent")


def _brute_log_likelihood(data, alpha, *, t0):
    """Sum over widgets of log p(y | alpha): N0 (and t0) integrated by QUADPACK."""
    total = 0.0
    for i in range(len(data)):
        y, s, t1 = data.n_measured[i], data.sigma[i], data.t_measured[i]

        def given_t0(t, y=y, s=s, t1=t1):
            upper = data.n0_max * np.exp(-alpha * (t1 - t))
            lik = integrate.quad(lambda m: stats.norm.pdf(y, m, s) / upper, 0, upper,
                                 points=[min(max(y, 0), upper)], epsabs=0, epsrel=1e-11,
                                 limit=200)[0]
            return lik

        if t0 == "known":
            total += np.log(given_t0(data.t0[i]))
        else:
            a, b = data.day_start[i], data.day_end[i]
            val = integrate.quad(given_t0, a, b, epsabs=0, epsrel=1e-10, limit=200)[0]
            total += np.log(val / (b - a))
    return total


def test_likelihood_matches_brute_force(small, post_known):
    alphas = post_known.quantile([0.05, 0.5, 0.95])
    got = post_known._log_likelihood(alphas)
    ref = [_brute_log_likelihood(small, a, t0="known") for a in alphas]
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)


def test_latent_likelihood_matches_brute_force(small):
    """t0 and N0 integrated by nested QUADPACK, on the four most informative widgets."""
    top = np.argsort(small.n_measured)[-4:]
    tiny = ph.DecayData(**{k: getattr(small, k)[top] for k in
                           ("t_measured", "n_measured", "sigma", "day_start", "day_end")},
                        n0_max=small.n0_max, time_unit="day")
    post = decay_posterior(tiny, t0="latent")
    alpha = float(post.quantile(0.5))
    assert post._log_likelihood([alpha])[0] == pytest.approx(
        _brute_log_likelihood(tiny, alpha, t0="latent"), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("t0", ["known", "latent"])
def test_density_cdf_moments_quantiles_agree_with_quadpack(post_known, post_latent, t0):
    post = post_known if t0 == "known" else post_latent
    lo, hi = post.quantile([1e-9, 1 - 1e-9])
    mid = post.quantile(0.5)
    kw = {"epsabs": 0, "epsrel": 1e-10, "limit": 200}
    mass = sum(integrate.quad(post.pdf, a, b, **kw)[0] for a, b in ((lo, mid), (mid, hi)))
    assert mass == pytest.approx(1.0 - 2e-9, abs=1e-10)
    mean = sum(integrate.quad(lambda a: a * post.pdf(a), a, b, **kw)[0]
               for a, b in ((lo, mid), (mid, hi)))
    assert post.mean() == pytest.approx(mean, rel=1e-8)
    var = sum(integrate.quad(lambda a: (a - mean) ** 2 * post.pdf(a), a, b, **kw)[0]
              for a, b in ((lo, mid), (mid, hi)))
    assert post.sd() == pytest.approx(np.sqrt(var), rel=1e-7)
    q = np.array([0.025, 0.5, 0.975])
    x = post.quantile(q)
    np.testing.assert_allclose(post.cdf(x), q, atol=1e-12)
    for xi, qi in zip(x, q, strict=True):   # lo is the 1e-9 quantile
        assert integrate.quad(post.pdf, lo, xi, **kw)[0] + 1e-9 == pytest.approx(qi, abs=1e-10)
    # the density is the derivative of the CDF
    h = 1e-4 * post.sd()
    deriv = (post.cdf(mid + h) - post.cdf(mid - h)) / (2 * h)
    assert deriv == pytest.approx(post.pdf(mid), rel=1e-5)


@pytest.mark.parametrize("t0", ["known", "latent"])
def test_table_logpdf_follows_the_quadrature(post_known, post_latent, t0):
    """The table's density (read by the sampler's alpha map) equals the quadrature's.

    At the 481 quantiles of the map, from z = -6 to 6, within 1e-4 in log density; the
    far tails come from the quadrature itself. The other t0 option's table fails the
    same comparison.
    """
    from scipy import special

    post = post_known if t0 == "known" else post_latent
    x = post.quantile(special.ndtr(np.linspace(-6, 6, 481)))
    exact = post.logpdf(x)
    np.testing.assert_allclose(post.table_logpdf(x), exact, rtol=0, atol=1e-4)
    assert post.table_logpdf(np.array([0.0, -1.0])).tolist() == [-np.inf, -np.inf]
    other = post_latent if t0 == "known" else post_known
    assert np.max(np.abs(other.table_logpdf(x) - exact)) > 1e-2


def test_callable_prior_equals_prior_object(small):
    flat = decay_posterior(small, t0="known", prior=ph.Prior("HalfFlat"))
    same = decay_posterior(small, t0="known", prior=lambda a: np.zeros_like(a))
    assert flat.mean() == pytest.approx(same.mean(), rel=1e-12)
    assert flat.quantile(0.9) == pytest.approx(same.quantile(0.9), rel=1e-12)
    assert isinstance(flat, DecayPosterior)
    assert "HalfFlat" in repr(flat)


def test_prior_shifts_the_posterior(small):
    scale = time_scale(small)
    tight = decay_posterior(small, t0="known", prior=ph.Prior("HalfNormal", sigma=0.2 / scale))
    default = decay_posterior(small, t0="known")
    assert tight.mean() < default.mean()


@pytest.mark.parametrize("t0", ["known", "latent"])
def test_sampler_shapes_bounds_and_distribution(small, post_known, post_latent, t0):
    post = post_known if t0 == "known" else post_latent
    tree = post.sample(draws=500, chains=2, random_seed=SEED)
    ds = tree["posterior"].to_dataset()
    assert ds["alpha"].dims == ("chain", "draw") and ds["alpha"].shape == (2, 500)
    assert ds["N0"].dims == ("chain", "draw", "widget")
    assert list(ds["widget"].values) == list(small.widget)
    assert ds["alpha"].attrs["units"] == "1/day"
    assert (("t0" in ds) == (t0 == "latent"))
    n0 = ds["N0"].values
    assert np.all((n0 >= 0) & (n0 <= small.n0_max))
    alpha = ds["alpha"].values.ravel()
    assert stats.kstest(alpha, post.cdf).pvalue > 1e-3
    if t0 == "latent":
        t_made = ds["t0"].values
        assert np.all((t_made >= small.day_start) & (t_made <= small.day_end))


def test_t0_draws_follow_their_conditional(small, post_latent):
    """Given alpha, t0 has density proportional to p(y | alpha, t0) on its day."""
    from pymc_hier.decay.kernels import log_uniform_normal_pdf

    alpha = float(post_latent.quantile(0.5))
    rng = np.random.default_rng(SEED)
    draws = post_latent._draw_t0(np.full(2000, alpha), rng)
    log_n0_max = np.log(small.n0_max)
    for i in (0, int(np.argmax(small.n_measured))):
        grid = np.linspace(small.day_start[i], small.day_end[i], 4001)
        dens = np.exp(log_uniform_normal_pdf(small.n_measured[i], small.sigma[i],
                                             log_n0_max - alpha * (small.t_measured[i] - grid)))
        cum = integrate.cumulative_simpson(dens, x=grid, initial=0.0)

        def cdf(x, grid=grid, cum=cum):
            return np.interp(x, grid, cum / cum[-1])

        assert stats.kstest(draws[:, i], cdf).pvalue > 1e-3


def test_improper_flat_prior_is_rejected():
    vague = ph.DecayData(t_measured=[10.0, 12.0], n_measured=[0.02, -0.01], sigma=[1.0, 1.0],
                         day_start=[0.0, 1.0], day_end=[1.0, 2.0], n0_max=1.0, time_unit="day")
    with pytest.raises(ValueError, match="priors\\['alpha'\\].*improper"):
        decay_posterior(vague, t0="latent", prior=ph.Prior("HalfFlat"))
    # a proper prior makes it proper; with the default half-Cauchy the likelihood is flat
    # once both widgets have decayed, so the posterior keeps the prior's alpha^-2 tail with
    # weight: no mean, no sd (said so), finite quantiles
    post = decay_posterior(vague, t0="latent")
    assert 0 < post.quantile(0.5) < post.quantile(0.999) < np.inf
    with pytest.warns(InfiniteMomentWarning, match="alpha\\^-2"):
        assert post.mean() == np.inf
    assert not post.moment_exists(1) and not post.moment_exists(2)


def test_bad_input(small):
    with pytest.raises(ValueError, match="t0"):
        decay_posterior(small, t0="bogus")
    with pytest.raises(ValueError, match="data.t0 is None"):
        decay_posterior(small.without_t0(), t0="known")
    with pytest.raises(ValueError, match="priors\\['alpha'\\].*positive"):
        decay_posterior(small, prior=ph.Prior("Normal", mu=0, sigma=1))
    with pytest.raises(ValueError, match="prior"):
        decay_posterior(small, prior="HalfFlat")
    with pytest.raises(ValueError, match="q"):
        decay_posterior(small, t0="known").quantile(1.5)


def test_marginal_is_a_synonym_of_latent(small, post_latent):
    same = decay_posterior(small, t0="marginal")
    assert same.mean() == post_latent.mean()
    assert "t0" in same.sample(draws=5, chains=1, random_seed=SEED)["posterior"]


def _n0_conditional_cdf(data, i, alpha):
    """CDF of N0_i given alpha and y_i, t0 integrated over its day (dense quadrature)."""
    grid = np.linspace(0.0, data.n0_max, 20001)
    days = np.linspace(data.day_start[i], data.day_end[i], 801)
    decay = np.exp(-alpha * (data.t_measured[i] - days))
    dens = stats.norm.pdf(data.n_measured[i], grid[:, None] * decay, data.sigma[i])
    dens = integrate.simpson(dens, x=days, axis=1)
    cum = integrate.cumulative_simpson(dens, x=grid, initial=0.0)
    return lambda x: np.interp(x, grid, cum / cum[-1])


@pytest.mark.parametrize("rounds", [6, 0], ids=["rejection", "inversion"])
def test_joint_widget_draws_follow_their_conditionals(rounds):
    """(t0, N0) given alpha by rejection on the amount M, or by CDF inversion of t0.

    Widget 1 is measured just below the largest amount its day allows, with a small
    sigma: its proposals are mostly rejected, so both routes of the sampler run.
    """
    from pymc_hier.decay.draws import draw_widgets
    from pymc_hier.decay.kernels import log_uniform_normal_pdf

    alpha = 0.02
    data = ph.DecayData(t_measured=[60.0, 40.0], n_measured=[2.0, 4.49], sigma=[0.3, 0.002],
                        day_start=[0.0, 0.0], day_end=[1.0, 1.0], n0_max=10.0, time_unit="day")
    rng = np.random.default_rng(SEED)
    t_made, n0 = draw_widgets(np.asarray(data.n_measured), np.asarray(data.sigma),
                              np.asarray(data.t_measured), np.log(data.n0_max),
                              np.full(4000, alpha), rng, day_start=np.asarray(data.day_start),
                              day_end=np.asarray(data.day_end), rounds=rounds)
    for i in range(2):
        grid = np.linspace(data.day_start[i], data.day_end[i], 4001)
        dens = np.exp(log_uniform_normal_pdf(
            data.n_measured[i], data.sigma[i],
            np.log(data.n0_max) - alpha * (data.t_measured[i] - grid)))
        cum = integrate.cumulative_simpson(dens, x=grid, initial=0.0)
        assert stats.kstest(t_made[:, i], lambda x, g=grid, c=cum: np.interp(x, g, c / c[-1])
                            ).pvalue > 1e-3
        assert stats.kstest(n0[:, i], _n0_conditional_cdf(data, i, alpha)).pvalue > 1e-3
    # N0 and t0 jointly reproduce the measurement's mean: M = N0 exp(-alpha (t1 - t0))
    amount = n0 * np.exp(-alpha * (np.asarray(data.t_measured) - t_made))
    assert np.all(amount <= data.n0_max * np.exp(-alpha * (data.t_measured - t_made)) + 1e-12)


def test_widget_draws_depend_on_the_seed_not_on_threads(monkeypatch):
    """The compiled route runs chunks on threads with spawned generators: the same seed
    gives the same draws on 1 or 3 threads, a different seed different ones."""
    from pymc_hier.decay import draws as _decay_draws

    data = ph.simulate_decay(seed=4, n_widgets=7)
    alpha = np.full(1201, data.truth["alpha"])  # three chunks, the last one short

    def draws(threads, seed):
        monkeypatch.setattr(_decay_draws, "THREADS", threads)
        return _decay_draws.draw_widgets(
            data.n_measured, data.sigma, data.t_measured, np.log(data.n0_max), alpha,
            np.random.default_rng(seed), day_start=data.day_start, day_end=data.day_end)

    one, three = draws(1, SEED), draws(3, SEED)
    assert _decay_draws.CHUNK < alpha.size
    for a, b in zip(one, three, strict=True):
        np.testing.assert_array_equal(a, b)
        assert np.all(np.isfinite(a))
    assert not np.array_equal(one[0], draws(3, SEED + 1)[0])


def test_local_tabulation_matches_adaptive():
    """method='local' (subsample, Brent, Chebyshev) against the 1e-11 adaptive table.

    The local table's density is within ``table_error`` of the adaptive one relative to
    its peak, so CDFs differ by at most about ``table_error`` times the interval's width in
    standard deviations (about 20); quantiles by that over the density.
    """
    data = ph.simulate_decay(seed=8, n_widgets=600, time_unit="day")
    for t0 in ("latent", "known"):
        local = decay_posterior(data, t0=t0, method="local")
        adaptive = decay_posterior(data, t0=t0, method="adaptive")
        assert local.method == "local" and adaptive.method == "adaptive"
        assert 0 < local.table_error < 1e-2
        x = adaptive.quantile(np.linspace(0.001, 0.999, 199))
        bound = 20 * local.table_error
        assert np.max(np.abs(local.cdf(x) - adaptive.cdf(x))) < bound
        assert abs(local.mean() - adaptive.mean()) < bound * adaptive.sd()
        assert local.sample(draws=3, chains=1, random_seed=SEED)["posterior"].attrs[
            "tabulation"] == "local"
    with pytest.raises(ValueError, match="method"):
        decay_posterior(data, method="grid")


def test_local_table_refuses_a_second_mode_and_auto_stays_adaptive_for_callables():
    """Two prior bumps four units apart in log alpha leave 2% of the mass in the lower
    mode; the local table around the upper one must refuse rather than drop it."""
    data = ph.simulate_decay(seed=2, n_widgets=3, time_unit="day")
    centre = float(np.log(decay_posterior(data, method="adaptive").quantile(0.5)))

    def prior(alpha):  # log density of log alpha: bumps at the median and 4 below it
        u = np.log(alpha)
        return np.logaddexp(-0.5 * ((u - centre) / 0.2) ** 2,
                            -0.5 * ((u - centre + 4.0) / 0.2) ** 2) - u

    valley = np.exp(centre - 2.0)
    adaptive = decay_posterior(data, prior=prior, method="adaptive")
    assert 0.005 < adaptive.cdf(valley) < 0.5  # the lower mode holds mass
    with pytest.raises(ValueError, match="unimodal"):
        decay_posterior(data, prior=prior, method="local")
    auto = decay_posterior(data, prior=prior)
    assert auto.method == "adaptive"
    assert auto.cdf(valley) == pytest.approx(adaptive.cdf(valley), rel=1e-12)


def _n0_pit(data, alpha, t_made, n0, sigma_scale=1.0):
    """F(N0 | alpha, t0, y) for every draw and widget: the amount at measurement is
    Normal(y, sigma) truncated to [0, A(t0)], M = N0 exp(-alpha (t1 - t0))."""
    y, sigma, t1 = (np.asarray(v)[None, :] for v in (data.n_measured, data.sigma,
                                                      data.t_measured))
    sigma = sigma * sigma_scale
    decay = alpha[:, None] * (t1 - t_made)
    upper = data.n0_max * np.exp(-decay)
    ref = stats.truncnorm(-y / sigma, (upper - y) / sigma, loc=y, scale=sigma)
    return ref.cdf(n0 * np.exp(-decay)).ravel()


@pytest.mark.parametrize("t0", ["known", "latent"])
def test_sampled_n0_given_alpha_and_t0_is_exact(small, t0):
    """Every (alpha, t0, N0) drawn by sample(): the conditional CDF of N0 at its draw is
    uniform (20 widgets x 4000 draws, independent given alpha), and the same test fails
    the draws held against a sigma 5% too large."""
    src = small if t0 == "known" else small.without_t0()
    post = decay_posterior(src, t0=t0).sample(1000, 4, random_seed=SEED)["posterior"]
    alpha = post["alpha"].values.ravel()
    n0 = post["N0"].values.reshape(alpha.size, -1)
    t_made = (np.broadcast_to(small.t0, n0.shape) if t0 == "known"
              else post["t0"].values.reshape(alpha.size, -1))
    assert stats.kstest(_n0_pit(small, alpha, t_made, n0), "uniform").pvalue > 1e-3
    wrong = _n0_pit(small, alpha, t_made, n0, sigma_scale=1.05)
    assert stats.kstest(wrong, "uniform").pvalue < 1e-6
