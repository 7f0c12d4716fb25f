"""Hierarchical normal / eight-schools factories: structure, validation, and MCMC vs exact.

The slow tests fit with nutpie at its default settings and compare with the exact BDA 5.4
posterior (:mod:`pymc_hier.normal.exact`) within Monte Carlo error.
"""

import warnings

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from pymc.model.transform.conditioning import remove_value_transforms

from pymc_hier import EIGHT_SCHOOLS, Prior, SchoolsData, eight_schools_model
from pymc_hier.exact import hierarchical_normal_posterior
from pymc_hier.exceptions import InfiniteMomentWarning, PriorDominatedWarning
from pymc_hier.normal.family import hierarchical_normal_model
from pymc_hier.normal.problem import PARAMETRIZATIONS, PRIOR_PRESETS
from pymc_hier.spec import get_spec

SEED = 20261124
PROBS = (0.025, 0.25, 0.5, 0.75, 0.975)
FREE = {
    "noncentered": {"mu", "tau", "theta_scaled", "theta_new_tilde"},
    "noncentered_standard": {"mu", "tau", "theta_tilde", "theta_new_tilde"},
    "centered": {"mu", "tau", "theta", "theta_new"},
}


# -- structure --------------------------------------------------------------------------------
@pytest.mark.parametrize("parametrization", PARAMETRIZATIONS)
def test_structure(parametrization):
    model = eight_schools_model(parametrization=parametrization)
    assert {v.name for v in model.free_RVs} == FREE[parametrization]
    assert [v.name for v in model.observed_RVs] == ["y"]
    assert model.coords["school"] == tuple("ABCDEFGH")
    assert model.named_vars_to_dims["theta"] == ("school",)
    assert model.named_vars_to_dims["y"] == ("school",)
    assert "theta_new" in model.named_vars and "theta_new" not in model.named_vars_to_dims
    # sigma is fixed data along the group dim (drawn as a fixed dot in the PGM)
    assert "sigma" in {d.name for d in model.data_vars}
    assert model.named_vars_to_dims["sigma"] == ("school",)
    np.testing.assert_array_equal(model["sigma"].get_value(), EIGHT_SCHOOLS.sigma)
    spec = get_spec(model)
    assert spec.factory == "eight_schools_model"
    assert spec.options["parametrization"] == parametrization
    assert spec.data is EIGHT_SCHOOLS


@pytest.mark.parametrize("parametrization", PARAMETRIZATIONS)
def test_the_log_density_checks_no_shape_at_run_time(parametrization):
    """sigma's static shape is the data's length: no SpecifyShape left in the rewritten log
    density and its gradient (compiled by Numba, it took 1.4 s of a first use)."""
    import pytensor
    from pytensor.graph.rewriting.utils import rewrite_graph
    from pytensor.graph.traversal import applys_between
    from pytensor.tensor.shape import SpecifyShape

    model = eight_schools_model(parametrization=parametrization)
    assert model["sigma"].type.shape == (8,)
    logp = model.logp()
    graph = rewrite_graph([logp, *pytensor.grad(logp, model.value_vars)],
                          include=("canonicalize", "specialize"))
    ops = [node.op for node in applys_between(model.value_vars, graph)]
    assert ops and not any(isinstance(op, SpecifyShape) for op in ops)


def test_group_dim_and_names_follow_the_data():
    data = SchoolsData(y=[1.0, 2.0, 3.0], sigma=[1.0, 1.0, 2.0], names=["x", "y", "z"],
                       dim="trial")
    model = hierarchical_normal_model(data)
    assert model.coords["trial"] == ("x", "y", "z")
    assert model.named_vars_to_dims["theta"] == ("trial",)
    assert get_spec(model).factory == "hierarchical_normal_model"


