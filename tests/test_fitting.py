"""fit: provenance, reproducibility, the postprocess hook, diagnostics and their warnings."""

import dataclasses
import json
from importlib.metadata import PackageNotFoundError

import arviz_stats as azs
import numpy as np
import pymc as pm
import pytest
import xarray as xr
from conftest import FIT_SEED

import pymc_hier as ph
from pymc_hier import fitting
from pymc_hier.diagnostics import (
    THRESHOLDS,
    SamplingWarning,
    check_sampling,
    diagnostics_summary,
    sampling_problems,
)
from pymc_hier.fitting import MARKER, model_hash, provenance
from pymc_hier.spec import get_spec


def _normal_mean_model(y=(0.3, -1.2, 0.8, 2.1)):
    """A tiny hand-built model (not from a factory)."""
    with pm.Model(coords={"obs": [f"o{i}" for i in range(len(y))]}) as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        pm.Normal("y", mu, 1.0, observed=np.asarray(y), dims="obs")
    return model


def test_provenance_records_factory_priors_hashes_and_versions(eight_schools_fit):
    idata, model = eight_schools_fit
    spec = get_spec(model)
    prov = provenance(idata)
    assert prov["factory"] == "eight_schools_model"
    assert prov["factory_options"] == dict(spec.options)
    assert prov["priors"] == {k: p.to_dict() for k, p in spec.priors.items()}
    assert prov["config_hash"] == spec.config_hash()
    assert prov["data_hash"] == spec.data.fingerprint()
    assert prov["model_hash"] == model_hash(model)
    assert (prov["sampler"], prov["random_seed"], prov["random_seed_source"]) == (
        "nutpie", FIT_SEED, "given")
    assert (prov["draws"], prov["tune"], prov["chains"]) == (1000, 1000, 4)
    for pkg in ("pymc", "pytensor", "arviz", "nutpie", "numpy", "pymc_hier"):
        assert prov["versions"][pkg] not in ("", "missing"), pkg
    assert prov[MARKER] == ph.__version__
    # attrs stay netCDF-serialisable: plain strings and numbers only
    for key, value in idata.attrs.items():
        assert isinstance(value, str | int | float), key


def test_diagnostics_group_matches_arviz(eight_schools_fit):
    idata, _ = eight_schools_fit
    diag = idata["diagnostics"]
    post = idata["posterior"].to_dataset()
    xr.testing.assert_allclose(diag["rhat"].to_dataset(inherit=False), azs.rhat(post))
    xr.testing.assert_allclose(diag["ess_tail"].to_dataset(inherit=False),
                               azs.ess(post, method="tail"))
    np.testing.assert_array_equal(diag["divergences"].values,
                                  idata["sample_stats"]["diverging"].sum("draw").values)
    assert diag.attrs["max_rhat"] == pytest.approx(
        max(float(diag["rhat"][v].max()) for v in diag["rhat"].data_vars))
    assert diag.attrs["threshold_rhat"] == THRESHOLDS["rhat"]
    # this fit is clean: no threshold crossed (fit would have warned: warnings are errors)
    assert sampling_problems(diag) == []


@pytest.mark.slow  # a second nutpie compilation of the model
def test_same_seed_same_draws_nutpie_and_hook_called(eight_schools_fit):
    idata, model = eight_schools_fit
    calls = []

    def hook(tree, mdl, spec, *, random_seed):
        calls.append((mdl, random_seed))
        tree["extra"] = xr.DataTree(xr.Dataset({"seed": random_seed}))
        return tree

    spec = get_spec(model)
    family = dataclasses.replace(spec.family, postprocess=hook)  # the same model, new hook
    model = family.make(spec.data, priors=spec.priors, factory=spec.factory, **spec.options)
    again = ph.fit(model, sampler="nutpie", random_seed=FIT_SEED, progressbar=False)
    xr.testing.assert_identical(again["posterior"].to_dataset().drop_attrs(),
                                idata["posterior"].to_dataset().drop_attrs())
    assert len(calls) == 1 and calls[0][0] is model
    assert int(again["extra"]["seed"]) == calls[0][1] != FIT_SEED  # a derived stream
    assert again.attrs["postprocess"] == "eight_schools.postprocess"


def test_same_seed_same_draws_pymc_sampler_custom_model():
    model = _normal_mean_model()
    kw = dict(draws=100, tune=100, chains=2, sampler="pymc", cores=1, progressbar=False)
    fits = []
    for seed in (5, 5, 6):
        with pytest.warns(SamplingWarning, match=r"ESS < 400 for .*mu"):
            fits.append(ph.fit(model, random_seed=seed, **kw))
    a, b, c = (f["posterior"].to_dataset().drop_attrs() for f in fits)
    xr.testing.assert_identical(a, b)
    assert not a.equals(c)
    prov = provenance(fits[0])
    assert prov["factory"] == "custom" and prov["factory_options"] == {}
    assert prov["config_hash"] == model_hash(model)
    assert prov["sampler_kwargs"] == {"cores": 1}


