"""Exact hierarchical-normal posterior (BDA 5.4) against independent computations."""

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from scipy.special import ndtr

from pymc_hier import EIGHT_SCHOOLS, Prior, SchoolsData, eight_schools_model
from pymc_hier.exact import HierarchicalNormalPosterior, hierarchical_normal_posterior
from pymc_hier.exceptions import InfiniteMomentWarning, PriorDominatedWarning
from pymc_hier.numerics.grid import mixture_quantile

SEED = 20261124
PROBS = np.array([0.025, 0.25, 0.5, 0.75, 0.975])
Y, SIGMA = np.asarray(EIGHT_SCHOOLS.y), np.asarray(EIGHT_SCHOOLS.sigma)


@pytest.fixture(scope="module", params=["default", "bda"])
def exact(request):
    return request.param, hierarchical_normal_posterior(EIGHT_SCHOOLS, priors=request.param)


@pytest.fixture(scope="module")
def brute_force():
    """p(mu, tau | y) on a dense 2-D grid, straight from scipy densities (no analytic steps)."""
    tau = np.linspace(0.0, 200.0, 4001)
    mu = np.linspace(-60.0, 75.0, 1351)
    grids = {}
    for preset in ("default", "bda"):
        ll = 0.0  # sum_j log Normal(y_j | mu, sqrt(sigma_j**2 + tau**2)), constants dropped
        for j in range(len(Y)):
            v = SIGMA[j] ** 2 + tau[:, None] ** 2
            ll = ll - 0.5 * np.log(v) - 0.5 * (Y[j] - mu[None, :]) ** 2 / v
        if preset == "default":
            ll = ll + stats.norm.logpdf(mu, 0, 5)[None, :] + \
                stats.halfcauchy.logpdf(tau, scale=5)[:, None]
        grids[preset] = np.exp(ll - ll.max())
    return tau, mu, grids


def _grid_quantiles(x, density, probs):
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(x))])
    return np.interp(probs, cdf / cdf[-1], x)


