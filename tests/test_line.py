"""The straight-line family: data checks and its exact (Gaussian) posterior."""

import numpy as np
import pytest

import pymc_hier as ph
from pymc_hier.line.exact import line_posterior

SEED = 20261202


@pytest.fixture
def data():
    return ph.simulate_line(n_points=15, seed=SEED)


def test_flat_priors_give_weighted_least_squares(data):
    flat = {"m": ph.Prior("Flat"), "b": ph.Prior("Flat")}
    post = line_posterior(data, priors=flat)
    coef, cov = np.polyfit(data.x, data.y, 1, w=1 / data.sigma_y, cov="unscaled")
    np.testing.assert_allclose(post.mean, coef, rtol=1e-10)
    np.testing.assert_allclose(post.cov, cov, rtol=1e-8)


def test_a_tight_prior_pulls_the_line_to_it(data):
    tight = {"m": ph.Prior("Normal", mu=-3.0, sigma=1e-6), "b": ph.Prior("Flat")}
    assert line_posterior(data, priors=tight).mean[0] == pytest.approx(-3.0, abs=1e-5)


def test_draws_match_the_moments_within_monte_carlo_error(data):
    model = ph.straight_line_model(data.x, data.y, data.sigma_y)
    post = ph.get_spec(model).family.exact_posterior(model, ph.get_spec(model))
    tree = post.sample(4000, 2, random_seed=SEED)
    m = tree["posterior"]["m"].values.ravel()
    se = np.sqrt(post.cov[0, 0] / m.size)
    assert abs(m.mean() - post.mean[0]) < 4 * se
    assert np.std(m) == pytest.approx(np.sqrt(post.cov[0, 0]), rel=0.05)
    # a wrong mean is caught by the same check
    assert abs(m.mean() - (post.mean[0] + 10 * se)) > 4 * se


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"x": [0, 1, 2], "y": [1, 2], "sigma_y": [1, 1, 1]}, "length"),
    ({"x": [0, 1], "y": [1, 2], "sigma_y": [1, 0]}, "sigma_y"),
    ({"x": [0], "y": [1], "sigma_y": [1]}, "at least 2"),
    ({"x": [0, np.nan], "y": [1, 2], "sigma_y": [1, 1]}, "x"),
])
def test_bad_points_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ph.straight_line_model(**kwargs)


def test_flat_priors_on_one_abscissa_are_improper():
    data = ph.LineData([1.0, 1.0, 1.0], [0.0, 1.0, 2.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="improper"):
        line_posterior(data, priors={"m": ph.Prior("Flat"), "b": ph.Prior("Flat")})
    with pytest.raises(ValueError, match="Normal or Flat"):
        line_posterior(data, priors={"m": ph.Prior("HalfNormal", sigma=1),
                                     "b": ph.Prior("Flat")})
