"""``fit(sampler="exact")``: independent draws from a factory's exact posterior."""

import numpy as np
import pymc as pm
import pytest
from scipy import stats

import pymc_hier as ph
from pymc_hier.exact import decay_posterior, hierarchical_normal_posterior
from pymc_hier.fitting import provenance

SEED = 20261124


@pytest.fixture(scope="module")
def widgets():
    return ph.simulate_decay(seed=5, n_widgets=30, time_unit="day")


@pytest.mark.parametrize("t0", ["latent", "marginal", "known"])
def test_decay_exact_fit_is_the_exact_posterior(widgets, t0):
    model = ph.decay_model(widgets, t0=t0)
    tree = ph.fit(model, sampler="exact", draws=400, chains=2, random_seed=SEED)
    post = tree["posterior"].to_dataset()
    assert post["alpha"].shape == (2, 400)
    assert post["N0"].dims == ("chain", "draw", "widget")
    assert ("t0" in post) == (t0 != "known")
    assert post["alpha"].attrs["units"] == "1/day"
    meta = provenance(tree)
    assert meta["sampler"] == "exact" and meta["tune"] == 0
    assert meta["factory_options"]["t0"] == t0
    assert {"observed_data", "constant_data", "diagnostics"} <= set(tree.children)
    assert "n_measured" in tree["observed_data"] and "sigma" in tree["constant_data"]
    # per-widget draws are independent by construction and left out of the diagnostics
    assert set(tree["diagnostics"]["ess_bulk"].data_vars) == {"alpha"}
    exact = decay_posterior(widgets, t0="known" if t0 == "known" else "latent")
    assert stats.kstest(post["alpha"].values.ravel(), exact.cdf).pvalue > 1e-3
    # same seed, same draws
    again = ph.fit(model, sampler="exact", draws=400, chains=2, random_seed=SEED)
    np.testing.assert_array_equal(again["posterior"]["N0"].values, post["N0"].values)


def test_decay_exact_uses_current_hyperparameters_and_n0_max(widgets):
    """A lifted prior parameter: pm.set_data moves it and N0_max, and the fit follows."""
    from pymc_hier.sensitivity.hyper import lift_hyperparameters

    model = lift_hyperparameters(
        ph.decay_model(widgets, t0="latent",
                       priors={"alpha": ph.Prior("Gamma", alpha=2.0, beta=100.0)}),
        ["alpha.beta"])
    with model:
        pm.set_data({"alpha__beta": 10_000.0, "n0_max": 12.0})
    tree = ph.fit(model, sampler="exact", draws=500, chains=2, random_seed=SEED)
    moved = widgets._replace(n0_max=12.0)
    exact = decay_posterior(moved, t0="latent", prior=ph.Prior("Gamma", alpha=2.0,
                                                               beta=10_000.0))
    old = decay_posterior(widgets, t0="latent", prior=ph.Prior("Gamma", alpha=2.0, beta=100.0))
    assert abs(exact.mean() - old.mean()) > 5 * exact.sd()   # the change matters
    assert stats.kstest(tree["posterior"]["alpha"].values.ravel(), exact.cdf).pvalue > 1e-3
    assert tree["posterior"]["N0"].max() <= 12.0


def test_decay_exact_without_widget_draws(widgets):
    tree = ph.fit(ph.decay_model(widgets), sampler="exact", draws=1000, chains=1,
                  random_seed=SEED, var_names=["alpha"])
    assert set(tree["posterior"].data_vars) == {"alpha"}


def test_schools_exact_fit_matches_the_grid_posterior():
    model = ph.eight_schools_model()
    tree = ph.fit(model, sampler="exact", draws=500, chains=2, random_seed=SEED)
    exact = hierarchical_normal_posterior(model)
    tau = tree["posterior"]["tau"].values.ravel()
    assert stats.kstest(tau, lambda x: exact.cdf(x, var="tau")).pvalue > 1e-3
    assert provenance(tree)["factory"] == "eight_schools_model"


def test_exact_needs_a_model_it_can_compute():
    with pm.Model() as custom:
        pm.Normal("x")
    with pytest.raises(ValueError, match="sampler: 'exact'.*plain PyMC model"):
        ph.fit(custom, sampler="exact", random_seed=SEED)


@pytest.mark.parametrize("storage", ["float32", "none"])
def test_schools_exact_fit_follows_theta_storage(storage):
    model = ph.hierarchical_normal_model(ph.EIGHT_SCHOOLS, parametrization="marginal",
                                         theta_storage=storage)
    post = ph.fit(model, sampler="exact", draws=1000, chains=2,
                  random_seed=SEED)["posterior"].to_dataset()
    assert {"mu", "tau", "theta_new"} <= set(post.data_vars)
    if storage == "none":
        assert "theta" not in post
    else:
        theta = post["theta"]
        assert theta.dtype == np.float32 and theta.shape == (2, 1000, 8)
        # independent draws: each school's mean within 4 standard errors of the exact one
        exact = hierarchical_normal_posterior(ph.EIGHT_SCHOOLS)
        err = np.abs(theta.mean(("chain", "draw")).values - exact.mean(var="theta"))
        assert (err <= 4 * exact.sd(var="theta") / np.sqrt(2000)).all(), err
    with pytest.raises(ValueError, match="theta_storage: unknown value"):
        hierarchical_normal_posterior(ph.EIGHT_SCHOOLS).sample(10, 1, theta_storage="half")