def test_tau_and_mu_match_brute_force_2d_integration(exact, brute_force):
    preset, post = exact
    tau, mu, grids = brute_force
    p = grids[preset]
    p_tau, p_mu = np.trapezoid(p, mu, axis=1), np.trapezoid(p, tau, axis=0)
    # the brute-force grid (spacing 0.05 in tau, 0.1 in mu) is the less accurate side
    np.testing.assert_allclose(post.quantile(PROBS), _grid_quantiles(tau, p_tau, PROBS),
                               rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(post.quantile(PROBS, var="mu"),
                               _grid_quantiles(mu, p_mu, PROBS), atol=2e-3)
    assert post.mean() == pytest.approx(np.trapezoid(p_tau * tau, tau)
                                        / np.trapezoid(p_tau, tau), rel=1e-4)


def test_theta_matches_brute_force_conditional(exact, brute_force):
    """P(theta_j <= q_j) averaged over the (mu, tau) grid with theta | mu, tau, y normal."""
    preset, post = exact
    tau, mu, grids = brute_force
    w = grids[preset] / grids[preset].sum()
    keep = w > 1e-10
    t, m, w = (np.broadcast_to(tau[:, None], keep.shape)[keep],
               np.broadcast_to(mu[None, :], keep.shape)[keep], w[keep])
    q = post.quantile(PROBS, var="theta")  # (prob, school)
    for j in (0, 2, 6):
        v = SIGMA[j] ** 2 + t**2
        loc, sd = (Y[j] * t**2 + m * SIGMA[j] ** 2) / v, np.sqrt(SIGMA[j] ** 2 * t**2 / v)
        with np.errstate(divide="ignore", invalid="ignore"):  # tau = 0: theta = mu
            cdf = [w @ np.where(sd > 0, ndtr((qq - loc) / sd), qq >= loc) / w.sum()
                   for qq in q[:, j]]
        np.testing.assert_allclose(cdf, PROBS, atol=1e-3)


def test_bda_table_5_3_school_a():
    """BDA Table 5.3 (flat prior), school A, from 200 draws rounded to integers."""
    post = hierarchical_normal_posterior(EIGHT_SCHOOLS, priors="bda")
    got = post.quantile(PROBS, var="theta")[:, 0]
    np.testing.assert_allclose(got, [-2, 7, 10, 16, 31], atol=1.5)


def test_grid_converged_against_much_finer_grid(exact):
    preset, post = exact
    fine = hierarchical_normal_posterior(EIGHT_SCHOOLS, priors=preset, grid_size=64001)
    sd = post.sds()
    for stat in ("quantiles", "means", "sds"):
        diff = getattr(post, stat)() - getattr(fine, stat)()
        for v in diff.data_vars:
            # tau's piecewise-linear CDF: <= 1e-3 sd; the mixtures: geometrically converged
            tol = 1e-3 if v == "tau" and stat == "quantiles" else 1e-9
            assert float(np.abs(diff[v] / sd[v]).max()) <= tol, (stat, v)


def test_cdf_quantile_pdf_are_consistent(exact):
    _, post = exact
    for var in ("mu", "tau", "theta_new", "theta"):
        q = post.quantile(PROBS, var=var)
        expect = PROBS[:, None] if var == "theta" else PROBS
        np.testing.assert_allclose(post.cdf(q, var=var), np.broadcast_to(expect, q.shape),
                                   atol=1e-7)
    x = np.linspace(0, 400, 400001)
    assert np.trapezoid(post.pdf(x), x) == pytest.approx(1.0, abs=1e-5)
    x = np.linspace(-80, 90, 20001)
    for var in ("mu", "theta_new"):
        mass = post.cdf(x[-1], var=var) - post.cdf(x[0], var=var)
        assert np.trapezoid(post.pdf(x, var=var), x) == pytest.approx(mass, abs=1e-7)
    assert post.pdf(-1.0) == 0.0 and post.cdf(-1.0) == 0.0
    assert post.pdf(0.0) == pytest.approx(post.pdf(1e-9), rel=1e-6)  # the limit at 0


def test_sample_is_shaped_like_mcmc_and_matches_quantiles(exact):
    import arviz as az

    preset, post = exact
    dt = post.sample(draws=1000, chains=4, random_seed=SEED)
    ds = dt["posterior"].to_dataset()
    assert dict(ds.sizes) == {"chain": 4, "draw": 1000, "school": 8}
    assert ds["theta"].dims == ("chain", "draw", "school")
    assert list(ds["school"].values) == list("ABCDEFGH")
    assert set(ds.data_vars) == {"mu", "tau", "theta", "theta_new"}
    assert ds.attrs["random_seed"] == SEED and ds.attrs["prior_tau"]
    np.testing.assert_array_equal(dt["observed_data"]["y"], Y)
    np.testing.assert_array_equal(dt["constant_data"]["sigma"], SIGMA)
    again = post.sample(draws=1000, chains=4, random_seed=SEED)["posterior"].to_dataset()
    xr.testing.assert_identical(ds["theta"], again["theta"])
    # i.i.d. draws: each quantile within 4 MCSE (Bonferroni over 11 variables x 5 probs x 2)
    quants = post.quantiles(PROBS)
    for p in PROBS:
        se = az.mcse(ds, method="quantile", prob=p)
        mc = ds.quantile(p, dim=("chain", "draw"))
        for v in ds.data_vars:
            z = np.abs(mc[v] - quants[v].sel(quantile=p)) / se[v]
            assert float(z.max()) <= 4, (preset, v, p)


def test_labelled_summaries():
    post = hierarchical_normal_posterior(EIGHT_SCHOOLS)
    q = post.quantiles()
    assert q["theta"].dims == ("quantile", "school")
    np.testing.assert_allclose(q["quantile"], [0.025, 0.25, 0.5, 0.75, 0.975])
    assert post.means()["theta"].dims == ("school",)
    assert post.sds().attrs["statistic"] == "sd"
    assert "HalfCauchy" in repr(post)
    assert isinstance(post, HierarchicalNormalPosterior)


# -- priors ----------------------------------------------------------------------------------------
def test_model_input_uses_the_models_priors():
    model = eight_schools_model(priors={"tau": Prior("HalfNormal", sigma=10)})
    post = hierarchical_normal_posterior(model)
    direct = hierarchical_normal_posterior(EIGHT_SCHOOLS,
                                           priors={"tau": Prior("HalfNormal", sigma=10)})
    np.testing.assert_allclose(post.quantile(PROBS), direct.quantile(PROBS), rtol=1e-12)
    with pytest.raises(ValueError, match="priors: must be None"):
        hierarchical_normal_posterior(model, priors="bda")


def test_callable_tau_prior_equals_prior_object():
    post = hierarchical_normal_posterior(EIGHT_SCHOOLS)
    fn = hierarchical_normal_posterior(
        EIGHT_SCHOOLS, priors={"tau": lambda t: stats.halfcauchy.logpdf(t, scale=5)})
    np.testing.assert_allclose(fn.quantile(PROBS), post.quantile(PROBS), rtol=1e-9)
    np.testing.assert_allclose(fn.quantile(PROBS, var="theta"),
                               post.quantile(PROBS, var="theta"), rtol=1e-9)


def test_one_group_flat_mu_posterior_of_tau_is_the_prior():
    data = SchoolsData(y=[28.0], sigma=[15.0])
    with pytest.warns(PriorDominatedWarning, match="prior-dominated"):
        post = hierarchical_normal_posterior(data, priors={"mu": Prior("Flat")})
    assert post.prior_dominated
    prior = stats.halfcauchy(scale=5)
    np.testing.assert_allclose(post.quantile(PROBS), prior.ppf(PROBS), rtol=2e-4)
    x = np.array([0.5, 5.0, 50.0])
    np.testing.assert_allclose(post.pdf(x), prior.pdf(x), rtol=1e-4)
    assert not hierarchical_normal_posterior(EIGHT_SCHOOLS).prior_dominated


def test_improper_posteriors_are_rejected():
    two = SchoolsData(y=[28.0, -3.0], sigma=[15.0, 16.0])
    with pytest.raises(ValueError, match=r"improper posterior with J = 2"):
        hierarchical_normal_posterior(two, priors="bda")
    three = SchoolsData(y=[28.0, -3.0, 8.0], sigma=[15.0, 16.0, 10.0])
    with pytest.raises(ValueError, match=r"does not decay as tau -> 0"):  # p(tau) ∝ 1 / tau
        hierarchical_normal_posterior(three, priors={"tau": lambda t: -np.log(t)})
    with pytest.raises(ValueError, match=r"does not decay as tau -> infinity"):
        hierarchical_normal_posterior(two, priors={"mu": Prior("Flat"),
                                                   "tau": lambda t: np.zeros_like(t)})


@pytest.mark.parametrize(("n_groups", "mean_finite", "sd_finite"),
                         [(3, False, False), (4, True, False), (5, True, True)])
def test_heavy_tail_moments_of_flat_prior(n_groups, mean_finite, sd_finite):
    """With p(mu, tau) ∝ 1, p(tau | y) ~ tau**-(J - 1): E tau needs J >= 4, sd J >= 5.
    Moments that do not exist are inf, with a warning naming the tail."""
    post = hierarchical_normal_posterior(
        SchoolsData(y=Y[:n_groups], sigma=SIGMA[:n_groups]), priors="bda")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert np.isfinite(post.mean()) == mean_finite
        assert np.isfinite(post.sd()) == sd_finite
        assert np.isfinite(post.sd(var="mu")) == sd_finite
    infinite = [w for w in caught if issubclass(w.category, InfiniteMomentWarning)]
    assert len(infinite) == (not mean_finite) + 2 * (not sd_finite)
    for w in infinite:
        assert f"falls off only like tau^{-(n_groups - 1)} " in str(w.message)
    if not sd_finite:
        with pytest.warns(InfiniteMomentWarning, match="standard deviations"):
            assert np.isinf(post.sds()["tau"])
    assert np.all(np.isfinite(post.quantile(PROBS)))


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_scale_invariance_at_extreme_scales(scale):
    """Data and priors scaled by c: tau, mu and theta scale by c (log-space numerics)."""
    base = hierarchical_normal_posterior(EIGHT_SCHOOLS)
    scaled = hierarchical_normal_posterior(
        SchoolsData(y=Y * scale, sigma=SIGMA * scale),
        priors={"mu": Prior("Normal", mu=0, sigma=5 * scale),
                "tau": Prior("HalfCauchy", beta=5 * scale)})
    for var in ("tau", "mu", "theta"):
        np.testing.assert_allclose(scaled.quantile(PROBS, var=var),
                                   base.quantile(PROBS, var=var) * scale, rtol=1e-6)


def test_ten_thousand_groups_recovers_truth(rng):
    n = 10**4
    sigma = rng.uniform(5, 15, n)
    y = 2.0 + 5.0 * rng.standard_normal(n) + sigma * rng.standard_normal(n)
    post = hierarchical_normal_posterior(SchoolsData(y=y, sigma=sigma))
    assert abs(post.mean(var="mu") - 2.0) <= 4 * post.sd(var="mu")
    assert abs(post.mean() - 5.0) <= 4 * post.sd()
    assert post.sd() < 0.3  # sharply peaked: the adaptive grid still resolves it
    dt = post.sample(draws=50, chains=2, random_seed=SEED)
    assert dt["posterior"]["theta"].shape == (2, 50, n)


def test_mixture_quantile_of_a_single_normal():
    q = mixture_quantile(PROBS, np.array([1.0]), np.array([[1.0, -2.0]]),
                         np.array([[2.0, 0.5]]))
    np.testing.assert_allclose(q, stats.norm.ppf(PROBS[:, None], [1.0, -2.0], [2.0, 0.5]),
                               rtol=1e-12)


# -- bad input -------------------------------------------------------------------------------------
def test_bad_input():
    with pytest.raises(ValueError, match=r"priors\['mu'\]: the exact reference needs"):
        hierarchical_normal_posterior(EIGHT_SCHOOLS,
                                      priors={"mu": Prior("StudentT", nu=3, mu=0, sigma=5)})
    with pytest.raises(ValueError, match="priors: unknown preset"):
        hierarchical_normal_posterior(EIGHT_SCHOOLS, priors="flat")
    with pytest.raises(ValueError, match="grid_size"):
        hierarchical_normal_posterior(EIGHT_SCHOOLS, grid_size=10)
    with pytest.raises(ValueError, match="sigma: must be > 0"):
        hierarchical_normal_posterior({"y": [1.0, 2.0], "sigma": [1.0, 0.0]})
    post = hierarchical_normal_posterior(EIGHT_SCHOOLS)
    with pytest.raises(ValueError, match="var: unknown variable 'sigma'"):
        post.quantile(0.5, var="sigma")
    with pytest.raises(ValueError, match="q: probabilities"):
        post.quantile(1.5)
    with pytest.raises(ValueError, match="q: probabilities"):
        post.quantile(1.0, var="mu")
    with pytest.raises(ValueError, match="draws: must be a positive integer"):
        post.sample(draws=0)
