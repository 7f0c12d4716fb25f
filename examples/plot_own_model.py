"""
Your own hierarchical model
===========================

pymc_hier is a plugin: every step works on a model you write yourself, not only on the
built-in families. This example brings three hierarchical models that pymc_hier knows
nothing about and runs each through the whole workflow — the graphical model
(:func:`pymc_hier.export_pgm`), a fit (:func:`pymc_hier.fit`), predictive checks per group
(:func:`pymc_hier.sample_predictive`, :func:`pymc_hier.ppc_table`), a prior sweep
(:func:`pymc_hier.prior_sweep`) and a report (:func:`pymc_hier.report`):

- **varying intercepts and slopes** (radon-like, simulated): many homes per county, each
  reaching its county through an integer index held as ``pm.Data``;
- the **hierarchical binomial** of the rat-tumour experiments (BDA3 chapter 5; the public
  data ship with pymc_hier);
- a **hierarchical Poisson** (simulated accident counts per site and month, with exposure).

There are two ways to bring a model. A plain ``pm.Model`` goes through every step as it
is (radon, Poisson). A :class:`pymc_hier.ModelFamily` — the function that builds the model
from data, plus what pymc_hier may ask of it — is registered once, and then also runs on
the command line and is rebuilt from a saved fit (rats).
"""

# %%
# Set-up
# ------
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pymc as pm
import xarray as xr

import pymc_hier as ph
from pymc_hier.plots.ppc import plot_ppc_intervals
from pymc_hier.plots.sweep import plot_sweep

FAST = os.environ.get("PYMC_HIER_FAST") == "1"
FIT = {"draws": 100, "tune": 100, "chains": 2} if FAST else {"draws": 500, "tune": 500,
                                                              "chains": 4}
SEED = 16
rng = np.random.default_rng(SEED)
out = Path(tempfile.mkdtemp(prefix="pymc_hier_own_"))