def test_presets_and_user_priors():
    spec = get_spec(eight_schools_model())
    assert dict(spec.priors) == {"mu": Prior("Normal", mu=0, sigma=5),
                                 "tau": Prior("HalfCauchy", beta=5)}
    assert dict(get_spec(eight_schools_model(priors="bda")).priors) == {
        "mu": Prior("Flat"), "tau": Prior("HalfFlat")}
    assert set(PRIOR_PRESETS) == {"default", "bda"}
    model = eight_schools_model(priors={"tau": {"dist": "HalfNormal", "sigma": 10}})
    assert get_spec(model).priors["tau"] == Prior("HalfNormal", sigma=10)
    assert get_spec(model).priors["mu"] == Prior("Normal", mu=0, sigma=5)
    # the spec rebuilds the same model
    again = get_spec(model).rebuild()
    assert get_spec(again).config_hash() == get_spec(model).config_hash()


def test_lifted_hyperparameters_are_data_and_keep_the_spec():
    from pymc_hier.sensitivity.hyper import lift_hyperparameters

    model = eight_schools_model()
    lifted = lift_hyperparameters(model, ["mu.mu", "mu.sigma", "tau.beta"])
    names = {d.name for d in lifted.data_vars}
    assert {"mu__mu", "mu__sigma", "tau__beta", "sigma"} <= names
    assert get_spec(lifted).config_hash() == get_spec(model).config_hash()
    assert float(lifted["tau__beta"].get_value()) == 5.0


def test_parametrizations_define_the_same_density():
    """log p(mu, tau, theta, theta_new, y) agrees once the Jacobians of theta are added."""
    rng = np.random.default_rng(SEED)
    sigma = np.asarray(EIGHT_SCHOOLS.sigma)
    for preset in ("default", "bda"):
        # densities of (mu, tau, ...) themselves: tau is sampled through a quantile map
        models = {p: remove_value_transforms(eight_schools_model(priors=preset,
                                                                 parametrization=p))
                  for p in PARAMETRIZATIONS}
        logps = {p: m.compile_logp(jacobian=False, mode="FAST_COMPILE")
                 for p, m in models.items()}
        for _ in range(3):
            mu, tau = rng.normal(5, 5), rng.uniform(0.5, 20)
            theta, theta_new = rng.normal(mu, tau, 8), rng.normal(mu, tau)
            ratio = np.sqrt(sigma**2 + tau**2) / sigma
            common = {"mu": mu, "tau": tau}
            centered = logps["centered"]({**common, "theta": theta, "theta_new": theta_new})
            z_new = (theta_new - mu) / tau
            scaled = logps["noncentered"]({**common, "theta_scaled": (theta - mu) * ratio / tau,
                                           "theta_new_tilde": z_new})
            standard = logps["noncentered_standard"]({**common, "theta_tilde": (theta - mu) / tau,
                                                      "theta_new_tilde": z_new})
            # density of theta = density of the raw variable / |d theta / d raw|
            np.testing.assert_allclose(scaled - np.sum(np.log(tau / ratio)) - np.log(tau),
                                       centered, rtol=1e-10)
            np.testing.assert_allclose(standard - 9 * np.log(tau), centered, rtol=1e-10)


def test_prior_predictive_draws_theta_from_normal_mu_tau():
    model = eight_schools_model()
    draws = pm.draw([model["mu"], model["tau"], model["theta"]], draws=4000,
                    random_seed=SEED, mode="FAST_COMPILE")
    mu, tau, theta = draws
    z = (theta - mu[:, None]) / tau[:, None]  # i.i.d. N(0, 1): se(mean) = n**-0.5
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    assert abs(z.std() - 1) < 4 / np.sqrt(2 * z.size)


