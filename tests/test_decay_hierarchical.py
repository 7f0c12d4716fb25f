"""One decay rate per widget (``decay_model(alpha="hierarchical")``) and decay predictions.

The change of variables of the cliff map is checked against the model written directly in
``log alpha``; the slow tests recover a simulated spread of rates and let leave-one-out
cross-validation tell one material from two.
"""

import numpy as np
import pymc as pm
import pytest

import pymc_hier as ph
from pymc_hier.decay.hierarchical import cliffs
from pymc_hier.decay.model import _widget_likelihood
from pymc_hier.spec import get_spec

SEED = 20261206


def _with_rates(rates, seed: int = SEED) -> ph.DecayData:
    """The lecture's widgets (in days) measured again with one true rate per widget."""
    base = ph.simulate_decay(seed, n_widgets=len(rates), alpha=1e-7, time_unit="day")
    rng = np.random.default_rng(seed + 1)
    rates = np.asarray(rates, dtype=float)
    n0, t0 = base.truth["n0"], base.truth["t0"]
    amount = n0 * np.exp(-rates * (base.t_measured - t0))
    return ph.DecayData(t_measured=base.t_measured,
                        n_measured=amount + base.sigma * rng.standard_normal(len(rates)),
                        sigma=base.sigma, day_start=base.day_start, day_end=base.day_end,
                        n0_max=base.n0_max, t0=t0, time_unit="day")


def test_hierarchical_rates_build_and_refuse_what_they_cannot_do():
    data = ph.simulate_decay(0, time_unit="day")
    model = ph.decay_model(data, alpha="hierarchical")
    assert {v.name for v in model.free_RVs} == {"mu_alpha", "tau_alpha", "t0", "alpha_z"}
    assert model.named_vars_to_dims["alpha"] == ("widget",)
    spec = get_spec(model)
    assert set(spec.priors) == {"mu_alpha", "tau_alpha"}
    assert spec.family.population_names(spec) == ("mu_alpha", "tau_alpha")
    with pytest.raises(ValueError, match="t0: with alpha='hierarchical'"):
        ph.decay_model(data, alpha="hierarchical", t0="marginal")
    with pytest.raises(ValueError, match="tau_alpha"):
        ph.decay_model(data, alpha="hierarchical",
                       priors={"tau_alpha": ph.Prior("Normal", mu=0, sigma=1)})
    with pytest.raises(ValueError, match="alpha: must be one of"):
        ph.decay_model(data, alpha="per_widget")
    with pytest.raises(ValueError, match="no exact posterior"):
        ph.fit(model, sampler="exact", random_seed=SEED)


def test_prior_draws_follow_the_model_as_written_not_the_sampler_graph():
    """log alpha_i ~ Normal(log mu_alpha, tau_alpha): from the description, not forward draws.

    The sampler's graph draws ``alpha_z ~ Normal(0, 1)`` through the cliff map and needs
    its potential to make the prior right; PyMC's forward sampling ignores potentials, and
    its draws fail the same test.
    """
    import xarray as xr
    from scipy import stats

    data = ph.simulate_decay(0, n_widgets=20, time_unit="day")
    model = ph.decay_model(data, alpha="hierarchical")
    out = ph.sample_predictive(xr.DataTree(), model, posterior=False, random_seed=SEED,
                               prior_draws=500)
    prior = out["prior"]
    assert {"mu_alpha", "tau_alpha", "alpha", "N0", "t0"} <= set(prior.data_vars)
    assert out["prior_predictive"]["n_measured"].shape == (1, 500, 20)

    def z(p):
        return ((np.log(p["alpha"]) - np.log(p["mu_alpha"])) / p["tau_alpha"]).values.ravel()

    assert stats.kstest(z(prior), "norm").pvalue > 1e-3   # 10,000 standard normals
    t0 = prior["t0"].values
    assert np.all((t0 >= data.day_start) & (t0 <= data.day_end))
    with pytest.warns(UserWarning, match="effect of Potentials"):
        forward = pm.sample_prior_predictive(draws=500, model=model, random_seed=SEED)["prior"]
    assert stats.kstest(z(forward), "norm").pvalue < 1e-6


