"""prior_sensitivity: which priors are scaled, k-hat, blindness, and (slow) the same
sensitivity for mu and tau whatever the parametrisation."""

import warnings

import numpy as np
import pymc as pm
import pytest
import xarray as xr

import pymc_hier as ph
from pymc_hier.exceptions import PowerScalingBlindWarning
from pymc_hier.sensitivity.power import khat_threshold, prior_sensitivity, scaled_priors

SEED = 20261124


def test_population_priors_are_scaled_for_every_parametrisation():
    for par in ("noncentered", "noncentered_standard", "centered", "marginal"):
        assert scaled_priors(ph.eight_schools_model(parametrization=par)) == ["mu", "tau"]
    assert scaled_priors(ph.decay_model(ph.simulate_decay(n_widgets=5))) == ["alpha"]


def test_plain_models_scale_their_root_priors():
    """A centred theta is conditioned on mu and tau: not a root; a non-centred offset is."""
    with pm.Model() as centred:
        mu = pm.Normal("mu")
        tau = pm.HalfNormal("tau")
        theta = pm.Normal("theta", mu, tau, shape=3)
        pm.Normal("y", theta, 1.0, observed=np.zeros(3))
    assert scaled_priors(centred) == ["mu", "tau"]
    with pm.Model() as offset:
        mu = pm.Normal("mu")
        z = pm.Normal("z", shape=3)
        pm.Normal("y", mu + z, 1.0, observed=np.zeros(3))
    assert scaled_priors(offset) == ["mu", "z"]


