"""Prior: construction, value semantics, serialisation, validation, PyMC variables, support."""

import copy
import json
import pickle

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from pymc_hier import Prior
from pymc_hier.priors import resolve_priors


# -- construction and value semantics --------------------------------------------------------
def test_construction():
    p = Prior("HalfCauchy", beta=5)
    assert p.dist == "HalfCauchy"
    assert dict(p.params) == {"beta": 5.0}
    assert isinstance(p.params["beta"], float)
    assert p.dist_class is pm.HalfCauchy
    assert repr(p) == 'Prior("HalfCauchy", beta=5.0)'
    assert eval(repr(p)) == p


def test_array_parameters_are_stored_as_tuples():
    p = Prior("Normal", mu=np.array([0, 1, 2]), sigma=1)
    assert p.params["mu"] == (0.0, 1.0, 2.0)
    matrix = Prior("Normal", mu=[[0, 1], [2, 3]])
    assert matrix.params["mu"] == ((0.0, 1.0), (2.0, 3.0))
    assert hash(matrix) == hash(Prior("Normal", mu=((0.0, 1.0), (2.0, 3.0))))


def test_equality_and_hash_by_value():
    a = Prior("Normal", mu=0, sigma=1)
    b = Prior("Normal", sigma=1.0, mu=np.float32(0.0))  # order and number type do not matter
    assert a == b and hash(a) == hash(b)
    assert len({a, b, Prior("Normal", mu=0, sigma=2)}) == 2
    assert a != Prior("Normal", mu=0, sigma=2)
    assert a != Prior("StudentT", nu=30, mu=0, sigma=1)
    assert a != {"dist": "Normal", "mu": 0.0, "sigma": 1.0}
    assert {a: "x"}[b] == "x"


def test_dict_round_trip():
    for p in (Prior("HalfCauchy", beta=5), Prior("Uniform", lower=[0, 1], upper=[2, 3]),
              Prior("Flat"), Prior("Normal", mu=[[0, 1], [2, 3]])):
        d = p.to_dict()
        assert d["dist"] == p.dist
        assert Prior.from_dict(d) == p
        # Plain JSON in and out (for config hashes and reports).
        assert Prior.from_dict(json.loads(json.dumps(d))) == p
    assert Prior("HalfCauchy", beta=5).to_dict() == {"dist": "HalfCauchy", "beta": 5.0}


def test_from_dict_does_not_mutate_its_argument():
    d = {"dist": "HalfNormal", "sigma": 2.0}
    Prior.from_dict(d)
    assert d == {"dist": "HalfNormal", "sigma": 2.0}


def test_from_dict_needs_dist():
    with pytest.raises(ValueError, match=r"^dist: missing key"):
        Prior.from_dict({"beta": 5})


def test_pickle_and_copy():
    p = Prior("TruncatedNormal", mu=1, sigma=2, lower=0)
    for q in (pickle.loads(pickle.dumps(p)), copy.copy(p), copy.deepcopy(p)):
        assert q == p and hash(q) == hash(p)


def test_immutable():
    p = Prior("HalfCauchy", beta=5)
    with pytest.raises(AttributeError, match="immutable"):
        p.dist = "Normal"
    with pytest.raises(AttributeError, match="immutable"):
        p.extra = 1
    with pytest.raises(TypeError):
        p.params["beta"] = 1.0
    q = p.with_params(beta=2)
    assert q == Prior("HalfCauchy", beta=2) and p.params["beta"] == 5.0