def test_cliff_map_is_an_exact_change_of_variables():
    """Moving only the z's changes logp as the model written in log alpha, plus log |dl/dz|."""
    data = ph.simulate_decay(0, n_widgets=8, time_unit="day")
    model = ph.decay_model(data, alpha="hierarchical", t0="known")
    _, w, _ = cliffs(data.n_measured, data.sigma, data.n0_max)
    assert np.isfinite(w).sum() >= 3  # widgets with a sharp cliff: the map bends there
    dt = data.t_measured - data.t0
    with pm.Model(coords={"widget": np.arange(len(dt))}) as direct:
        mu, tau = pm.Data("mu", 1.0), pm.Data("tau", 1.0)
        log_alpha = pm.Normal("log_alpha", pm.math.log(mu), tau, shape=len(dt))
        _widget_likelihood("marginal", pm.math.exp(log_alpha) * dt, data.n0_max,
                           data.sigma, data.n_measured)
    direct_logp = direct.compile_logp()
    logp = model.compile_logp()
    log_alpha_out, mu_out, tau_out = model.replace_rvs_by_values(
        [pm.math.log(model["alpha"]), model["mu_alpha"], model["tau_alpha"]])
    to_log_alpha = model.compile_fn(log_alpha_out, inputs=model.value_vars,
                                    on_unused_input="ignore")
    hyper = model.compile_fn([mu_out, tau_out], inputs=model.value_vars,
                             on_unused_input="ignore")
    point = model.initial_point(random_seed=1)
    point["tau_alpha_log__"] = np.log(0.7)
    direct.set_data("mu", hyper(point)[0])
    direct.set_data("tau", hyper(point)[1])

    def both(z, *, jacobian=True):
        p = {**point, "alpha_z": z}
        log_a = to_log_alpha(p)
        eps = 1e-6  # each l_i depends on its own z_i: one shifted vector gives every slope
        slope = (to_log_alpha({**p, "alpha_z": z + eps})
                 - to_log_alpha({**p, "alpha_z": z - eps})) / (2 * eps)
        assert np.all(slope > 0)
        jac = np.sum(np.log(slope)) if jacobian else 0.0
        return logp(p), direct_logp({"log_alpha": log_a}) + jac

    rng = np.random.default_rng(SEED)
    ref_mine, ref_direct = both(np.zeros(len(dt)))
    for z in rng.normal(0, 2, size=(4, len(dt))):
        mine, expected = both(z)
        assert mine - ref_mine == pytest.approx(expected - ref_direct, abs=1e-5)
    # without the Jacobian of the map the two disagree: the check can fail
    mine, expected = both(z, jacobian=False)
    assert mine - ref_mine != pytest.approx(expected - both(np.zeros(len(dt)),
                                                            jacobian=False)[1], abs=1e-3)


def _interval_covers(draws, truth, prob=0.9):
    lo, hi = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    return (lo <= truth) & (truth <= hi)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pymc_hier.SamplingWarning")  # R-hat up to ~1.03
def test_hierarchical_rates_recover_a_simulated_spread():
    """90% intervals of 100 widgets' rates cover their true rates 90% of the time."""
    rng = np.random.default_rng(SEED)
    mu, tau = 0.03, 0.6
    rates = mu * np.exp(tau * rng.standard_normal(100))
    data = _with_rates(rates)
    model = ph.decay_model(data, alpha="hierarchical", t0="known")
    idata = ph.fit(model, random_seed=SEED, draws=1000, tune=1000, chains=4)
    post = idata["posterior"].to_dataset().stack(sample=("chain", "draw"))
    alpha = post["alpha"].transpose("sample", "widget").values
    covered = _interval_covers(alpha, rates)
    # binomial error of 100 widgets' coverage: sd 0.03
    assert abs(covered.mean() - 0.9) < 4 * np.sqrt(0.9 * 0.1 / 100), covered.mean()
    assert _interval_covers(post["tau_alpha"].values, tau)
    assert _interval_covers(post["mu_alpha"].values, mu)
    # posterior predictive draws from the graph (the cliff map's potential is in the draws)
    checked = ph.sample_predictive(idata, model, random_seed=SEED, prior=False)
    assert checked["posterior_predictive"]["n_measured"].sizes["widget"] == 100
    # the check can fail: one shared rate covers few of the widgets' rates
    shared = ph.fit(ph.decay_model(data, t0="known"), sampler="exact", random_seed=SEED,
                    draws=500, chains=2)
    one = shared["posterior"]["alpha"].values.ravel()[:, None]
    assert _interval_covers(one, rates).mean() < 0.5


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pymc_hier.CrossValidationWarning")
@pytest.mark.filterwarnings("ignore::pymc_hier.SamplingWarning")
@pytest.mark.parametrize(("materials", "preferred"), [(1, "complete"), (2, "partial")])
def test_loo_tells_one_material_from_two(materials, preferred):
    """LOO prefers one shared rate on the lecture's data, one rate per widget on two
    materials (half the widgets decaying four times faster)."""
    if materials == 1:
        data = ph.simulate_decay(0, time_unit="day")  # the lecture's widgets
    else:
        rates = np.where(np.arange(100) % 2 == 0, 0.012, 0.048)
        data = _with_rates(rates).without_t0()
    # PSIS values (refits where Pareto k is high take minutes here): the tolerance is the dse
    cmp = ph.compare_pooling(data, "decay", random_seed=SEED, draws=500, tune=500, chains=2,
                             cv_kwargs={"refit": False})
    assert list(cmp["pooling"].values) == ["complete", "partial"]
    assert cmp["rank"].sel(pooling=preferred) == 0
    other = "partial" if preferred == "complete" else "complete"
    diff, dse = float(cmp["elpd_diff"].sel(pooling=other)), float(cmp["dse"].sel(pooling=other))
    assert diff < 0
    if materials == 2:  # two materials: decisively, several standard errors
        assert -diff > 2 * dse, (diff, dse)
    else:  # one material: the spread of the log rates is near 0, the hierarchy only costs
        assert float(cmp["tau_alpha"].sel(pooling="partial", stat="upper")) < 0.2
        assert -diff < 2 * dse  # (a small margin: within Monte Carlo and LOO error)


