"""
Eight schools: centered vs noncentered, divergences and the funnel
==================================================================

Eight high schools each ran a coaching programme for the SAT-V and reported an estimated
effect ``y_j`` with a known standard error ``sigma_j`` (*Bayesian Data Analysis*, section
5.5). The hierarchical normal model shares strength between them::

    y_j     ~ Normal(theta_j, sigma_j)
    theta_j ~ Normal(mu, tau)

It can be written in ways that define the same posterior. The *centered* form samples
``theta`` directly; the *noncentered* form (the default) samples rescaled effects and
computes ``theta`` from them. With data this weak the centered form has a funnel between
``tau`` and ``theta`` that NUTS cannot explore, and it says so with divergent transitions.
"""

# %%
# Set-up
# ------
# Seeds are fixed and the sampler is named on every call: PyMC 6 would otherwise pick
# nutpie by itself when it is installed, and the same seed gives other draws on another
# sampler. ``PYMC_HIER_FAST=1`` (used by the test suite) shrinks the draw counts.
import os
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import pymc_hier as ph
from pymc_hier.diagnostics import SamplingWarning

FAST = os.environ.get("PYMC_HIER_FAST") == "1"
DRAWS, TUNE, CHAINS = (60, 60, 2) if FAST else (500, 500, 2)
SEED = 8

data = ph.EIGHT_SCHOOLS
data.to_dataframe()

# %%
# Two parametrizations of one model
# ---------------------------------
# :func:`pymc_hier.eight_schools_model` builds either form; the default priors are
# ``mu ~ Normal(0, 5)`` and ``tau ~ HalfCauchy(5)``. (A third form,
# ``parametrization="noncentered_standard"``, is the textbook ``theta = mu + tau *
# theta_tilde``; the default rescales by the conditional posterior sd instead, which also
# removes the inverted funnel at large ``tau``.)
models = {
    "centered": ph.eight_schools_model(data, parametrization="centered"),
    "noncentered": ph.eight_schools_model(data, parametrization="noncentered"),
}
for name, model in models.items():
    print(f"{name:>12}: free variables {sorted(v.name for v in model.free_RVs)}")

# %%
# Fit both with nutpie
# --------------------
# :func:`pymc_hier.fit` checks the diagnostics after sampling and warns, naming the
# parameters and the threshold crossed. We record those warnings and print them.
fits = {}
for name, model in models.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SamplingWarning)
        fits[name] = ph.fit(model, draws=DRAWS, tune=TUNE, chains=CHAINS,
                            sampler="nutpie", random_seed=SEED, progressbar=False)
    diverging = int(fits[name].sample_stats["diverging"].sum())
    print(f"{name}: {diverging} divergent transitions of {DRAWS * CHAINS}")
    for w in caught:
        print(f"  {w.category.__name__}: {w.message}")

# %%
# The funnel
# ----------
# Plotting one school's effect against ``log tau`` shows the geometry. In the centered
# form, small ``tau`` pins every ``theta_j`` to ``mu``: the posterior narrows into a funnel
# whose neck needs a far smaller step size than its mouth. The divergent transitions (red)
# pile up at the neck, and that region is under-sampled. The noncentered form samples a
# standardised effect instead, whose geometry does not depend on ``tau``.
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5), sharey=True, layout="constrained")
school = data.names[0]
for ax, (name, idata) in zip(axes, fits.items(), strict=True):
    post = idata.posterior
    theta = post["theta"].sel({data.dim: school}).values.ravel()
    log_tau = np.log(post["tau"].values.ravel())
    div = idata.sample_stats["diverging"].values.ravel().astype(bool)
    ax.scatter(theta[~div], log_tau[~div], s=4, alpha=0.4, color="C0", label="draws")
    ax.scatter(theta[div], log_tau[div], s=12, color="C3", label="divergent")
    ax.set_title(f"{name}: {div.sum()} divergences")
    ax.set_xlabel(f"theta[{school}]")
axes[0].set_ylabel("log tau")
axes[0].legend(loc="lower left")

# %%
# Against the exact posterior
# ---------------------------
# For this model the posterior is known up to a one-dimensional integral (BDA section
# 5.4): :func:`pymc_hier.exact.hierarchical_normal_posterior` puts ``tau`` on a grid and
# integrates ``mu`` and ``theta`` analytically. Both fits target that posterior; only the
# noncentered one explores it. The centered chains seldom reach small ``tau``, so their
# lower quantiles come out too high.
from pymc_hier.exact import hierarchical_normal_posterior

exact = hierarchical_normal_posterior(models["noncentered"])
grid = np.linspace(0, 25, 400)
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
for name, idata in fits.items():
    ax.hist(idata.posterior["tau"].values.ravel(), bins=np.linspace(0, 25, 51),
            density=True, histtype="step", lw=1.5, label=name)
ax.plot(grid, exact.pdf(grid, var="tau"), color="k", lw=1, label="exact")
ax.set_xlabel("tau")
ax.set_ylabel("posterior density")
ax.legend()

probs = [0.05, 0.25, 0.5, 0.75, 0.95]
print("quantiles        " + "  ".join(f"{p:>6}" for p in probs))
print(f"{'exact':>12}:   " + "  ".join(f"{q:6.2f}" for q in exact.quantile(probs, var="tau")))
for name, idata in fits.items():
    q = np.quantile(idata.posterior["tau"].values, probs)
    print(f"{name:>12}:   " + "  ".join(f"{v:6.2f}" for v in q))