def test_seed_none_draws_and_records_a_seed():
    model = _normal_mean_model()
    kw = dict(draws=100, tune=100, chains=2, sampler="pymc", cores=1, progressbar=False)
    with pytest.warns(SamplingWarning):
        first = ph.fit(model, random_seed=None, **kw)
    assert first.attrs["random_seed_source"] == "drawn"
    with pytest.warns(SamplingWarning):
        again = ph.fit(model, random_seed=first.attrs["random_seed"], **kw)
    xr.testing.assert_identical(first["posterior"].to_dataset().drop_attrs(),
                                again["posterior"].to_dataset().drop_attrs())


def test_model_hash_sees_data_and_structure():
    assert model_hash(_normal_mean_model()) == model_hash(_normal_mean_model())
    assert model_hash(_normal_mean_model()) != model_hash(_normal_mean_model(y=(0, 0, 0, 1)))
    schools = ph.eight_schools_model()
    assert model_hash(schools) != model_hash(ph.eight_schools_model(parametrization="centered"))
    with schools:
        pm.set_data({"sigma": np.ones(8)})
    assert model_hash(schools) != model_hash(ph.eight_schools_model())


@pytest.mark.slow
def test_centered_divergences_name_the_funnel():
    model = ph.eight_schools_model(parametrization="centered")
    with pytest.warns(SamplingWarning) as record:
        idata = ph.fit(model, sampler="nutpie", random_seed=FIT_SEED, progressbar=False)
    message = str(record[0].message)
    assert idata["diagnostics"].attrs["n_divergent"] > 0
    assert "divergent transitions (> 0)" in message
    assert "parametrization='noncentered'" in message and "funnel" in message
    assert "eight_schools_model" in message and f"seed {FIT_SEED}" in message