@pytest.fixture(scope="module")
def lecture_fit():
    data = ph.simulate_decay(0, time_unit="day")
    model = ph.decay_model(data)
    return ph.fit(model, sampler="exact", random_seed=SEED, draws=1000, chains=4), model, data


def test_new_widget_predictions_match_the_exact_predictive(lecture_fit):
    """A new widget made at t0: amount = N0 exp(-alpha dt), N0 ~ U(0, N0_max) independent."""
    idata, model, data = lecture_fit
    out = ph.predict(idata, model, {"widget": ["new"], "t0": [10.0], "t_measured": [40.0],
                                    "sigma": [0.1]}, random_seed=SEED)
    amount = out["predictions"]["amount"].sel(widget="new").values.ravel()
    alpha = idata["posterior"]["alpha"].values.ravel()
    expected = data.n0_max / 2 * np.exp(-30.0 * alpha).mean()
    # E[N0] = N0_max / 2 with sd N0_max / sqrt(12): the Monte Carlo error of the mean
    mcse = amount.std() / np.sqrt(amount.size)
    assert abs(amount.mean() - expected) < 4 * mcse, (amount.mean(), expected, mcse)
    assert abs(amount.mean() - 1.1 * expected) > 4 * mcse  # the check can fail
    measured = out["predictions"]["n_measured"].values.ravel()
    assert measured.std() > amount.std()
    again = ph.predict(idata, model, {"widget": ["new"], "t0": [10.0], "t_measured": [40.0],
                                      "sigma": [0.1]}, random_seed=SEED)
    np.testing.assert_array_equal(again["predictions"]["amount"], out["predictions"]["amount"])
    const = out["predictions_constant_data"]
    assert bool(const["new"].sel(widget="new"))


def test_amount_left_in_a_fitted_widget_a_year_from_now(lecture_fit):
    idata, model, data = lecture_fit
    label = data.widget[17]
    later = float(data.t_measured[17]) + 365.0
    out = ph.predict(idata, model, {"widget": [label], "t_measured": [later]},
                     random_seed=SEED)
    pred = out["predictions"]
    post = idata["posterior"]
    expected = (post["N0"].sel(widget=label)
                * np.exp(-post["alpha"] * (later - post["t0"].sel(widget=label))))
    np.testing.assert_allclose(pred["amount"].sel(widget=label), expected)
    assert not bool(out["predictions_constant_data"]["new"].sel(widget=label))
    assert pred["amount"].attrs["long_name"] == "amount left"
    with pytest.raises(ValueError, match="manufacture day"):
        ph.predict(idata, model, {"widget": ["x"], "t_measured": [40.0]}, random_seed=SEED)
    with pytest.raises(ValueError, match="precedes the manufacture"):
        ph.predict(idata, model, {"widget": [label], "t_measured": [0.0]}, random_seed=SEED)


@pytest.mark.slow  # a Numba compile, ~30 s
def test_leave_out_decay_model_compiles_for_refits():
    """The masked likelihood of a refit fuses the decay op with the mask; Numba compiles it."""
    from pymc_hier.sensitivity.runs import cached_compile
    from pymc_hier.workflow.refit import KEEP, leave_out_model

    model = ph.decay_model(ph.simulate_decay(0, n_widgets=5, time_unit="day"))
    fresh = leave_out_model(model, "n_measured")
    compiled = cached_compile(None, lambda: fresh)
    keep = np.ones(5)
    keep[2] = 0.0
    assert compiled.with_data(**{KEEP: keep}) is not None