# -- validation -------------------------------------------------------------------------------
def test_unknown_preset_and_parametrization():
    with pytest.raises(ValueError, match=r"priors: unknown preset 'flat'"):
        eight_schools_model(priors="flat")
    with pytest.raises(ValueError, match=r"parametrization: must be one of .*'non-centered'"):
        eight_schools_model(parametrization="non-centered")
    with pytest.raises(ValueError, match=r"priors: .* has no parameter 'sigma'"):
        eight_schools_model(priors={"sigma": Prior("HalfNormal", sigma=1)})
    with pytest.raises(ValueError, match=r"priors\['tau'\]: .* tau > 0"):
        eight_schools_model(priors={"tau": Prior("Normal", mu=0, sigma=1)})
    with pytest.raises(TypeError, match=r"priors: expected a preset name"):
        eight_schools_model(priors=5)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"y": [1.0, 2.0], "sigma": [1.0, 0.0]}, "sigma: must be > 0"),
        ({"y": [1.0, 2.0], "sigma": [1.0, -3.0]}, "sigma: must be > 0"),
        ({"y": [1.0, np.nan], "sigma": [1.0, 1.0]}, "y: must be finite"),
        ({"y": [1.0, 2.0, 3.0], "sigma": [1.0, 1.0]}, "mismatched lengths"),
        ({"y": [1.0, 2.0], "sigma": [1.0, 1.0], "names": ["a", "a"]}, "names: duplicate"),
        ({"y": [], "sigma": []}, "empty data"),
        ({"y": [1.0]}, "sigma: missing"),
        ({"y": [1.0], "sigma": [1.0], "se": [1.0]}, "data: unknown key"),
        (pd.DataFrame({"y": [1.0, 2.0], "sigma": [1.0, 0.0]}), "sigma: must be > 0"),
        ([1.0, 2.0], "data: expected SchoolsData"),
    ],
)
def test_bad_data_is_rejected_through_the_factory(data, field):
    with pytest.raises(ValueError, match=field):
        hierarchical_normal_model(data)


def test_mapping_data_is_accepted():
    model = hierarchical_normal_model({"y": [1.0, 2.0, 3.0], "sigma": [1.0, 2.0, 3.0],
                                       "names": ["p", "q", "r"]})
    assert model.coords["school"] == ("p", "q", "r")


def test_flat_priors_with_too_few_groups_are_improper():
    two = SchoolsData(y=[28.0, -3.0], sigma=[15.0, 16.0])
    with pytest.raises(ValueError, match=r"improper posterior with J = 2 .* J >= 3"):
        hierarchical_normal_model(two, priors="bda")
    one = SchoolsData(y=[28.0], sigma=[15.0])
    with pytest.raises(ValueError, match=r"J = 1 .* J >= 2"):
        hierarchical_normal_model(one, priors={"tau": Prior("HalfFlat")})
    hierarchical_normal_model(two, priors={"tau": Prior("HalfFlat")})  # proper mu: fine


def test_one_group_warns_that_tau_is_prior_dominated():
    with pytest.warns(PriorDominatedWarning, match="prior-dominated"):
        model = hierarchical_normal_model(SchoolsData(y=[28.0], sigma=[15.0]))
    assert model.coords["school"] == ("0",)


# -- MCMC against the exact posterior (slow) ------------------------------------------------------
def _fit(model, *, draws=1000, tune=1000, chains=4, seed=SEED):
    import nutpie

    compiled = nutpie.compile_pymc_model(model)
    return nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, seed=seed,
                         progress_bar=False)


def _assert_within_mcse(idata, exact, *, var_names, k=4.0, k_tail=5.0):
    """Posterior mean and PROBS quantiles within k MCSE of the exact values.

    Family-wise: one fit compares 10 parameters (mu, tau, 8 thetas) x 6 statistics; over the
    two presets that is 120 comparisons, and Bonferroni at a 1% family-wise error rate asks
    for |z| <= 3.9 each, hence k = 4 (the exact values carry no error: 1e-4 sd at most).
    Means are compared only where the exact posterior variance is finite (otherwise the
    MCSE of the mean does not exist: tau and theta_new with a single group).

    The 2.5% and 97.5% quantiles get k_tail = 5: their MCSE is itself estimated from the
    few draws in the tail, so their z is heavier-tailed than normal. Measured with
    ``nutpie`` on the bda preset over seeds 100-139 (4 x 1000 draws): the 360 z of the
    97.5% quantiles (theta and tau) had sd 1.05 and max |z| 4.37 (1 fit in 40 over 4);
    seed 20261124 gives 4.87 for theta_E.
    """
    import arviz as az

    post = idata["posterior"].to_dataset()[var_names]
    # infinite moments are announced, one warning per variable whose sd is infinite
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InfiniteMomentWarning)
        means, quants = exact.means(), exact.quantiles(PROBS)
        infinite = {v for v in var_names if not np.all(np.isfinite(exact.sd(var=v)))}
    warned = {str(w.message).split(":")[0] for w in caught
              if issubclass(w.category, InfiniteMomentWarning)}
    assert warned & set(var_names) == infinite, (warned, infinite)
    checks = [("mean", post.mean(("chain", "draw")), means,
               az.mcse(post, method="mean"))]
    for p in PROBS:
        checks.append((f"q{p}", post.quantile(p, dim=("chain", "draw")),
                       quants.sel(quantile=p), az.mcse(post, method="quantile", prob=p)))
    for label, mc, ref, se in checks:
        limit = k_tail if label in ("q0.025", "q0.975") else k
        for v in var_names:
            if label == "mean" and v in infinite:
                continue
            z = np.abs(np.asarray(mc[v]) - np.asarray(ref[v])) / np.asarray(se[v])
            assert np.all(z <= limit), (label, v, z.max(), np.asarray(mc[v]),
                                        np.asarray(ref[v]))


