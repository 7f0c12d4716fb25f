"""The marginal (scalable) hierarchical normal model: theta integrated out, drawn afterwards.

Fast tests check the structure, options, the conditional kernels at extreme scales and the
conditional draws' moments; the slow tests fit eight schools with :func:`pymc_hier.fit`
and compare with the exact BDA 5.4 posterior, and build and sample 10**5 groups.
"""

import warnings

import numpy as np
import pytest

from pymc_hier import EIGHT_SCHOOLS, SchoolsData, eight_schools_model, fit
from pymc_hier.diagnostics import SamplingWarning
from pymc_hier.exact import hierarchical_normal_posterior
from pymc_hier.normal.family import hierarchical_normal_model, postprocess
from pymc_hier.normal.kernels import THETA_STORAGE, conditional_moments, draw_theta
from pymc_hier.spec import get_spec

SEED = 20261124
PROBS = (0.025, 0.25, 0.5, 0.75, 0.975)


def _synthetic(n, seed=SEED):
    rng = np.random.default_rng(seed)
    sigma = rng.uniform(5, 15, n)
    y = 2.0 + 5.0 * rng.standard_normal(n) + sigma * rng.standard_normal(n)
    return SchoolsData(y=y, sigma=sigma)


# -- structure and options ------------------------------------------------------------------
def test_marginal_structure_and_spec():
    model = eight_schools_model(parametrization="marginal")
    assert {v.name for v in model.free_RVs} == {"mu", "tau"}
    assert [v.name for v in model.observed_RVs] == ["y"]
    assert model.named_vars_to_dims["y"] == ("school",)
    assert "theta" not in model.named_vars
    spec = get_spec(model)
    assert dict(spec.options) == {"parametrization": "marginal",
                                  "theta_storage": "float64", "pooling": "partial",
                                  "centered": None}
    again = spec.rebuild()
    assert get_spec(again).config_hash() == spec.config_hash()


def test_marginal_likelihood_is_normal_with_inflated_scale():
    from pymc.model.transform.conditioning import remove_value_transforms
    from scipy import stats

    # the density of (mu, tau) themselves: tau is sampled through a map of its quantiles
    model = remove_value_transforms(eight_schools_model(priors="bda", parametrization="marginal"))
    logp = model.compile_logp(jacobian=False, mode="FAST_COMPILE")
    y, sigma = np.asarray(EIGHT_SCHOOLS.y), np.asarray(EIGHT_SCHOOLS.sigma)
    for mu, tau in ((0.0, 1e-3), (8.0, 5.0), (-3.0, 40.0)):
        expected = stats.norm.logpdf(y, mu, np.sqrt(sigma**2 + tau**2)).sum()
        np.testing.assert_allclose(logp({"mu": mu, "tau": tau}), expected,
                                   rtol=1e-12)


def test_theta_storage_validation():
    with pytest.raises(ValueError, match="theta_storage: must be one of .*'float16'"):
        eight_schools_model(parametrization="marginal", theta_storage="float16")
    with pytest.raises(ValueError, match="theta_storage: only applies"):
        eight_schools_model(theta_storage="float32")
    with pytest.raises(ValueError, match="parametrization: must be one of .*'marginalised'"):
        eight_schools_model(parametrization="marginalised")
    assert THETA_STORAGE == ("float64", "float32", "none")


