"""prior_sweep takes what the other steps take: any PyMC model, or a fit and its model.

Plain PyMC models (no family) sweep a parameter found in their graph, with reweighting and
refits exactly like a family's models; settings are checked before anything is fitted;
the deprecated ``(factory, data)`` form still works, with a warning.
"""

import json

import numpy as np
import pymc as pm
import pytest
import xarray as xr
from test_sweep import DATA, as_posterior, assert_within_mcse, exact_normal, normal_mean_model

import pymc_hier as ph
from pymc_hier.sensitivity import sweep as sweep_module
from pymc_hier.sensitivity.sweep import prior_sweep

SEED = 20261202


def plain_normal_mean(**prior):
    """The conjugate normal-mean model of test_sweep, written in plain PyMC."""
    with pm.Model(coords={"school": list(DATA.names)}) as model:
        sigma = pm.Data("sigma", np.asarray(DATA.sigma), dims="school")
        mu = pm.Normal("mu", **(prior or {"mu": 0.0, "sigma": 5.0}))
        pm.Normal("y", mu, sigma, observed=np.asarray(DATA.y), dims="school")
    return model


def plain_schools(tau_sigma=5.0):
    """Eight schools in plain PyMC, non-centred, tau ~ HalfNormal(tau_sigma)."""
    with pm.Model(coords={"school": list(ph.EIGHT_SCHOOLS.names)}) as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfNormal("tau", tau_sigma)
        z = pm.Normal("z", 0.0, 1.0, dims="school")
        theta = pm.Deterministic("theta", mu + tau * z, dims="school")
        pm.Normal("y", theta, np.asarray(ph.EIGHT_SCHOOLS.sigma),
                  observed=np.asarray(ph.EIGHT_SCHOOLS.y), dims="school")
    return model


@pytest.fixture
def no_fitting(monkeypatch):
    """Fail if a sweep compiles or samples anything."""
    def refuse(*args, **kwargs):
        raise AssertionError("a sweep sampled although its settings were refused")

    for name in ("sample", "cached_compile", "exact_sample"):
        monkeypatch.setattr(sweep_module, name, refuse)


def test_plain_model_reweights_to_the_exact_posteriors(rng):
    base = as_posterior(exact_normal(0, 5), rng)
    sigmas = [2.0, 3.0, 8.0]
    ds = prior_sweep(base, plain_normal_mean(), param="mu.sigma", values=sigmas,
                     method="reweight", progressbar=False)
    assert (ds.status == "ok").all() and ds.attrs["factory"] == "custom"
    assert_within_mcse(ds, [exact_normal(0, s) for s in sigmas])
    # the same prior written with a precision: PyMC stores sigma = tau ** -0.5, the sweep
    # moves tau itself
    taus = [1 / s**2 for s in sigmas]
    by_tau = prior_sweep(base, plain_normal_mean(mu=0.0, tau=1 / 25), param="mu.tau",
                         values=taus, method="reweight", progressbar=False)
    np.testing.assert_allclose(by_tau.mu.sel(stat="mean"), ds.mu.sel(stat="mean"), rtol=1e-9)
    # a whole prior of the same distribution
    whole = prior_sweep(base, plain_normal_mean(), param="mu",
                        values=[ph.Prior("Normal", mu=1.0, sigma=4.0)], method="reweight",
                        progressbar=False)
    assert_within_mcse(whole, [exact_normal(1, 4)])


def test_settings_are_checked_before_anything_is_fitted(no_fitting, small_decay_data):
    plain = plain_schools()
    cases = [
        (plain, "tau.sigma", [1.0, -1.0], r"values: tau.sigma=-1 is outside the domain.*"
                                          r"sigma > 0"),
        (plain, "tau.sigma", [0.0], "values: tau.sigma=0"),
        (ph.eight_schools_model(), "tau.beta", [0.0], "values: tau.beta=0: .*must be > 0"),
        (ph.decay_model(small_decay_data), "n0_max", [-1.0], "values: n0_max=-1: n0_max"),
        # below the largest measurement minus 10 sigma: no initial amount can produce it
        (ph.decay_model(small_decay_data), "N0_max", [0.05],
         "values: n0_max=0.05: n_measured: .*standard deviations above n0_max=0.05"),
    ]
    for model, param, values, match in cases:
        with pytest.raises(ValueError, match=match):
            prior_sweep(model, param=param, values=values, progressbar=False)
    with pm.Model() as bounded:
        mu = pm.Uniform("mu", -10.0, 10.0)
        pm.Normal("y", mu, 1.0, observed=[1.0, 2.0])
    with pytest.raises(ValueError, match="values: mu.lower=20 .*lower <= upper"):
        prior_sweep(bounded, param="mu.lower", values=[20.0], progressbar=False)
    with pytest.raises(ValueError, match="values: mu.lower=10 gives the model a log density"):
        prior_sweep(bounded, param="mu.lower", values=[10.0], progressbar=False)