# -- validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dist", "params", "message"),
    [
        ("Normall", {}, r"^dist: unknown PyMC distribution 'Normall'"),
        ("Model", {}, r"^dist: unknown PyMC distribution 'Model'"),
        ("Continuous", {}, r"^dist: unknown PyMC distribution 'Continuous'"),
        (3, {}, r"^dist: expected a distribution name"),
        ("Normal", {"mean": 0}, r"^Normal: unknown parameter 'mean' \(accepted: mu, sigma, tau\)"),
        ("HalfCauchy", {"beta": 5, "size": 3}, r"^HalfCauchy: unknown parameter 'size'"),
        ("HalfCauchy", {"beta": -5}, r"^HalfCauchy\.beta: must be > 0, got -5\.0"),
        ("HalfNormal", {"sigma": 0}, r"^HalfNormal\.sigma: must be > 0"),
        ("Normal", {"mu": 0, "sigma": [1, -1]}, r"^Normal\.sigma: must be > 0"),
        ("Exponential", {"lam": -1}, r"^Exponential\.lam: must be > 0"),
        ("Uniform", {"lower": 1, "upper": 1}, r"^Uniform: lower must be < upper"),
        ("TruncatedNormal", {"lower": 2, "upper": 0}, r"^TruncatedNormal: lower must be < upper"),
        ("Normal", {"mu": np.nan}, r"^Normal\.mu: must be finite"),
        ("Normal", {"sigma": np.inf}, r"^Normal\.sigma: must be finite"),
        ("Normal", {"mu": "zero"}, r"^Normal\.mu: expected a number"),
        ("Normal", {"mu": True}, r"^Normal\.mu: expected a number"),
        ("HalfCauchy", {}, r"^HalfCauchy: invalid parameters"),
        # Caught by PyMC's own parameter checks, run once at construction.
        ("Beta", {"mu": 1.5, "sigma": 0.1}, r"^Beta: invalid parameters .* PyMC requires"),
        ("Gamma", {"mu": -2, "sigma": 1}, r"^Gamma: invalid parameters .* PyMC requires"),
        ("Poisson", {"mu": -1}, r"^Poisson: invalid parameters .* PyMC requires mu >= 0"),
        ("Bernoulli", {"p": 2}, r"^Bernoulli: invalid parameters .* PyMC requires 0 <= p <= 1"),
    ],
)
def test_rejects_invalid(dist, params, message):
    with pytest.raises(ValueError, match=message):
        Prior(dist, **params)


# -- PyMC ------------------------------------------------------------------------------------------
# PyMC writes log(2 pi) / 2 with 14 digits, so its log densities differ from SciPy's by ~2e-9:
# comparisons use rtol=1e-8.
def test_create_variable_with_dims():
    names = list("ABCDEFGH")
    with pm.Model(coords={"school": names}) as model:
        theta = Prior("Normal", mu=1, sigma=2).create_variable("theta", dims="school")
        tau = Prior("HalfCauchy", beta=5).create_variable("tau")
    assert model.named_vars_to_dims["theta"] == ("school",)
    assert tuple(model.named_vars["theta"].shape.eval()) == (8,)
    assert "tau" not in model.named_vars_to_dims or model.named_vars_to_dims["tau"] == ()
    assert isinstance(theta.owner.op, type(pm.Normal.dist().owner.op))
    assert model.rvs_to_transforms[tau] is not None  # positive: log-transformed
    # The model's log density agrees with the prior's own.
    point = {"theta": np.linspace(-1, 3, 8), "tau_log__": np.log(2.0)}
    expected = (stats.norm(1, 2).logpdf(point["theta"]).sum()
                + stats.halfcauchy(scale=5).logpdf(2.0) + np.log(2.0))  # + log-Jacobian
    np.testing.assert_allclose(model.compile_logp()(point), expected, rtol=1e-8)


def test_building_a_prior_inside_a_model_adds_nothing():
    with pm.Model() as model:
        p = Prior("TruncatedNormal", mu=0, sigma=1, lower=0)
        p.support()
        p.logp(1.0)
    assert model.named_vars == {}


def test_create_variable_keywords_replace_parameters():
    with pm.Model() as model:
        beta = pm.Data("tau__beta", 3.0)
        Prior("HalfCauchy", beta=5).create_variable("tau", beta=beta)
    logp = model.compile_logp()({"tau_log__": 0.0})
    np.testing.assert_allclose(logp, stats.halfcauchy(scale=3).logpdf(1.0), rtol=1e-8)