# -- kernels --------------------------------------------------------------------------------
def test_conditional_moments_at_extreme_scales():
    y, sigma = np.array([3.0, -2.0]), np.array([1e-150, 1e150])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, sd = conditional_moments(np.array([[1.0], [1.0], [1.0]]),
                                       np.array([[0.0], [1e-100], [1e200]]), y, sigma)
    # tau = 0: theta = mu exactly
    np.testing.assert_array_equal(mean[0], [1.0, 1.0])
    np.testing.assert_array_equal(sd[0], [0.0, 0.0])
    # tau << sigma_2 but tau >> sigma_1: group 1 follows its data, group 2 the population
    np.testing.assert_allclose(mean[1], [3.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(sd[1], [1e-150, 1e-100], rtol=1e-12)
    # tau >> sigma: theta ~ Normal(y, sigma)
    np.testing.assert_allclose(mean[2], [3.0, -2.0], rtol=1e-12)
    np.testing.assert_allclose(sd[2], [1e-150, 1e150], rtol=1e-12)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(sd))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_draw_theta_matches_its_conditional_in_any_batching(dtype):
    rng = np.random.default_rng(SEED)
    mu, tau = rng.normal(0, 3, (2, 3000)), rng.uniform(0.1, 10, (2, 3000))
    y, sigma = rng.normal(0, 5, 7), rng.uniform(1, 10, 7)
    theta = draw_theta(mu, tau, y, sigma, rng=np.random.default_rng(1), dtype=dtype,
                       batch_elements=100)  # 14 draws per block: many blocks
    assert theta.shape == (2, 3000, 7) and theta.dtype == np.dtype(dtype)
    mean, sd = conditional_moments(mu[..., None], tau[..., None], y, sigma)
    z = ((theta - mean) / sd).reshape(-1, 7)  # i.i.d. N(0, 1) if the draws are right
    n = z.shape[0]
    assert np.all(np.abs(z.mean(0)) <= 4 / np.sqrt(n))
    assert np.all(np.abs(z.std(0) - 1) <= 4 / np.sqrt(2 * n))
    # the blocks are independent: neighbouring draws are uncorrelated
    r = np.mean(z[:-1] * z[1:], axis=0)
    assert np.all(np.abs(r) <= 4 / np.sqrt(n))
    # same seed, other batching: same distribution (not the same numbers), same shape
    other = draw_theta(mu, tau, y, sigma, rng=np.random.default_rng(1), dtype=dtype)
    assert other.shape == theta.shape


def test_postprocess_leaves_other_forms_alone():
    model = eight_schools_model()
    sentinel = object()
    assert postprocess(sentinel, model, get_spec(model), random_seed=1) is sentinel


# -- MCMC against the exact posterior (slow) --------------------------------------------------
@pytest.fixture(scope="module")
def marginal_fit():
    model = eight_schools_model(parametrization="marginal")
    idata = fit(model, sampler="nutpie", random_seed=SEED, progressbar=False)
    return idata, model, hierarchical_normal_posterior(model)


@pytest.mark.slow
def test_marginal_fit_matches_exact(marginal_fit):
    """Mean and PROBS quantiles of mu, tau, theta and theta_new within 4 MCSE of the exact.

    11 parameters x 6 statistics = 66 comparisons; Bonferroni at a 1% family-wise error
    rate asks for |z| <= 3.8, hence k = 4.
    """
    import arviz as az

    idata, _, exact = marginal_fit
    post = idata["posterior"].to_dataset()
    assert post["theta"].dims == ("chain", "draw", "school")
    assert post["theta"].shape == (4, 1000, 8)
    assert int(idata["sample_stats"]["diverging"].sum()) == 0
    names = ["mu", "tau", "theta", "theta_new"]
    post = post[names]
    means, quants = exact.means(), exact.quantiles(PROBS)
    checks = [("mean", post.mean(("chain", "draw")), means, az.mcse(post, method="mean"))]
    for p in PROBS:
        checks.append((f"q{p}", post.quantile(p, dim=("chain", "draw")),
                       quants.sel(quantile=p), az.mcse(post, method="quantile", prob=p)))
    for label, mc, ref, se in checks:
        for v in names:
            z = np.abs(np.asarray(mc[v]) - np.asarray(ref[v])) / np.asarray(se[v])
            assert np.all(z <= 4.0), (label, v, z.max())
    # theta is left out of the diagnostics (exact given mu, tau); mu and tau are in them
    diag = idata["diagnostics"]
    assert {"mu", "tau", "theta_new"} <= set(diag["rhat"].data_vars)
    assert "theta" not in diag["rhat"].data_vars


@pytest.mark.slow
def test_marginal_posterior_predictive(marginal_fit):
    """The mixed predictive y_rep ~ Normal(mu, sqrt(sigma**2 + tau**2)), per draw."""
    from pymc_hier import sample_predictive

    idata, model, _ = marginal_fit
    tree = sample_predictive(idata, model, random_seed=SEED, prior=False)
    y_rep = tree["posterior_predictive"]["y"]
    assert y_rep.dims == ("chain", "draw", "school")
    post = idata["posterior"]
    scale = np.sqrt(np.asarray(EIGHT_SCHOOLS.sigma) ** 2 + post["tau"].values[..., None] ** 2)
    z = ((y_rep.values - post["mu"].values[..., None]) / scale).reshape(-1)
    assert abs(z.mean()) <= 4 / np.sqrt(z.size)
    assert abs(z.std() - 1) <= 4 / np.sqrt(2 * z.size)
    assert tree["log_likelihood"]["y"].shape == (4, 1000, 8)


@pytest.mark.slow
def test_hundred_thousand_groups():
    """J = 10**5: builds, samples 2 x 200 draws, recovers mu and tau, stores float32 theta."""
    import arviz as az

    data = _synthetic(10**5)
    model = hierarchical_normal_model(data, parametrization="marginal",
                                      theta_storage="float32")
    with warnings.catch_warnings():  # 400 draws: ESS below fit's 400 is expected here
        warnings.simplefilter("ignore", SamplingWarning)
        idata = fit(model, sampler="nutpie", draws=200, tune=200, chains=2,
                    random_seed=SEED, progressbar=False)
    post = idata["posterior"].to_dataset()
    assert post["theta"].shape == (2, 200, 10**5) and post["theta"].dtype == np.float32
    assert int(idata["sample_stats"]["diverging"].sum()) == 0
    assert float(idata["sample_stats"]["depth"].max()) <= 4  # two dimensions: shallow trees
    exact = hierarchical_normal_posterior(model)
    mean, se = post[["mu", "tau"]].mean(("chain", "draw")), az.mcse(post[["mu", "tau"]])
    for v in ("mu", "tau"):
        assert abs(float(mean[v]) - exact.mean(var=v)) <= 4 * float(se[v]), v
    # theta draws centre on their conditional means given each (mu, tau)
    m, s = conditional_moments(post["mu"].values[..., None], post["tau"].values[..., None],
                               np.asarray(data.y), np.asarray(data.sigma))
    z = (post["theta"].values - m) / s
    assert abs(float(z.mean())) <= 4 / np.sqrt(z.size)