@pytest.fixture(scope="module")
def small_decay_data():
    return ph.simulate_decay(seed=5, n_widgets=12)


def test_wrong_arguments_are_type_errors():
    model = plain_normal_mean()
    for args, kwargs, match in [
        ((42,), {}, "model_or_idata: expected a pymc.Model or a fit"),
        ((model, model), {}, "model: given twice"),
        ((model,), {"model_kwargs": {}}, "model_kwargs: only with the deprecated"),
        ((model,), {"base": xr.DataTree()}, "base: pass the base fit first"),
        ((xr.DataTree(), "model"), {}, "model: expected a pymc.Model"),
        ((model,), {"executor": object()}, "executor: expected a concurrent.futures"),
    ]:
        with pytest.raises(TypeError, match=match):
            prior_sweep(*args, param="mu.sigma", values=[1.0], progressbar=False, **kwargs)


def test_deprecated_factory_form_warns_and_agrees(rng):
    base = as_posterior(exact_normal(0, 5), rng)
    kw = {"param": "mu.sigma", "values": [2.0, 8.0], "method": "reweight",
          "progressbar": False}
    with pytest.warns(DeprecationWarning, match=r"prior_sweep\(factory, data, ...\)"):
        old = prior_sweep(normal_mean_model, DATA, base=base, **kw)
    new = prior_sweep(base, normal_mean_model(DATA), **kw)
    xr.testing.assert_identical(old.mu, new.mu)


def test_a_fit_alone_rebuilds_its_model_and_internal_variables_stay_out():
    model = ph.eight_schools_model()
    idata = ph.fit(model, sampler="exact", draws=500, chains=2, random_seed=SEED)
    kw = {"param": "tau.beta", "values": [1.0, 25.0], "progressbar": False,
          "fit_kwargs": {"sampler": "exact", "draws": 200, "chains": 2, "random_seed": SEED}}
    ds = prior_sweep(idata, **kw)
    assert set(ds.data_vars) >= {"mu", "tau", "theta", "theta_new"}
    assert not {"theta_scaled", "theta_new_tilde"} & set(ds.data_vars)
    assert ds.attrs["family"] == "eight_schools"
    xr.testing.assert_equal(prior_sweep(idata, model, **kw).tau, ds.tau)
    other = ph.eight_schools_model(priors={"tau": ph.Prior("HalfCauchy", beta=1.0)})
    with pytest.raises(ValueError, match="base: fitted with another priors"):
        prior_sweep(idata, other, **kw)
    plain = idata.copy()
    plain.attrs.update(family="", factory="custom", priors=json.dumps({}))
    with pytest.raises(ValueError, match="plain PyMC model; pass the model"):
        prior_sweep(plain, **kw)


def _z_exact(sweep, var, exact_means):
    """(sweep mean - exact posterior mean) / the sweep's MCSE, per setting."""
    return ((sweep[var].sel(stat="mean").values - exact_means)
            / sweep[var].sel(stat="mcse_mean").values)


#: |z| allowed against the exact posterior: 11 comparisons (6 refits, 4 reweighted, 1
#: fresh refit) at a family-wise 1%, two-sided: norm.isf(0.01 / 2 / 11).
Z_EXACT = 3.32


@pytest.mark.slow
def test_plain_model_sweep_agrees_with_the_exact_posterior_within_mcse():
    """Reweighted and refitted settings of a plain PyMC model against the exact posterior
    of the same priors (the hierarchical normal's, by quadrature).

    Reweighting is checked where its weights are bounded: a prior scale at or below the
    base fit's (2.5 and 5 from 5). Towards a wider prior (5 -> 10) the weights have a heavy
    right tail (Pareto k 0.3-0.7) and the reweighted tau comes out low by more than its
    MCSE: (reweighted - exact) / MCSE had mean -1.4 and reached -3.7 over the seeds
    20261202-20261209, while the refits stayed within |z| 2.7 (48 comparisons). That
    setting is checked for the refits only.
    """
    from concurrent.futures import ThreadPoolExecutor

    sigmas = [2.5, 5.0, 10.0]
    kw = {"param": "tau.sigma", "values": sigmas, "var_names": ["mu", "tau"],
          "progressbar": False,
          "fit_kwargs": {"draws": 1000, "tune": 1000, "chains": 4, "random_seed": SEED}}
    model = plain_schools()
    rw = prior_sweep(model, method="reweight", **kw)
    with ThreadPoolExecutor(2) as pool:
        rf = prior_sweep(model, method="refit", executor=pool, **kw)
    assert (rf.status == "ok").all() and list(rf.method.values) == ["refit"] * 3
    bounded = np.array(sigmas) <= 5.0
    # bounded weights: a smooth tail at most; the wider prior's: a heavy one (k 0.27-0.71
    # over the seeds above)
    assert (rw.pareto_k.values[bounded] <= 0).all() and rw.pareto_k.values[2] > 0
    posts = [ph.hierarchical_normal_posterior(
        ph.EIGHT_SCHOOLS, priors={"mu": ph.Prior("Normal", mu=0.0, sigma=5.0),
                                  "tau": ph.Prior("HalfNormal", sigma=s)}) for s in sigmas]
    for var in ("mu", "tau"):
        exact = np.array([float(p.mean(var=var)) for p in posts])
        z_refit, z_reweight = _z_exact(rf, var, exact), _z_exact(rw, var, exact)
        assert (abs(z_refit) <= Z_EXACT).all(), (var, z_refit)
        assert (abs(z_reweight[bounded]) <= Z_EXACT).all(), (var, z_reweight)
    # the refits are of the swept model: a fresh model written with sigma=10 agrees too
    fresh = prior_sweep(plain_schools(10.0), method="refit",
                        **{**kw, "values": [10.0]})
    tau_10 = float(posts[2].mean(var="tau"))
    assert abs(_z_exact(fresh, "tau", tau_10)).item() <= Z_EXACT
    # the check has teeth: the reweighted tau of sigma=2.5 is far from the exact one of 10
    wrong = _z_exact(rw.isel(setting=[0]), "tau", tau_10)
    assert abs(wrong).item() > 10 * Z_EXACT, wrong


