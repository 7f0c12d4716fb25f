"""Predictions for new and existing units: ArviZ's predictions groups, seeded, and checked
against the exact predictive where one exists."""

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr

import pymc_hier as ph
from pymc_hier.normal.exact import hierarchical_normal_posterior

SEED = 20261205
PROBS = np.array([0.05, 0.25, 0.5, 0.75, 0.95])


@pytest.fixture(scope="module")
def schools():
    model = ph.eight_schools_model()
    return ph.fit(model, sampler="exact", random_seed=SEED, draws=2000), model


def _within_monte_carlo_error(draws, cdf, probs=PROBS):
    """The share of independent draws below each exact quantile is q within 4 sd."""
    n = draws.size
    quantiles = [_invert(cdf, q) for q in probs]
    share = np.array([(draws <= x).mean() for x in quantiles])
    return np.abs(share - probs) < 4 * np.sqrt(probs * (1 - probs) / n), share


def _invert(cdf, q, lo=-500.0, hi=500.0):
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return 0.5 * (lo + hi)


def test_new_school_matches_the_exact_predictive(schools):
    idata, model = schools
    out = ph.predict(idata, model, {"sigma": [10.0], "names": ["I"]}, random_seed=SEED)
    y = out["predictions"]["y"].sel(school="I").values.ravel()  # 8000 independent draws
    exact = hierarchical_normal_posterior(model)
    ok, share = _within_monte_carlo_error(y, lambda v: exact.predictive_cdf(v, 10.0))
    assert ok.all(), share
    # theta_new too (sigma = 0: the effect itself)
    theta = out["predictions"]["theta"].values.ravel()
    ok, share = _within_monte_carlo_error(theta, lambda v: exact.cdf(v, var="theta_new"))
    assert ok.all(), share
    # the check can fail: the same draws against the predictive of a far less precise school
    ok, _ = _within_monte_carlo_error(y, lambda v: exact.predictive_cdf(v, 30.0))
    assert not ok.all()
    # and the density integrates to one
    grid = np.linspace(-150, 150, 6001)
    dens = np.exp(exact.predictive_logpdf(grid, 10.0))
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=1e-6)


def test_predictions_groups_are_labelled_and_reproducible(schools):
    idata, model = schools
    new = pd.DataFrame({"sigma": [10.0, 15.0]}, index=pd.Index(["I", "A"], name="school"))
    a = ph.predict(idata, model, new, random_seed=1)
    b = ph.predict(idata, model, new, random_seed=1)
    c = ph.predict(idata, model, new, random_seed=2)
    xr.testing.assert_identical(a["predictions"].to_dataset(), b["predictions"].to_dataset())
    assert not np.array_equal(a["predictions"]["y"].values, c["predictions"]["y"].values)
    pred, const = a["predictions"], a["predictions_constant_data"]
    assert pred["y"].dims == ("chain", "draw", "school")
    assert list(const["school"].values) == ["I", "A"]
    assert const["new"].values.tolist() == [True, False]
    assert a.attrs["predictions_random_seed"] == 1
    # a fitted school measured again: its own posterior effect
    np.testing.assert_array_equal(pred["theta"].sel(school="A").values,
                                  idata["posterior"]["theta"].sel(school="A").values)
    assert set(a.children) >= set(idata.children)  # the fit's groups are kept


def test_pooling_levels_predict_as_they_pool():
    complete = ph.eight_schools_model(pooling="complete")
    fit = ph.fit(complete, sampler="exact", random_seed=1, draws=500)
    out = ph.predict(fit, complete, {"sigma": [0.0]}, random_seed=1)
    np.testing.assert_array_equal(out["predictions"]["theta"].sel(school="new_0").values,
                                  fit["posterior"]["mu"].values)
    none = ph.eight_schools_model(pooling="none")
    fit = ph.fit(none, sampler="exact", random_seed=1, draws=500)
    with pytest.raises(ValueError, match="without pooling"):
        ph.predict(fit, none, {"sigma": [10.0]}, random_seed=1)
    assert ph.predict(fit, none, {"sigma": [10.0], "names": ["B"]},
                      random_seed=1)["predictions"]["y"].shape == (4, 500, 1)


def test_bad_new_data_is_refused(schools):
    idata, model = schools
    with pytest.raises(ValueError, match="sigma"):
        ph.predict(idata, model, {"sigma": [-1.0]}, random_seed=1)
    with pytest.raises(ValueError, match="new_data"):
        ph.predict(idata, model, {"se": [1.0]}, random_seed=1)
    with pytest.raises(TypeError, match="new_data"):
        ph.predict(idata, model, [1.0, 2.0], random_seed=1)
    with pytest.raises(ValueError, match="one unique name"):
        ph.predict(idata, model, {"sigma": [1.0, 2.0], "names": ["I", "I"]}, random_seed=1)
    with pytest.raises(TypeError, match="random_seed"):
        ph.predict(idata, model, {"sigma": [1.0]}, random_seed="x")


def test_a_plain_model_predicts_through_its_data():
    with pm.Model(coords={"obs": range(4)}) as model:
        x = pm.Data("x", np.arange(4.0), dims="obs")
        b = pm.Normal("b")
        pm.Normal("y", b * x, 0.1, observed=np.arange(4.0) * 0.5, dims="obs", shape=x.shape)
    post = xr.Dataset({"b": (("chain", "draw"), np.full((2, 50), 0.5))})
    idata = xr.DataTree.from_dict({"posterior": post})
    out = ph.predict(idata, model, {"x": np.array([10.0, 20.0])}, coords={"obs": [4, 5]},
                     random_seed=1)
    y = out["predictions"]["y"]
    assert list(y["obs"].values) == [4, 5]
    np.testing.assert_allclose(y.mean(("chain", "draw")), [5.0, 10.0], atol=0.05)
    np.testing.assert_array_equal(model["x"].get_value(), np.arange(4.0))  # set back
    with pytest.raises(ValueError, match="not pm.Data"):
        ph.predict(idata, model, {"z": [1.0]}, random_seed=1)