def test_logp_is_pymcs_and_matches_scipy():
    # Exactly PyMC's own log density; SciPy agrees to PyMC's precision (~1e-7 relative with
    # its log-gamma terms), so the SciPy comparison uses rtol=1e-6.
    x = np.array([-3.0, 0.0, 0.5, 40.0])
    normal = Prior("Normal", mu=1, sigma=2)
    np.testing.assert_allclose(normal.logp(x),
                               pm.logp(pm.Normal.dist(mu=1.0, sigma=2.0), x).eval(), rtol=1e-14)
    np.testing.assert_allclose(normal.logp(x), stats.norm(1, 2).logpdf(x), rtol=1e-8)
    np.testing.assert_allclose(Prior("Gamma", alpha=2, beta=3).logp(x[1:]),
                               stats.gamma(2, scale=1 / 3).logpdf(x[1:]), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(Prior("Poisson", mu=3).logp([0, 2, 7]),
                               stats.poisson(3).logpmf([0, 2, 7]), rtol=1e-6)
    assert normal.logp(x).shape == (4,) and normal.logp(0.0).shape == ()


def test_logp_off_support_and_in_the_tails():
    hc = Prior("HalfCauchy", beta=5)
    assert hc.logp(-1.0) == -np.inf
    # Far tail: finite and equal to SciPy's (no underflow to -inf).
    np.testing.assert_allclose(hc.logp(1e150), stats.halfcauchy(scale=5).logpdf(1e150),
                               rtol=1e-9)
    assert np.isfinite(Prior("Normal", mu=0, sigma=1).logp(30.0))
    assert Prior("Uniform", lower=0, upper=1).logp(1.5) == -np.inf
    assert Prior("Poisson", mu=3).logp(2.5) == -np.inf


def test_label():
    assert Prior("HalfCauchy", beta=5).label() == "HalfCauchy(β=5)"
    assert Prior("Normal", mu=0, sigma=2.5).label() == "Normal(μ=0, σ=2.5)"
    assert Prior("Uniform", lower=0, upper=1e-6).label() == "Uniform(lower=0, upper=1e-06)"
    assert Prior("Normal", mu=[0, 1]).label() == "Normal(μ=[0, 1])"
    assert Prior("Flat").label() == "Flat()"


# -- support ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (("Normal", dict(mu=0, sigma=1)), (-np.inf, np.inf)),
        (("StudentT", dict(nu=3, mu=0, sigma=1)), (-np.inf, np.inf)),
        (("HalfCauchy", dict(beta=5)), (0.0, np.inf)),
        (("HalfNormal", dict(sigma=1)), (0.0, np.inf)),
        (("Exponential", dict(lam=1)), (0.0, np.inf)),
        (("Gamma", dict(alpha=2, beta=1)), (0.0, np.inf)),
        (("Beta", dict(alpha=2, beta=2)), (0.0, 1.0)),
        (("Uniform", dict(lower=-1, upper=2)), (-1.0, 2.0)),
        (("TruncatedNormal", dict(mu=0, sigma=1, lower=0)), (0.0, np.inf)),
        (("TruncatedNormal", dict(mu=0, sigma=1, upper=3)), (-np.inf, 3.0)),
        (("Pareto", dict(alpha=2, m=3)), (3.0, np.inf)),
        (("Triangular", dict(lower=0, c=1, upper=2)), (0.0, 2.0)),
        (("VonMises", dict(mu=0, kappa=1)), (-np.pi, np.pi)),
        (("Poisson", dict(mu=3)), (0.0, np.inf)),
        (("Binomial", dict(n=10, p=0.3)), (0.0, 10.0)),
        (("Geometric", dict(p=0.3)), (1.0, np.inf)),
        (("DiscreteUniform", dict(lower=1, upper=6)), (1.0, 6.0)),
    ],
    ids=lambda v: v[0] if isinstance(v[0], str) else "",
)
def test_support(spec, expected):
    dist, params = spec
    lower, upper = Prior(dist, **params).support()
    assert (lower, upper) == expected
    assert isinstance(lower, float) and isinstance(upper, float)


def test_support_agrees_with_logp():
    # Just inside the bounds the density is positive; just outside it is zero.
    for prior in (Prior("Uniform", lower=-1, upper=2), Prior("Pareto", alpha=2, m=3),
                  Prior("HalfNormal", sigma=1), Prior("Beta", alpha=2, beta=3)):
        lower, upper = prior.support()
        inside = [np.nextafter(lower, np.inf)] + ([] if np.isinf(upper) else
                                                  [np.nextafter(upper, -np.inf)])
        outside = [lower - 0.5] + ([] if np.isinf(upper) else [upper + 0.5])
        assert np.all(np.isfinite(prior.logp(inside))), prior
        assert np.all(prior.logp(outside) == -np.inf), prior