def test_cli_sweep_refuses_impossible_values_before_fitting(tmp_path, capsys, no_fitting,
                                                             small_decay_data):
    """``pymc-hier sweep idata.nc --values=-1,0``: one line, exit 2, nothing sampled."""
    from pymc_hier.cli import main

    model = ph.decay_model(small_decay_data)
    idata = ph.fit(model, sampler="exact", draws=500, chains=2, random_seed=SEED)
    ph.save(idata, tmp_path / "idata.nc")
    capsys.readouterr()
    assert main(["sweep", str(tmp_path / "idata.nc"), "--values=-1,0", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("pymc-hier: error: --values: n0_max=-1: n0_max: must be finite and > 0, "
                   "got -1.0")


def test_the_setting_equal_to_the_base_reuses_the_model_and_draws_the_same(
        small_decay_data, monkeypatch):
    from pymc_hier.sensitivity import checks
    from pymc_hier.sensitivity.settings import resolve_settings
    from pymc_hier.spec import get_spec

    model = ph.decay_model(small_decay_data)
    spec = get_spec(model)
    values = [2.0 * small_decay_data.n0_max, small_decay_data.n0_max]
    plan = resolve_settings(model, spec, "n0_max", values)
    rebuilt = checks.check_settings(model, spec, plan, start=False, built=model)
    assert rebuilt[1] is model and rebuilt[0] is not model   # only the base is reused
    assert all(m is not model for m in checks.check_settings(model, spec, plan, start=False))
    changed = ph.decay_model(small_decay_data)     # other data set since it was built
    pm.set_data({"sigma": 2.0 * np.asarray(small_decay_data.sigma)}, model=changed)
    assert all(m is not changed for m in checks.check_settings(
        changed, get_spec(changed), plan, start=False, built=changed))
    kw = dict(param="n0_max", values=values, progressbar=False,
              fit_kwargs={"sampler": "exact", "draws": 200, "chains": 2, "random_seed": SEED})
    reused = prior_sweep(model, **kw)
    original = sweep_module.check_settings
    monkeypatch.setattr(sweep_module, "check_settings",
                        lambda *a, built=None, **k: original(*a, **k))
    xr.testing.assert_identical(prior_sweep(ph.decay_model(small_decay_data), **kw), reused)


def test_an_exact_sweep_takes_the_models_its_check_built(small_decay_data, monkeypatch):
    """check_values may be what check_sweep_values returned: the sweep then builds no model
    again and draws the same numbers as a sweep that checks (and builds) them itself."""
    from pymc_hier import family as family_module
    from pymc_hier.cli_inputs import check_sweep_values

    model = ph.decay_model(small_decay_data)
    kw = {"param": "n0_max", "values": [9.0, 12.0], "progressbar": False,
          "fit_kwargs": {"sampler": "exact", "draws": 100, "chains": 2, "random_seed": 3}}
    itself = prior_sweep(model, **kw)
    built = check_sweep_values(model, "n0_max", kw["values"], sampler="exact")
    assert len(built) == 2 and all(isinstance(m, pm.Model) for m in built)

    def refuse(*args, **kwargs):
        raise AssertionError("a model was built again")

    monkeypatch.setattr(family_module.ModelFamily, "make", refuse)
    reused = prior_sweep(model, check_values=built, **kw)
    xr.testing.assert_identical(reused, itself)
    with pytest.raises(ValueError, match=r"check_values: expected True, False or one model "
                                         r"per setting \(2\), got 1 items"):
        prior_sweep(model, check_values=built[:1], **kw)