def _synthetic_run(*, bad=True, seed=1, chains=4, draws=500):
    """Posterior and sampler stats; with ``bad``: chains disagree for a[y] only, three
    divergences in chain 2 and a random-walk energy (low E-BFMI) in chain 0."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(chains, draws, 2))
    b = rng.normal(size=(chains, draws))
    energy = rng.normal(size=(chains, draws))
    diverging = np.zeros((chains, draws), dtype=bool)
    if bad:
        a[1:, :, 1] += np.arange(1, chains)[:, None] * 2.0
        energy[0] = np.cumsum(rng.normal(size=draws))
        diverging[2, [3, 30, 300]] = True
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "g": ["x", "y"]}
    return xr.DataTree.from_dict({
        "posterior": xr.Dataset({"a": (("chain", "draw", "g"), a),
                                 "b": (("chain", "draw"), b)}, coords=coords),
        "sample_stats": xr.Dataset({"energy": (("chain", "draw"), energy),
                                    "diverging": (("chain", "draw"), diverging)},
                                   coords={k: coords[k] for k in ("chain", "draw")}),
    })


def test_sampling_problems_name_parameters_and_thresholds():
    diag = diagnostics_summary(_synthetic_run())
    problems = sampling_problems(diag)
    text = "; ".join(problems)
    assert any(p.startswith("R-hat > 1.01 for a[y]") for p in problems)
    assert "a[x]" not in text and " b " not in text and "b (" not in text
    assert "bulk ESS < 400 for a[y]" in text
    assert any(p.startswith("3 divergent transitions (> 0) in 2000 draws") for p in problems)
    assert "E-BFMI < 0.3 for chain 0" in text and "chain 1" not in text
    assert "noncentered" not in text
    centered = "; ".join(sampling_problems(diag, parametrization="centered"))
    assert "parametrization='noncentered'" in centered
    # thresholds can be relaxed one by one
    relaxed = sampling_problems(diag, thresholds={"rhat": 10, "ess_bulk": 1, "ess_tail": 1,
                                                  "divergences": 5, "bfmi": 0.0})
    assert relaxed == []
    with pytest.raises(ValueError, match="thresholds: unknown key 'ess'"):
        sampling_problems(diag, thresholds={"ess": 1})


def test_check_sampling_warns_or_stays_quiet():
    with pytest.warns(SamplingWarning, match=r"^ctx: sampling problems: R-hat > 1.01"):
        problems = check_sampling(_synthetic_run(), context="ctx")
    assert len(problems) == 5  # R-hat, bulk ESS, tail ESS, divergences, E-BFMI
    assert check_sampling(_synthetic_run(bad=False)) == []  # no warning (warnings are errors)


def test_many_bad_elements_are_summarised():
    run = _synthetic_run()
    bad = np.random.default_rng(4).normal(size=(4, 500, 50))
    bad += np.arange(4)[:, None, None]
    run["posterior"]["c"] = xr.DataArray(bad, dims=("chain", "draw", "k"))
    text = "; ".join(sampling_problems(diagnostics_summary(run)))
    assert "c[0]" in text or "c[1]" in text
    assert "and 45 more" in text  # six named, the rest counted (50 of c + a[y])


def test_fit_rejects_bad_input():
    model = _normal_mean_model()
    with pytest.raises(ValueError, match="sampler: unknown sampler 'stan'"):
        ph.fit(model, sampler="stan", random_seed=1)
    with pytest.raises(ValueError, match="draws: expected an integer >= 1"):
        ph.fit(model, draws=0, random_seed=1)
    with pytest.raises(TypeError, match="chains: expected an integer >= 1"):
        ph.fit(model, chains=2.0, random_seed=1)
    with pytest.raises(TypeError, match="random_seed: expected an int"):
        ph.fit(model, random_seed=np.random.default_rng(1))
    with pytest.raises(TypeError, match="random_seed: expected an int"):
        ph.fit(model, random_seed=True)
    with pytest.raises(ValueError, match="random_seed: must be in"):
        ph.fit(model, random_seed=-1)
    with pytest.raises(TypeError, match="model: expected a pymc.Model"):
        ph.fit("model", random_seed=1)
    with pytest.raises(TypeError, match="random_seed"):
        ph.fit(model)  # the seed is required


def test_jax_sampler_without_jax_says_how_to_install(monkeypatch):
    def version(pkg):
        if pkg == "numpyro":
            raise PackageNotFoundError(pkg)
        return "1.0"

    monkeypatch.setattr(fitting, "version", version)
    with pytest.raises(ImportError, match=r"pip install 'pymc_hier\[jax\]'"):
        ph.fit(_normal_mean_model(), sampler="numpyro", random_seed=1)


def test_provenance_of_foreign_tree_is_an_error():
    with pytest.raises(ValueError, match="no pymc_hier provenance"):
        provenance(xr.DataTree())
    assert json.loads(json.dumps(fitting.package_versions("numpyro")))["jax"] != "missing"


def test_unknown_keyword_of_the_pymc_sampler_is_an_error():
    """pm.sample passed it to NUTS, which ignored it (issue 19, item 10)."""
    with pytest.raises(TypeError, match=r"^fit\(\) got unexpected keyword argument\(s\) 'bogus'"
                                        r" for sampler='pymc'"):
        ph.fit(_normal_mean_model(), sampler="pymc", random_seed=1, bogus=3)
    # the options of pm.sample and of PyMC's NUTS are accepted
    assert {"target_accept", "max_treedepth", "cores", "initvals", "nuts"} <= (
        fitting._pymc_options())


def test_non_finite_draws_warn_naming_the_variables():
    post = xr.Dataset({"a": (("chain", "draw"), [[1.0, np.nan, np.inf]]),
                       "b": (("chain", "draw"), [[1.0, 2.0, 3.0]])})
    tree = xr.DataTree.from_dict({"posterior": post})
    with pytest.warns(ph.InvalidDrawsWarning, match=r"^ctx: non-finite posterior draws: "
                                                    r"a \(2 of 3\); do not use them"):
        fitting._check_finite_draws(tree, "ctx")


def test_decay_rates_drifting_under_a_flat_prior_are_flagged():
    """nutpie with a HalfFlat prior on near-zero data returned alpha ~ 4e9 silently; the
    exact sampler says "improper posterior" (issue 19, item 3)."""
    from pymc_hier.decay.family import _check_drift
    from pymc_hier.spec import get_spec

    data = ph.simulate_decay(3, n_widgets=5)
    flat = ph.decay_model(data, priors={"alpha": ph.Prior("HalfFlat")})
    drifted = np.array([1e-7, 4e9])  # per second: every widget decays to nothing at 4e9
    with pytest.warns(ph.InvalidDrawsWarning, match=r"^alpha: 1 of 2 draws \(up to 4e\+09 "
                                                    r"per s\) lie where every widget"):
        _check_drift(drifted, flat, get_spec(flat))
    proper = ph.decay_model(data)  # a decaying prior: such draws are the prior's tail
    _check_drift(drifted, proper, get_spec(proper))


@pytest.mark.slow
def test_nutpie_start_failure_is_a_value_error_and_the_process_exits_cleanly():
    """nutpie raised, then the interpreter died with a segfault (exit 139) at exit, its
    worker threads still winding down (issue 19, item 6; see pymc_hier._sampler_exit)."""
    import subprocess
    import sys

    code = (
        "import pymc as pm, pymc_hier as ph\n"
        "with pm.Model() as m:\n"
        "    x = pm.Normal('x', 0, 1)\n"
        "    pm.Normal('y', x, pm.math.switch(x > -100, -1.0, 1.0), observed=[1.0])\n"
        "try:\n"
        "    ph.fit(m, draws=10, tune=10, chains=4, random_seed=1, progressbar=False)\n"
        "except ValueError as err:\n"
        "    print(err)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("model: nutpie found no starting point with a finite log "
                                  "density (at the model's initial point: y -inf)")
