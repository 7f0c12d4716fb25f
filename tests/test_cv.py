"""Leave-one-out and leave-one-group-out cross-validation: exact, PSIS and refits."""

import warnings
from concurrent.futures import ThreadPoolExecutor

import arviz_stats as azs
import numpy as np
import pymc as pm
import pytest
import xarray as xr
from scipy import integrate, stats

import pymc_hier as ph
from pymc_hier.exceptions import CrossValidationWarning
from pymc_hier.normal.pooled import logo_densities
from pymc_hier.normal.problem import resolve_schools_priors
from pymc_hier.ppc import pointwise_log_likelihood
from pymc_hier.workflow.refit import KEEP, leave_out_model

SEED = 20261204
DATA = ph.EIGHT_SCHOOLS


@pytest.fixture(scope="module")
def exact_fit():
    model = ph.eight_schools_model()
    return ph.fit(model, sampler="exact", random_seed=SEED, draws=1000), model


def _log_evidence(y, s):
    """log p(y) of eight schools' default priors by brute-force 2-D quadrature (scipy)."""
    def f(mu, t):
        tau = np.exp(t)
        return np.exp(stats.norm.logpdf(mu, 0, 5) + stats.halfcauchy.logpdf(tau, scale=5)
                      + t + stats.norm.logpdf(y, mu, np.sqrt(s**2 + tau**2)).sum() + 30)
    value, _ = integrate.dblquad(f, -12, 8, -40, 40, epsabs=0, epsrel=1e-8)
    return np.log(value) - 30


def test_exact_logo_is_a_ratio_of_evidences():
    """log p(y_A | y_-A) = log p(y) - log p(y_-A), both by an independent 2-D quadrature."""
    y, s = np.asarray(DATA.y), np.asarray(DATA.sigma)
    reference = _log_evidence(y, s) - _log_evidence(y[1:], s[1:])
    mine = logo_densities(DATA, resolve_schools_priors(None), "partial")
    assert mine[0] == pytest.approx(reference, abs=1e-6)
    # another prior: not the same numbers (the check can fail)
    other = logo_densities(DATA, resolve_schools_priors({"mu": ph.Prior("Normal", mu=20.0,
                                                                        sigma=1.0)}),
                           "partial")
    assert abs(other[0] - reference) > 0.1


@pytest.mark.slow  # about 25 s of scipy quadrature
def test_exact_logo_matches_brute_force_quadrature_for_every_school():
    y, s = np.asarray(DATA.y), np.asarray(DATA.sigma)
    full = _log_evidence(y, s)
    reference = [full - _log_evidence(np.delete(y, j), np.delete(s, j)) for j in range(8)]
    mine = logo_densities(DATA, resolve_schools_priors(None), "partial")
    np.testing.assert_allclose(mine, reference, atol=1e-6)


def test_cross_validate_uses_the_exact_answer_and_keeps_psis_beside(exact_fit):
    idata, model = exact_fit
    cv = ph.cross_validate(idata, model)
    assert cv["elpd"].dims == ("school",) and list(cv["school"].values) == list(DATA.names)
    assert (cv["source"] == "exact").all()
    exact = logo_densities(DATA, resolve_schools_priors(None), "partial")
    np.testing.assert_allclose(cv["elpd"], exact)
    assert cv.attrs["elpd"] == pytest.approx(exact.sum())
    assert cv.attrs["se"] == pytest.approx(np.sqrt(8 * np.var(exact)))
    assert 0 < cv.attrs["p"] < 3  # about one effective parameter (BDA: p_loo ~ 1)
    # PSIS against the exact answer. Measured over 10 independent sets of 4000 exact draws:
    # PSIS's Monte Carlo sd is <= 0.013 per school (0.03 for the sum) and its (optimistic)
    # bias <= 0.02 per school (0.05 for the sum), so these bounds hold with room.
    err = cv["elpd_psis"].values - exact
    assert np.all(np.abs(err) < 0.06), err
    assert abs(err.sum()) < 0.15
    # the comparison can fail: the exact answer of a wrong prior is far from PSIS
    wrong = logo_densities(DATA, resolve_schools_priors({"mu": ph.Prior("Normal", mu=20.0,
                                                                        sigma=1.0)}),
                           "partial")
    assert abs((cv["elpd_psis"].values - wrong).sum()) > 0.15


def test_cross_validate_groups_and_methods(exact_fit):
    idata, model = exact_fit
    # each school is its own group: loo and logo by school are the same points
    logo = ph.cross_validate(idata, model, by="school", method="logo")
    loo = ph.cross_validate(idata, model)
    xr.testing.assert_allclose(logo["elpd"], loo["elpd"])
    psis_only = ph.cross_validate(idata, model, exact=False, k_threshold=np.inf)
    assert (psis_only["source"] == "psis").all()
    np.testing.assert_allclose(psis_only["elpd"], loo["elpd_psis"])
    with pytest.raises(ValueError, match="by: leave-one-group-out"):
        ph.cross_validate(idata, model, method="logo")
    with pytest.raises(ValueError, match="method"):
        ph.cross_validate(idata, model, method="kfold")
    with pytest.raises(ValueError, match="by: 'county'"):
        ph.cross_validate(idata, model, by="county")
    with pytest.raises(ValueError, match="model: does not match"):
        ph.cross_validate(idata, ph.eight_schools_model(priors="bda"))
    with pytest.raises(TypeError, match="idata"):
        ph.cross_validate(idata["posterior"].to_dataset(), model)