def test_support_of_array_parameters():
    lower, upper = Prior("Uniform", lower=[0, 1], upper=[2, 3]).support()
    np.testing.assert_array_equal(lower, [0.0, 1.0])
    np.testing.assert_array_equal(upper, [2.0, 3.0])
    assert not lower.flags.writeable
    lower, upper = Prior("HalfNormal", sigma=[1, 2, 3]).support()
    np.testing.assert_array_equal(lower, np.zeros(3))
    np.testing.assert_array_equal(upper, np.full(3, np.inf))


def test_support_covers():
    normal = Prior("Normal", mu=0, sigma=1)
    half = Prior("HalfNormal", sigma=1)
    unit = Prior("Uniform", lower=0, upper=1)
    assert normal.support_covers(half) and not half.support_covers(normal)
    assert half.support_covers(unit) and not unit.support_covers(half)
    assert half.support_covers(Prior("HalfCauchy", beta=5))  # equal supports cover each other
    assert Prior("HalfCauchy", beta=5).support_covers(half)
    assert not Prior("Uniform", lower=0.5, upper=2).support_covers(unit)
    with pytest.raises(ValueError, match=r"^other: expected a Prior"):
        half.support_covers((0, 1))


# -- resolve_priors ------------------------------------------------------------------------------
DEFAULTS = {"mu": Prior("Normal", mu=0, sigma=5), "tau": Prior("HalfCauchy", beta=5)}


def test_resolve_priors_merges_without_mutating():
    user = {"tau": Prior("HalfNormal", sigma=2)}
    merged = resolve_priors(user, DEFAULTS, factory="eight_schools_model")
    assert merged == {"mu": DEFAULTS["mu"], "tau": Prior("HalfNormal", sigma=2)}
    assert DEFAULTS["tau"] == Prior("HalfCauchy", beta=5)
    assert resolve_priors(None, DEFAULTS, factory="f") == DEFAULTS
    assert resolve_priors(None, DEFAULTS, factory="f") is not DEFAULTS


def test_resolve_priors_accepts_dicts():
    merged = resolve_priors({"mu": {"dist": "Normal", "mu": 1, "sigma": 2}}, DEFAULTS,
                            factory="f")
    assert merged["mu"] == Prior("Normal", mu=1, sigma=2)


def test_resolve_priors_unknown_name():
    with pytest.raises(ValueError, match=r"^priors: eight_schools_model has no parameter "
                                         r"'sigma' \(its priors: mu, tau\)"):
        resolve_priors({"sigma": Prior("HalfNormal", sigma=1)}, DEFAULTS,
                       factory="eight_schools_model")


def test_resolve_priors_rejects_non_priors():
    with pytest.raises(TypeError, match=r"^priors\['tau'\]: expected a Prior"):
        resolve_priors({"tau": 5.0}, DEFAULTS, factory="f")


@pytest.mark.parametrize("dist, params, message", [
    ("Dirichlet", {"a": [-1.0, 1.0]}, r"^Dirichlet: invalid parameters .*PyMC requires a > 0"),
    ("MvNormal", {"mu": [0.0, 0.0], "cov": [[1.0, 2.0], [2.0, 1.0]]},
     r"^MvNormal: invalid parameters .*PyMC requires posdef covariance"),
])
def test_invalid_multivariate_priors_are_refused(dist, params, message):
    with pytest.raises(ValueError, match=message):
        Prior(dist, **params)


def test_valid_multivariate_priors_are_accepted():
    assert Prior("Dirichlet", a=[1.0, 2.0]).params["a"] == (1.0, 2.0)
    Prior("MvNormal", mu=[0.0, 0.0], cov=[[1.0, 0.5], [0.5, 1.0]])


def test_priors_that_are_not_a_mapping_are_a_type_error():
    with pytest.raises(TypeError, match=r"^priors: expected a mapping of Prior by parameter "
                                        r"name, got list"):
        resolve_priors([Prior("HalfCauchy", beta=1.0)], DEFAULTS, factory="f")