def _exact_fit(model, seed, draws=1000):
    """Exact i.i.d. posterior draws of the marginal eight-schools model, as a fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ph.fit(model, sampler="exact", draws=draws, chains=4, random_seed=seed,
                      var_names=["mu", "tau"])


@pytest.fixture(scope="module")
def marginal():
    return ph.eight_schools_model(parametrization="marginal")


def test_table_reports_khat_and_the_scaled_priors(marginal):
    table = prior_sensitivity(_exact_fit(marginal, SEED), marginal, var_names=["mu", "tau"])
    assert list(table.index) == ["mu", "tau"]
    assert {"prior", "likelihood", "prior_khat", "likelihood_khat", "diagnosis"} <= set(table)
    assert table.attrs["scaled_priors"] == ["mu", "tau"]
    assert table.attrs["khat_threshold"] == pytest.approx(0.7)
    assert np.all(table["prior_khat"] < 0.7) and np.all(table["prior"] > 0)
    # eight schools: the half-Cauchy(5) prior on tau matters (about 0.2)
    assert 0.1 < table.loc["tau", "prior"] < 0.35


def test_unreliable_weights_are_flagged(marginal):
    """With 40 draws the k-hat threshold is min(1 - 1/log10(40), 0.7) = 0.38; the weights'
    k-hat estimated from so few draws is flagged whenever it exceeds it."""
    assert khat_threshold(40) == pytest.approx(1 - 1 / np.log10(40))
    fit = _exact_fit(marginal, SEED, draws=10)
    table = prior_sensitivity(fit, marginal, var_names=["tau"])
    flagged = table["diagnosis"].str.startswith("unreliable")
    worst = table[["prior_khat", "likelihood_khat"]].max(axis=1)
    assert (flagged == (worst > table.attrs["khat_threshold"])).all()


def test_uniform_priors_are_invisible_and_say_so():
    """mu ~ Uniform(-50, 50): power-scaling its constant log density changes nothing; the
    warning names it and points to the sweep, and its prior sensitivity is NaN."""
    model = ph.eight_schools_model(parametrization="marginal",
                                   priors={"mu": ph.Prior("Uniform", lower=-50.0, upper=50.0)})
    rng = np.random.default_rng(SEED)
    post = xr.Dataset({"mu": (("chain", "draw"), rng.normal(8, 5, (2, 200))),
                       "tau": (("chain", "draw"), rng.gamma(2.0, 3.0, (2, 200)))})
    with pytest.warns(PowerScalingBlindWarning, match="mu.*prior_sweep"):
        table = prior_sensitivity(xr.DataTree.from_dict({"posterior": post}), model)
    assert table.attrs["blind_priors"] == ["mu"] and table.attrs["scaled_priors"] == ["tau"]
    assert np.all(np.isfinite(table["prior"]))
    flat = ph.eight_schools_model(parametrization="marginal", priors="bda")
    with pytest.warns(PowerScalingBlindWarning, match="mu, tau"):
        table = prior_sensitivity(xr.DataTree.from_dict({"posterior": post}), flat)
    assert table["prior"].isna().all()
    assert set(table["diagnosis"]) == {"prior not visible to power-scaling"}


def test_bad_input(marginal):
    fit = _exact_fit(marginal, SEED, draws=50)
    with pytest.raises(ValueError, match="prior_var_names: \\['theta'\\]"):
        prior_sensitivity(fit, marginal, prior_var_names=["theta"])
    with pytest.raises(ValueError, match="posterior"):
        prior_sensitivity(xr.DataTree(), marginal)


def _exact_sensitivities(model, draws=2000, replicates=12):
    """Mean and sd of mu's and tau's sensitivities from independent exact posterior samples."""
    names = ["mu", "tau"] if "theta" not in model.named_vars else None
    tables = []
    for i in range(replicates):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = ph.fit(model, sampler="exact", draws=draws, chains=4, random_seed=SEED + i,
                         var_names=names)
        tables.append(prior_sensitivity(fit, model, var_names=["mu", "tau"])[
            ["prior", "likelihood"]].to_numpy())
    return np.mean(tables, axis=0), np.std(tables, axis=0, ddof=1)


@pytest.mark.slow
def test_the_same_model_has_the_same_sensitivity_in_every_parametrisation(marginal):
    """Centred, non-centred (both forms) and marginal eight schools, nutpie 4 x 2000 draws:
    mu's and tau's *prior* sensitivity agrees with the exact posterior's within Monte Carlo
    error in every form (before: tau's was 2.23 centred, 0.39 non-centred). The likelihood
    sensitivity agrees among the forms that share the likelihood p(y | theta); the marginal
    form's likelihood is p(y | mu, tau), another perturbation, and it is compared with its
    own exact reference. References: 12 independent exact samples of 8000 draws scored in
    the centred and in the marginal model; an MCMC fit's error is the reference's times
    sqrt(1 + 8000 / ESS); every difference within 4.5 combined standard errors (Bonferroni
    for 16 comparisons at 1%: 3.2, and a margin for the ESS estimate)."""
    import arviz_stats as azs

    names = ["mu", "tau"]
    cols = ["prior", "likelihood"]
    references = {"centered": _exact_sensitivities(ph.eight_schools_model(
        parametrization="centered")), "marginal": _exact_sensitivities(marginal)}
    # the population priors are the same in both: so is the prior sensitivity
    ref_c, ref_m = references["centered"], references["marginal"]
    assert np.all(np.abs(ref_c[0][:, 0] - ref_m[0][:, 0])
                  < 4.5 * np.hypot(ref_c[1][:, 0], ref_m[1][:, 0]))
    for par in ("centered", "noncentered", "noncentered_standard", "marginal"):
        model = ph.eight_schools_model(parametrization=par)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the centred form diverges: that is its point
            fit = ph.fit(model, sampler="nutpie", draws=2000, random_seed=SEED,
                         progressbar=False)
        table = prior_sensitivity(fit, model, var_names=names)
        ref_mean, ref_sd = references["marginal" if par == "marginal" else "centered"]
        ess = azs.ess(fit["posterior"].to_dataset()[names]).to_array().values[:, None]
        sd = ref_sd * np.sqrt(1 + 8000 / ess)
        z = (table[cols].to_numpy() - ref_mean) / sd
        assert np.all(np.abs(z) < 4.5), (par, table[cols], ref_mean, z)