def test_high_pareto_k_without_refits_warns(exact_fit):
    idata, model = exact_fit
    with pytest.warns(CrossValidationWarning, match="Pareto k above"):
        cv = ph.cross_validate(idata, model, exact=False, refit=False, k_threshold=0.3)
    assert (cv["source"] == "psis").all()


def test_comparing_parametrisations_of_one_model_warns(exact_fit):
    idata, model = exact_fit
    centred = ph.eight_schools_model(parametrization="centered")
    c_fit = ph.fit(centred, sampler="exact", random_seed=SEED + 1, draws=1000)
    results = {"noncentered": ph.cross_validate(idata, model),
               "centered": ph.cross_validate(c_fit, centred)}
    with pytest.warns(CrossValidationWarning, match="same model as written"):
        table = ph.compare_cv(results)
    assert set(table.index) == {"noncentered", "centered"}
    # another model on the same data: no warning
    complete = ph.eight_schools_model(pooling="complete")
    other = ph.cross_validate(ph.fit(complete, sampler="exact", random_seed=1, draws=1000),
                              complete)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CrossValidationWarning)
        table = ph.compare_cv({"partial": results["noncentered"], "complete": other})
    assert table.loc["complete", "elpd"] == pytest.approx(other.attrs["elpd"])
    with pytest.raises(ValueError, match="at least two"):
        ph.compare_cv({"one": other})


def test_leave_out_model_takes_the_left_out_likelihood_away():
    model = ph.eight_schools_model()
    masked = leave_out_model(model, "y")
    point = model.initial_point()
    full = masked.compile_logp()(point)
    keep = np.ones(8)
    keep[2] = 0.0
    masked[KEEP].set_value(keep)
    without = masked.compile_logp()(point)
    (theta,) = model.replace_rvs_by_values([model["theta"]])
    theta = model.compile_fn(theta, inputs=model.value_vars, on_unused_input="ignore")(point)
    one = stats.norm.logpdf(DATA.y[2], theta[2], DATA.sigma[2])
    assert full - without == pytest.approx(one)
    assert model["y"] not in masked.observed_RVs  # a copy: the user's model is untouched
    assert KEEP not in model.named_vars


@pytest.mark.slow  # one nutpie compile and a few refits, about 10 s
def test_refits_match_the_exact_answer(exact_fit):
    idata, model = exact_fit
    with ThreadPoolExecutor(2) as executor:
        cv = ph.cross_validate(idata, model, exact=False, k_threshold=0.5,
                               executor=executor,
                               sample_kwargs={"draws": 1000, "tune": 500, "chains": 2})
    refit = cv["source"] == "refit"
    assert refit.any() and cv.attrs["n_refits"] == int(refit.sum())
    exact = logo_densities(DATA, resolve_schools_priors(None), "partial")
    # a refit's estimate from 2000 NUTS draws: Monte Carlo sd about 0.01
    np.testing.assert_allclose(cv["elpd"].values[refit.values], exact[refit.values],
                               atol=0.05)


def _counties(seed=SEED, n_obs=60, n_groups=5):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_groups, size=n_obs)
    a = rng.normal(1.0, 0.5, size=n_groups)
    return g, rng.normal(a[g], 1.0)


def test_groups_reached_through_an_index():
    """A plain PyMC model with many observations per county: LOO summed, and LOGO."""
    g, y = _counties()
    with pm.Model(coords={"county": [f"c{k}" for k in range(5)], "obs": range(g.size)}) as m:
        gi = pm.Data("g", g, dims="obs")
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfNormal("tau", 1.0)
        a = pm.Normal("a", mu, tau, dims="county")
        pm.Normal("y", a[gi], 1.0, observed=y, dims="obs")
    rng = np.random.default_rng(SEED)
    # a posterior to cross-validate, without sampling: draws near the truth
    post = xr.Dataset({"mu": (("chain", "draw"), rng.normal(1.0, 0.2, (2, 500))),
                       "tau": (("chain", "draw"), np.abs(rng.normal(0.5, 0.1, (2, 500)))),
                       "a": (("chain", "draw", "county"),
                             rng.normal([np.mean(y[g == k]) for k in range(5)], 0.2,
                                        (2, 500, 5)))},
                      coords={"county": [f"c{k}" for k in range(5)]})
    idata = xr.DataTree.from_dict({"posterior": post})
    loo = ph.cross_validate(idata, m, by="county", refit=False, k_threshold=np.inf)
    pointwise = ph.cross_validate(idata, m, refit=False, k_threshold=np.inf)
    assert loo["elpd"].dims == ("county",) and pointwise["elpd"].dims == ("obs",)
    for k in range(5):
        assert float(loo["elpd"].sel(county=f"c{k}")) == pytest.approx(
            float(pointwise["elpd"].values[g == k].sum()))
    assert loo.attrs["elpd"] == pytest.approx(pointwise.attrs["elpd"])
    logo = ph.cross_validate(idata, m, by="county", method="logo", refit=False,
                             k_threshold=np.inf)
    assert logo["elpd"].dims == ("county",)
    # LOGO is PSIS-LOO of the county's log-likelihoods summed per draw
    ll = pointwise_log_likelihood(idata, m)["y"]
    summed = xr.concat([ll.isel(obs=np.flatnonzero(g == k)).sum("obs") for k in range(5)],
                       dim="county")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = azs.loo(xr.DataTree.from_dict({"posterior": post,
                                             "log_likelihood": xr.Dataset({"y": summed})}),
                      pointwise=True)
    np.testing.assert_allclose(logo["elpd"].values, ref.elpd_i.values)
