"""Simulation-based calibration: the result, its independence of executors, and (slow) the
exact samplers, every sampler parametrisation and a deliberately wrong model against it."""

import json
import warnings
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pymc as pm
import pytest
import xarray as xr

import pymc_hier as ph
from pymc_hier.exceptions import SamplingWarning
from pymc_hier.sensitivity.sbc_fits import (
    _Compiled,
    _signature,
    observe_plain,
    thin_and_rank,
    updatable_copy,
)

SEED = 20261124


def _sbc(model, **kwargs):
    kwargs.setdefault("random_seed", SEED)
    kwargs.setdefault("progressbar", False)
    return ph.sbc(model, **kwargs)


def _small_decay():
    """10 widgets made over 10 days, measured 2 weeks to 3 months later (days)."""
    return ph.simulate_decay(seed=3, n_widgets=10, manufacture_days=10, time_unit="day")


#: The prior the issue's prior-drawn data came from: alpha ~ Gamma(4, rate 100) per day.
GAMMA_PRIOR = {"alpha": ph.Prior("Gamma", alpha=4.0, beta=100.0)}


def _uniform(result, level=0.01):
    """Every parameter's ECDF and chi-square tests pass at a family-wise ``level``."""
    bound = level / (2 * result.attrs["n_tests"])
    return (result.attrs["min_ecdf_pvalue"] > bound and result.attrs["min_chi2_pvalue"] > bound
            and result.attrs["n_failed"] == 0)


# -- the result -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def schools_exact():
    return _sbc(ph.eight_schools_model(), n_sims=40, draws=39, sampler="exact")


def test_result_is_labelled(schools_exact):
    r = schools_exact
    assert r["rank"].dims == ("simulation", "parameter") and r.sizes["simulation"] == 40
    assert json.loads(r.attrs["variables"]) == ["mu", "tau", "theta", "theta_new"]
    labels = list(r["parameter"].values)
    assert labels[:3] == ["mu", "tau", "theta[A]"] and labels[-1] == "theta_new"
    assert r["variable"].sel(parameter="theta[C]").item() == "theta"
    assert r["element"].sel(parameter="theta[C]").item() == "C"
    assert int(r["rank"].min()) >= 0 and int(r["rank"].max()) <= 39
    for name in ("chi2_pvalue", "ecdf_pvalue"):
        assert r[name].dims == ("parameter",) and np.all((r[name] > 0) & (r[name] <= 1))
    assert r["ecdf_difference"].dims == ("parameter", "ecdf_point")
    assert r.attrs["sampler"] == "exact" and r.attrs["random_seed"] == SEED
    assert r.attrs["n_failed"] == 0 and set(r["error"].values) == {""}
    # internal variables of the parametrisation are not ranked
    assert "theta_scaled" not in r["variable"].values
    # the reference values are the prior draws: tau > 0; the simulated data are kept
    assert np.all(r["reference"].sel(parameter="tau") > 0)
    assert r["simulated_y"].dims == ("simulation", "school")
    assert r["simulated_y"].shape == (40, 8) and np.all(np.isfinite(r["simulated_y"]))


def test_results_depend_on_the_seed_not_on_executors_or_chunks(schools_exact):
    again = _sbc(ph.eight_schools_model(), n_sims=40, draws=39, sampler="exact")
    xr.testing.assert_equal(again["rank"], schools_exact["rank"])
    with ThreadPoolExecutor(2) as pool:
        threaded = _sbc(ph.eight_schools_model(), n_sims=40, draws=39, sampler="exact",
                        executor=pool, chunksize=7)
    xr.testing.assert_equal(threaded["rank"], schools_exact["rank"])
    other = _sbc(ph.eight_schools_model(), n_sims=40, draws=39, sampler="exact",
                 random_seed=SEED + 1)
    assert not np.array_equal(other["rank"].values, schools_exact["rank"].values)


def test_a_family_is_fitted_on_its_example_data():
    r = _sbc(ph.EIGHT_SCHOOLS_FAMILY, n_sims=5, draws=9, sampler="exact", var_names="tau")
    assert list(r["parameter"].values) == ["tau"] and r.attrs["family"] == "eight_schools"


def test_plot_sbc(schools_exact):
    import matplotlib

    from pymc_hier.plots.sbc import plot_sbc

    fig = plot_sbc(schools_exact, var_names=["tau", "theta"])
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2
    assert visible[1].get_title().startswith("theta (8 elements")
    assert len(visible[1].lines) == 8 + 1     # one line per school and the zero line
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match="nope"):
        plot_sbc(schools_exact, var_names="nope")


