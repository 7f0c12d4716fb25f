"""Prior parameters found in any PyMC graph and lifted to pm.Data (sensitivity/hyper.py).

The check that matters: a lifted model with a new value has exactly the log density of
the model written with that value, for parameters PyMC stores as given and for those it
stores transformed (Gamma's and InverseGamma's beta, Exponential's lam, Normal's tau), for
plain and symbolic random variables (HalfCauchy, Weibull) and array parameters.
"""

import numpy as np
import pymc as pm
import pytest

from pymc_hier import Prior
from pymc_hier.sensitivity.hyper import find_hyperparameter, lift_hyperparameters

# distribution, its parameters as written, the parameter swept, a new value, a point
CASES = [
    ("Normal", {"mu": 1.0, "sigma": 2.0}, "sigma", 0.5, 0.3),
    ("Normal", {"mu": 1.0, "tau": 4.0}, "tau", 0.25, 0.3),
    ("Normal", {"mu": [0.0, 1.0, 2.0], "sigma": 2.0}, "mu", [1.0, -1.0, 0.5],
     [0.1, 0.2, 0.3]),
    ("HalfNormal", {"sigma": 2.0}, "sigma", 7.0, 1.3),
    ("HalfCauchy", {"beta": 5.0}, "beta", 0.5, 1.3),
    ("Gamma", {"alpha": 2.0, "beta": 3.0}, "beta", 0.2, 1.3),
    ("Gamma", {"alpha": 2, "beta": 3}, "alpha", 5.0, 1.3),
    ("InverseGamma", {"alpha": 3.0, "beta": 2.0}, "beta", 9.0, 1.3),
    ("Exponential", {"lam": 2.0}, "lam", 0.1, 1.3),
    ("StudentT", {"nu": 3.0, "mu": 0.0, "sigma": 1.0}, "nu", 30.0, -0.7),
    ("TruncatedNormal", {"mu": 0.0, "sigma": 5.0, "lower": -10.0, "upper": 10.0}, "upper",
     4.0, 1.0),
    ("Uniform", {"lower": -1.0, "upper": 2.0}, "lower", 0.5, 1.0),
    ("LogNormal", {"mu": 0.0, "sigma": 1.0}, "sigma", 0.3, 1.3),
    ("Beta", {"alpha": 2.0, "beta": 5.0}, "alpha", 0.7, 0.3),
    ("Weibull", {"alpha": 1.5, "beta": 2.0}, "beta", 0.4, 1.3),
]


def _model(dist, params):
    with pm.Model() as model:
        x = getattr(pm, dist)("x", **params)
        pm.Normal("y", x.sum(), 1.0, observed=0.5)
    return model


def _logp(model, point):
    value = model.rvs_to_values[model["x"]]
    transform = model.rvs_to_transforms.get(model["x"])
    x = np.asarray(point, dtype=float)
    if transform is not None:
        x = transform.forward(x, *model["x"].owner.inputs).eval()
    return float(model.compile_logp(mode="FAST_COMPILE")({value.name: x}))


@pytest.mark.parametrize(("dist", "params", "param", "new", "point"), CASES,
                         ids=[f"{c[0]}.{c[2]}" for c in CASES])
def test_lifted_parameter_moves_the_density_like_the_written_prior(dist, params, param, new,
                                                                   point):
    model = _model(dist, params)
    found = find_hyperparameter(model, "x", param)
    # the current value is read back in the user's parametrisation, exactly
    np.testing.assert_allclose(found.value, params[param], rtol=1e-6)
    assert found.dist == dist and found.name == f"x__{param}"
    lifted = lift_hyperparameters(model, [f"x.{param}"])
    assert _logp(lifted, point) == pytest.approx(_logp(model, point), rel=1e-6)
    lifted[f"x__{param}"].set_value(np.asarray(new, dtype=float))
    want = _model(dist, {**params, param: new})
    # PyTensor keeps constants such as 2.0 in single precision (the lifted input is double)
    assert _logp(lifted, point) == pytest.approx(_logp(want, point), rel=1e-6)
    # the check has teeth: the model with the value read as PyMC stores it (a scale for
    # beta and lam, sigma for tau) or simply another value differs
    other = np.asarray(new, dtype=float) * 1.7
    assert _logp(lifted, point) != pytest.approx(
        _logp(_model(dist, {**params, param: other.tolist()}), point), rel=1e-6)
    assert _logp(model, point) == pytest.approx(_logp(_model(dist, params), point))  # untouched


def test_refusals_name_the_parameter():
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 1.0)
        pm.Gamma("g", mu=2.0, sigma=1.0)
        pm.Normal("theta", mu, 2.0)
        pm.CustomDist("c", 1.0, logp=lambda v, a: -((v - a) ** 2),
                      dist=lambda a, size: pm.Normal.dist(a, 1.0, size=size))
        pm.Normal("y", mu, 1.0, observed=0.5)
    cases = {
        ("g", "mu"): "does not store Gamma's 'mu' on its own",
        ("theta", "mu"): "depends on the random variable\\(s\\) mu",
        ("theta", "nope"): "Normal has no parameter 'nope'",
        ("y", "sigma"): "'y' is not a free variable",
        ("c", "a"): "not a basic PyMC distribution",
    }
    for (var, param), match in cases.items():
        with pytest.raises(ValueError, match=f"param: '{var}.{param}'.*{match}"):
            find_hyperparameter(model, var, param)
    with pytest.raises(ValueError, match="expected 'var.param'"):
        lift_hyperparameters(model, ["theta"])
    lifted = lift_hyperparameters(model, ["theta.sigma"])
    with pytest.raises(ValueError, match="name.*taken"):
        lift_hyperparameters(lifted, ["theta.sigma"])


def test_lifting_keeps_initial_values_transforms_and_the_family():
    from pymc_hier import eight_schools_model
    from pymc_hier.spec import get_spec

    with pm.Model() as model:
        tau = pm.HalfNormal("tau", 2.0, initval=0.7)
        pm.Normal("y", 0.0, tau, observed=[0.1, -0.3])
    lifted = lift_hyperparameters(model, ["tau.sigma"])
    assert lifted.rvs_to_initial_values[lifted["tau"]] == 0.7
    assert model.rvs_to_initial_values[model["tau"]] == 0.7
    assert type(lifted.rvs_to_transforms[lifted["tau"]]) is type(
        model.rvs_to_transforms[model["tau"]])
    schools = eight_schools_model(priors={"tau": Prior("Gamma", alpha=2.0, beta=0.25)})
    found = find_hyperparameter(schools, "tau", "beta", hint=0.25)
    assert float(found.value) == 0.25
    lifted = lift_hyperparameters(schools, [found])
    assert get_spec(lifted).family.name == "eight_schools"
    assert float(lifted["tau__beta"].get_value()) == 0.25