@pytest.fixture(scope="module", params=["default", "bda"])
def eight_schools_fit(request):
    model = eight_schools_model(priors=request.param)
    return request.param, _fit(model), hierarchical_normal_posterior(model)


@pytest.mark.slow
def test_default_fit_matches_exact(eight_schools_fit):
    import arviz as az

    preset, idata, exact = eight_schools_fit
    assert int(idata["sample_stats"]["diverging"].sum()) == 0, preset
    post = idata["posterior"].to_dataset()[["mu", "tau", "theta"]]
    assert float(az.ess(post, method="bulk")["tau"]) >= 1000
    rhat = az.rhat(post)
    assert max(float(rhat[v].max()) for v in rhat.data_vars) <= 1.01
    assert "theta_new" in idata["posterior"]
    _assert_within_mcse(idata, exact, var_names=["mu", "tau", "theta"])


@pytest.mark.slow
@pytest.mark.parametrize("n_groups", [1, 2])
def test_few_groups_fit_matches_exact(n_groups):
    data = SchoolsData(y=EIGHT_SCHOOLS.y[:n_groups], sigma=EIGHT_SCHOOLS.sigma[:n_groups],
                       names=EIGHT_SCHOOLS.names[:n_groups])
    if n_groups == 1:
        with pytest.warns(PriorDominatedWarning):
            model = hierarchical_normal_model(data)
        with pytest.warns(PriorDominatedWarning):
            exact = hierarchical_normal_posterior(model)
    else:
        model = hierarchical_normal_model(data)
        exact = hierarchical_normal_posterior(model)
    idata = _fit(model)
    assert int(idata["sample_stats"]["diverging"].sum()) == 0
    _assert_within_mcse(idata, exact, var_names=["mu", "tau", "theta", "theta_new"])


@pytest.mark.slow
def test_ten_thousand_groups():
    """J = 10**4 synthetic groups: builds, samples without divergences, recovers mu and tau.

    Short chains (2 x 300 after 300 tuning draws, ~20 s with compilation on 2 cores): this
    checks scale and sanity, not the full accuracy checked on eight schools.
    """
    import arviz as az

    rng = np.random.default_rng(SEED)
    n = 10**4
    sigma = rng.uniform(5, 15, n)
    y = 2.0 + 5.0 * rng.standard_normal(n) + sigma * rng.standard_normal(n)
    model = hierarchical_normal_model(SchoolsData(y=y, sigma=sigma))
    idata = _fit(model, draws=300, tune=300, chains=2)
    assert int(idata["sample_stats"]["diverging"].sum()) == 0
    post = idata["posterior"].to_dataset()[["mu", "tau"]]
    exact = hierarchical_normal_posterior(model)
    mean, se = post.mean(("chain", "draw")), az.mcse(post, method="mean")
    for v in ("mu", "tau"):
        assert abs(float(mean[v]) - exact.mean(var=v)) <= 4 * float(se[v]), v
        assert float(az.ess(post, method="bulk")[v]) >= 100, v
    # the truth (mu = 2, tau = 5) lies within 4 exact posterior sds
    assert abs(exact.mean(var="mu") - 2.0) <= 4 * exact.sd(var="mu")
    assert abs(exact.mean(var="tau") - 5.0) <= 4 * exact.sd(var="tau")