# -- pieces ----------------------------------------------------------------------------
def test_thin_and_rank_counts_draws_below_and_breaks_ties(rng):
    draws = np.arange(100.0).reshape(2, 50)        # chain 0: 0..49, chain 1: 50..99
    post = xr.Dataset({"x": (("chain", "draw"), draws)})
    ranks, thin = thin_and_rank(post, {"x": np.array(30.5)}, ["x"], 100, rng)
    assert ranks["x"] == 31 and thin == 1
    # thinned to the ESS: every 4th draw of each chain, 10 of those chosen
    ranks, thin = thin_and_rank(post, {"x": np.array(1000.0)}, ["x"], 10, rng, ess=25.0)
    assert ranks["x"] == 10 and thin == 10
    # a reference equal to draws gets a uniform rank among the ties
    tied = xr.Dataset({"x": (("chain", "draw"), np.zeros((1, 9)))})
    got = [int(thin_and_rank(tied, {"x": np.array(0.0)}, ["x"], 9, rng)[0]["x"])
           for _ in range(2000)]
    counts = np.bincount(got, minlength=10)
    assert counts.min() > 120 and counts.max() < 290   # 200 expected each, +-6 sd


def _plain_normal(y):
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 2.0)
        pm.Normal("y", mu, 1.0, observed=y)
    return model


def test_a_plain_model_is_copied_with_new_observations():
    model = _plain_normal(np.zeros(4))
    copy = observe_plain(model, {"y": np.arange(4.0)})
    np.testing.assert_array_equal(copy.rvs_to_values[copy["y"]].data, np.arange(4.0))
    np.testing.assert_array_equal(model.rvs_to_values[model["y"]].data, np.zeros(4))
    logp = copy.compile_logp()({"mu": 1.0})
    expected = pm.logp(pm.Normal.dist(0, 2), 1.0).eval() + pm.logp(
        pm.Normal.dist(1.0, 1.0), np.arange(4.0)).eval().sum()
    assert logp == pytest.approx(expected)


@pytest.mark.parametrize("options", [{}, {"n0": "latent"}, {"t0": "marginal"}])
def test_replicates_differing_only_in_data_share_one_compiled_sampler(options):
    """The updatable copy computes the model's log density, and a replicate on other
    simulated data needs only new shared values; another prior needs a new compile."""
    data = _small_decay()
    model = ph.decay_model(data, priors=GAMMA_PRIOR, **options)
    copy = updatable_copy(model)
    point = model.initial_point()
    assert copy.compile_logp()(point) == pytest.approx(model.compile_logp()(point), rel=1e-12)
    simulated = ph.DECAY.data_with_observed(data, {"n_measured": data.n_measured * 0.9})
    other = updatable_copy(ph.decay_model(simulated, priors=GAMMA_PRIOR, **options))
    # a stand-in for nutpie's compiled model: it knows the copy's shared variables
    signature = _signature(copy)
    compiled = _Compiled(SimpleNamespace(shared_var_keys={v: v.name for v in signature[2]}),
                         signature)
    updates = compiled.updates_for(other)
    assert updates is not None
    np.testing.assert_allclose(updates["n_measured__sbc_observed"], data.n_measured * 0.9)
    wider = updatable_copy(ph.decay_model(
        data, priors={"alpha": ph.Prior("Gamma", alpha=2.0, beta=50.0)}, **options))
    assert compiled.updates_for(wider) is None


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"sampler": "gibbs"}, ValueError, "sampler: unknown"),
    ({"n_sims": 1}, ValueError, "n_sims"),
    ({"draws": 2.5}, TypeError, "draws"),
    ({"var_names": ["nope"]}, ValueError, "var_names: \\['nope'\\]"),
    ({"var_names": ["theta_scaled"], "sampler": "exact"}, ValueError, "cannot be ranked"),
    ({"data": ph.EIGHT_SCHOOLS}, ValueError, "data: only with a ModelFamily"),
    ({"simulate_from": "model"}, TypeError, "simulate_from"),
])
def test_bad_input(kwargs, error, match):
    kwargs = {"n_sims": 3, "draws": 9, "sampler": "exact", **kwargs}
    with pytest.raises(error, match=match):
        _sbc(ph.eight_schools_model(), **kwargs)


def test_exact_needs_a_family_and_a_model_needs_observations():
    with pytest.raises(ValueError, match="exact"):
        _sbc(_plain_normal(np.zeros(3)), n_sims=3, draws=9, sampler="exact")
    with pm.Model() as empty:
        pm.Normal("x")
    with pytest.raises(ValueError, match="no observed"):
        _sbc(empty, n_sims=3, draws=9)
    with pytest.raises(TypeError, match="model_or_family"):
        _sbc("eight schools", n_sims=3, draws=9)