def quietly(step, *args, **kwargs):
    """Run a step, printing its warnings in short (the sampler's, in fast mode)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = step(*args, **kwargs)
    for w in caught:
        print(f"{w.category.__name__}: {str(w.message).splitlines()[0][:120]}")
    return result


# %%
# The same steps for any model
# ----------------------------
# Nothing below knows which model it gets: the PGM, the fit, the predictive checks per
# group, a sweep of one prior parameter (named ``"variable.parameter"`` and found in the
# model's graph) and the report.
def workflow(name, model, *, by, param, values, var_names):
    """Run every step on ``model``; return what each step made."""
    pgm = ph.export_pgm(model, out / f"{name}_pgm", formats=("svg",))
    idata = quietly(ph.fit, model, **FIT, sampler="nutpie", random_seed=SEED,
                    progressbar=False)
    idata = ph.sample_predictive(idata, model, random_seed=SEED + 1)
    table = ph.ppc_table(idata, stats=["mean", "sd"], by=by)
    sweep = quietly(ph.prior_sweep, idata, model, param=param, values=values,
                    var_names=var_names, progressbar=False,
                    fit_kwargs={**FIT, "random_seed": SEED + 2})
    report = quietly(ph.report, idata, model, out / f"{name}.html", sweep=sweep,
                     title=f"{name}: your own hierarchical model")
    return {"pgm": pgm, "idata": idata, "table": table, "sweep": sweep, "report": report}


# %%
# 1. Varying intercepts and slopes (a plain ``pm.Model``)
# --------------------------------------------------------
# Log radon in 200 homes of 12 counties, measured in the basement (``floor = 0``) or on the
# first floor (``floor = 1``): each county has its own level ``a`` and floor effect ``b``,
# drawn from population distributions. The homes reach their county through ``county_idx``.
counties = [f"county {c}" for c in "ABCDEFGHIJKL"]
county_idx = rng.integers(0, len(counties), 200)
floor = rng.integers(0, 2, 200)
a_true = 1.5 + 0.5 * rng.standard_normal(len(counties))
b_true = -0.7 + 0.2 * rng.standard_normal(len(counties))
log_radon = a_true[county_idx] + b_true[county_idx] * floor + 0.6 * rng.standard_normal(200)

with pm.Model(coords={"county": counties, "home": np.arange(200)}) as radon:
    county = pm.Data("county_idx", county_idx, dims="home")
    x = pm.Data("floor", floor, dims="home")
    mu_a, mu_b = pm.Normal("mu_a", 0.0, 5.0), pm.Normal("mu_b", 0.0, 5.0)
    sigma_a, sigma_b = pm.HalfNormal("sigma_a", 1.0), pm.HalfNormal("sigma_b", 1.0)
    a = pm.Deterministic("a", mu_a + sigma_a * pm.Normal("z_a", dims="county"),
                         dims="county")
    b = pm.Deterministic("b", mu_b + sigma_b * pm.Normal("z_b", dims="county"),
                         dims="county")
    sigma = pm.HalfNormal("sigma", 1.0)
    pm.Normal("log_radon", a[county] + b[county] * x, sigma, observed=log_radon, dims="home")

# %%
# ``by="county"`` works although each county has many homes: :func:`pymc_hier.sample_predictive`
# finds ``a[county_idx]`` in the graph and labels each home with its county.
results = {}
results["radon"] = workflow("radon", radon, by="county", param="sigma_a.sigma",
                            values=[0.02, 0.3, 1.0, 3.0], var_names=["mu_a", "sigma_a", "mu_b"])
results["radon"]["table"]["p_value"].to_pandas().round(2)

# %%
# The predictive check per county: the mean of each county's homes against the interval
# of that mean over posterior predictive draws.
fig = plot_ppc_intervals(results["radon"]["idata"], by="county")

# %%
# The sweep of the scale of ``sigma_a``'s prior: reweighted where the base fit's draws
# suffice (Pareto k-hat below 0.7), refitted with the one compiled model elsewhere.
results["radon"]["sweep"][["method", "status", "pareto_k"]].to_dataframe()

# %%
fig = plot_sweep(results["radon"]["sweep"], ["sigma_a", "mu_a"])


# %%
# 2. The rat-tumour experiments (a ``ModelFamily``)
# -------------------------------------------------
# BDA3 section 5.1: tumours in 71 groups of rats, ``y_j ~ Binomial(n_j, theta_j)`` with
# ``theta_j ~ Beta(phi * kappa, (1 - phi) * kappa)``: ``phi`` the population rate,
# ``kappa`` how tightly the experiments cluster around it. As a family, the model is a
# function of data and priors; the record says what else pymc_hier may use: default
# priors, the population parameters, the group dim, example data and a default sweep.
def rats_data() -> xr.Dataset:
    """The 71 experiments (``pymc_hier.load_dataset("rats")``) as a Dataset."""
    df = ph.load_dataset("rats")
    return xr.Dataset({"y": ("experiment", df["y"].to_numpy()),
                       "n": ("experiment", df["n"].to_numpy())},
                      coords={"experiment": df["experiment"].to_numpy()})


def build_rats(data, *, priors):
    """The hierarchical binomial model of ``data`` (a Dataset with ``y`` and ``n``)."""
    with pm.Model(coords={"experiment": data["experiment"].values}) as model:
        n = pm.Data("n", data["n"].values, dims="experiment")
        phi = priors["phi"].create_variable("phi")
        kappa = priors["kappa"].create_variable("kappa")
        theta = pm.Beta("theta", phi * kappa, (1 - phi) * kappa, dims="experiment")
        pm.Binomial("y", n, theta, observed=data["y"].values, dims="experiment")
    return model


RATS = ph.ModelFamily(
    name="rats", build=build_rats,
    default_priors={"phi": ph.Prior("Beta", alpha=1, beta=1),
                    "kappa": ph.Prior("Exponential", lam=0.02)},
    population=("phi", "kappa"), group_dim="experiment", example_data=rats_data,
    default_sweep=("kappa.lam", (0.005, 0.02, 0.1)),
    summary="tumour incidence in 71 groups of rats (BDA3 section 5.1)",
)
ph.register_family(RATS, replace=True)

# %%
# ``Exponential(lam)`` is one of the priors PyMC stores transformed (as the scale
# ``1 / lam``); the sweep still moves ``lam`` itself.
results["rats"] = workflow("rats", RATS(rats_data()), by="experiment", param="kappa.lam",
                           values=[0.005, 0.02, 0.1, 0.5], var_names=["phi", "kappa"])
results["rats"]["sweep"][["method", "status", "pareto_k"]].to_dataframe()

# %%
# One count per experiment, so the check per experiment compares each count with its
# replicates: ``p_value`` is P(y_rep >= y) (1 for the experiments without tumours, whose
# replicates can only tie or exceed; ``sd`` needs two observations and is NaN). The
# experiments with the most tumours:
table = results["rats"]["table"].sel(statistic="mean")
most = np.argsort(table["T_obs"].values)[::-1][:5]
table[["T_obs", "T_rep_mean", "p_value"]].isel(experiment=most).to_dataframe().round(2)

# %%
# A registered family runs on the command line, ``pymc-hier run rats`` (here called in
# this process, where the family is registered; an installed package offers its families
# through the ``pymc_hier.families`` entry point, and ``module:attribute`` names one
# anywhere). The saved fit rebuilds its model, so ``pymc-hier sweep`` and ``report`` work
# on it too.
from pymc_hier.cli import main  # noqa: E402

cli_args = ["run", "rats", "--out", str(out / "cli"), "--seed", "0", "--quiet",
            *(f"--{k}={v}" for k, v in FIT.items())]
status = quietly(main, cli_args)
print("exit status:", status, "files:", sorted(p.name for p in (out / "cli").iterdir()))
rebuilt = ph.model_from_fit(ph.load(out / "cli" / "idata.nc"))
print("rebuilt from the saved fit:", ph.get_spec(rebuilt).family.name)


# %%
# 3. A hierarchical Poisson (a plain ``pm.Model``)
# ------------------------------------------------
# Accidents at 8 sites over 24 months, with each month's traffic as exposure:
# ``y ~ Poisson(exposure * exp(log_rate[site]))``, ``log_rate = mu + sigma_site * z``.
# ``Gamma(alpha, beta)``, the prior of ``sigma_site``, is stored by PyMC with the scale
# ``1 / beta``; the sweep moves ``beta``.
sites = [f"site {i}" for i in range(1, 9)]
site_idx = np.repeat(np.arange(len(sites)), 24)
exposure = rng.uniform(0.5, 2.0, site_idx.size)
rate_true = np.exp(np.log(3.0) + 0.5 * rng.standard_normal(len(sites)))
accidents = rng.poisson(exposure * rate_true[site_idx])

with pm.Model(coords={"site": sites, "record": np.arange(site_idx.size)}) as poisson:
    site = pm.Data("site_idx", site_idx, dims="record")
    traffic = pm.Data("exposure", exposure, dims="record")
    mu = pm.Normal("mu", 0.0, 2.0)
    sigma_site = pm.Gamma("sigma_site", alpha=2.0, beta=4.0)
    log_rate = pm.Deterministic("log_rate", mu + sigma_site * pm.Normal("z", dims="site"),
                                dims="site")
    pm.Poisson("accidents", traffic * pm.math.exp(log_rate[site]), observed=accidents,
               dims="record")

results["poisson"] = workflow("poisson", poisson, by="site", param="sigma_site.beta",
                              values=[1.0, 4.0, 16.0, 64.0], var_names=["mu", "sigma_site"])
results["poisson"]["table"]["p_value"].to_pandas().round(2)

# %%
results["poisson"]["sweep"][["method", "status", "pareto_k"]].to_dataframe()

# %%
# The files written for each model:
for name, made in results.items():
    print(f"{name}: {made['report'].name}, {', '.join(p.name for p in made['pgm'].values())}")

# %%
# Clean up: forget the family and remove the temporary folder.
from pymc_hier.registry import unregister_family  # noqa: E402

unregister_family("rats")
shutil.rmtree(out)