def test_failed_fits_are_reported_and_left_out():
    """A data set the family refuses (here: every simulated measurement made impossible by
    a with_observed that scales them far above n0_max) fails its fit; sbc says so."""
    import dataclasses

    broken = dataclasses.replace(
        ph.DECAY, name="decay_broken_test",
        with_observed=lambda data, obs: data._replace(n_measured=obs["n_measured"] + 1e3))
    model = broken(_small_decay(), priors=GAMMA_PRIOR)
    with pytest.warns(SamplingWarning, match="3 of 3 fits failed"):
        r = _sbc(model, n_sims=3, draws=9, sampler="exact")
    assert r.attrs["n_failed"] == 3 and np.all(r["rank"] == -1)
    assert "n_measured" in r["error"].values[0] and "ecdf_pvalue" not in r


# -- calibration (slow) --------------------------------------------------------------------
@pytest.mark.slow
def test_exact_sbc_of_eight_schools_is_uniform_and_a_wrong_prior_fails():
    """300 replicates of the exact sampler are uniform for every parameter; fitting with
    tau's prior scale halved (the data simulated with the model's own) fails the same test
    for tau, by a wide margin."""
    model = ph.eight_schools_model()
    right = _sbc(model, n_sims=300, draws=99, sampler="exact")
    assert _uniform(right), right[["ecdf_pvalue", "chi2_pvalue"]].to_dataframe()
    wrong = _sbc(ph.eight_schools_model(priors={"tau": ph.Prior("HalfCauchy", beta=2.5)}),
                 n_sims=300, draws=99, sampler="exact", simulate_from=model)
    assert not _uniform(wrong)
    # the ECDF p-value is at its floor (1 / 4001 null simulations)
    assert wrong["ecdf_pvalue"].sel(parameter="tau") < 1e-3
    assert wrong["chi2_pvalue"].sel(parameter="tau") < 1e-3


@pytest.mark.slow
def test_exact_sbc_of_the_decay_model_is_uniform():
    """The default decay model (t0 latent, N0 integrated) on 10 widgets with the issue's
    prior (alpha ~ Gamma(4, rate 100) per day): 300 exact replicates uniform for alpha and
    every widget's t0."""
    model = ph.decay_model(_small_decay(), priors=GAMMA_PRIOR)
    result = _sbc(model, n_sims=300, draws=99, sampler="exact")
    assert _uniform(result), result[["ecdf_pvalue", "chi2_pvalue"]].to_dataframe()
    assert list(result["variable"].values[:2]) == ["alpha", "t0"]


NUTPIE_CASES = [
    pytest.param(lambda: ph.eight_schools_model(), 100, id="schools-noncentered"),
    pytest.param(lambda: ph.eight_schools_model(parametrization="noncentered_standard"), 30,
                 id="schools-noncentered_standard"),
    pytest.param(lambda: ph.eight_schools_model(parametrization="centered"), 30,
                 id="schools-centered"),
    pytest.param(lambda: ph.eight_schools_model(parametrization="marginal"), 30,
                 id="schools-marginal"),
    pytest.param(lambda: ph.decay_model(_small_decay(), priors=GAMMA_PRIOR), 50,
                 id="decay-latent-marginal"),
    pytest.param(lambda: ph.decay_model(_small_decay(), priors=GAMMA_PRIOR, n0="latent"), 20,
                 id="decay-latent-latent"),
    pytest.param(lambda: ph.decay_model(_small_decay(), priors=GAMMA_PRIOR, t0="known"), 20,
                 id="decay-known-marginal"),
    pytest.param(lambda: ph.decay_model(_small_decay(), priors=GAMMA_PRIOR, t0="known",
                                        n0="latent"), 20, id="decay-known-latent"),
    pytest.param(lambda: ph.decay_model(_small_decay(), priors=GAMMA_PRIOR, t0="marginal"), 20,
                 id="decay-marginal"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("make", "n_sims"), NUTPIE_CASES)
def test_nutpie_sbc_of_every_parametrisation_is_uniform(make, n_sims):
    """nutpie (2 chains, default tuning) on small data drawn from the prior: ranks uniform
    for every parametrisation (family-wise 1%, the exact samplers' test above). The decay
    data sets are the issue's prior-drawn ones (alpha ~ Gamma(4, rate 100) per day); the
    parametrisations that are the defaults also stay clean: not one divergent fit."""
    model = make()
    options = ph.get_spec(model).options
    default = options.get("parametrization", "noncentered") == "noncentered" and \
        options.get("t0", "latent") == "latent" and options.get("n0", "marginal") == "marginal"
    with warnings.catch_warnings():
        if not default:  # the textbook and centred forms do diverge on weak data
            warnings.simplefilter("ignore", SamplingWarning)
        result = _sbc(model, n_sims=n_sims, draws=49 if n_sims >= 50 else 19,
                      sampler="nutpie", tune=500)
    assert _uniform(result), result[["ecdf_pvalue", "chi2_pvalue"]].to_dataframe()
    if default:   # (a divergent fit would have raised a SamplingWarning already)
        assert result.attrs["n_divergent_fits"] == 0, result["divergences"].values
        # ranks among near-independent draws: the ESS reached the draws ranked
        assert result.attrs["thin_short"] <= n_sims // 10
