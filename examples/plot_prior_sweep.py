"""
Prior sweeps: how much do the conclusions depend on the prior?
==============================================================

With eight schools the data say little about the population scale ``tau``, so its prior
matters; for the radioactive widgets, the company's upper limit ``N0_max`` on the initial
amounts does. Instead of refitting by hand for every prior, :func:`pymc_hier.prior_sweep` runs a
range of settings of one hyperparameter. Each setting is answered by reweighting one base
fit (PSIS importance weights, nearly free) when that is reliable, and by refitting the
already-compiled model otherwise; the result says which.
"""

# %%
# Set-up
# ------
import os
from concurrent.futures import ThreadPoolExecutor

import matplotlib

matplotlib.use("Agg")
import numpy as np

import pymc_hier as ph
from pymc_hier.plots.sweep import plot_sweep

FAST = os.environ.get("PYMC_HIER_FAST") == "1"
DRAWS, TUNE, CHAINS = (100, 100, 2) if FAST else (500, 500, 2)
SEED = 20

# %%
# Sweep the scale of tau's prior
# ------------------------------
# The default prior is ``tau ~ HalfCauchy(beta=5)``. We try ``beta`` from 0.5 to 25.
# ``prior_sweep`` fits the base setting (``beta=5``) once with nutpie, then reweights
# or refits each setting; refits share one compiled model and run through any
# :class:`concurrent.futures.Executor` (two threads here; a Dask cluster's executor works
# the same way).
betas = [0.5, 1.0, 2.0, 5.0, 10.0, 25.0]
model = ph.eight_schools_model()
with ThreadPoolExecutor(max_workers=2) as pool:
    sweep = ph.prior_sweep(
        model, param="tau.beta", values=betas,
        fit_kwargs={"draws": DRAWS, "tune": TUNE, "chains": CHAINS, "random_seed": SEED},
        var_names=["mu", "tau"], executor=pool, progressbar=False,
    )

# %%
# What was done for each setting
# ------------------------------
# A Pareto k-hat below 0.7 means the reweighted answer is reliable; ``ess_weights`` is
# the effective sample size left after weighting. A setting whose k-hat exceeds 0.7, or
# whose prior has a wider support than the base fit's, is refitted instead. Here every
# setting could be reweighted.
sweep[["method", "status", "pareto_k", "ess_weights"]].to_dataframe()

# %%
# Is reweighting right? Refit every setting
# -----------------------------------------
# ``method="refit"`` samples every setting again with the same compiled model (here in
# two threads). Where k-hat is below 0.7 the two answers agree within Monte Carlo error:
# the difference of the posterior means of ``tau`` is shown in units of its Monte Carlo
# standard error (combined over both estimates).
with ThreadPoolExecutor(max_workers=2) as pool:
    refit = ph.prior_sweep(
        model, param="tau.beta", values=betas, method="refit",
        fit_kwargs={"draws": DRAWS, "tune": TUNE, "chains": CHAINS, "random_seed": SEED + 1},
        var_names=["mu", "tau"], executor=pool, progressbar=False,
    )
diff = sweep["tau"].sel(stat="mean") - refit["tau"].sel(stat="mean")
mcse = np.hypot(sweep["tau"].sel(stat="mcse_mean"), refit["tau"].sel(stat="mcse_mean"))
print(np.round((diff / mcse).to_pandas(), 2))

# %%
# Posterior of mu and tau against the prior scale
# -----------------------------------------------
# Markers: circles reweighted, squares refitted; bands span the 5% and 95% quantiles.
fig = plot_sweep(sweep, ["mu", "tau"])

# %%
# The numbers behind the plot: posterior mean and 90% interval of ``tau``.
tau = sweep["tau"].sel(stat=["mean", "q0.05", "q0.95"]).to_pandas()
print(np.round(tau, 2))

# %%
# Widgets: the company's upper limit N0_max
# -----------------------------------------
# ``N0_max`` is a fixed input of the decay model (``pm.Data``), so it can be swept like
# a hyperparameter. Each ``N0`` is uniform on ``[0, N0_max]``: a constant log density,
# which power-scaling sensitivity checks cannot see, but which moves the decay rate. Raising
# the limit changes the likelihood too much for the base draws (k-hat above 0.7), so those
# settings are refitted, and the result says why.
data = ph.simulate_decay()
with ThreadPoolExecutor(max_workers=2) as pool:
    n0_sweep = ph.prior_sweep(
        ph.decay_model(data), param="N0_max", values=[9.0, 9.5, 10.0, 12.0, 15.0],
        fit_kwargs={"draws": DRAWS, "tune": TUNE, "chains": CHAINS, "random_seed": SEED + 2},
        var_names=["alpha"], executor=pool, progressbar=False,
    )
n0_sweep[["method", "pareto_k", "ess_weights", "note"]].to_dataframe()

# %%
# The posterior of ``alpha`` moves by several posterior standard deviations between
# ``N0_max = 9`` and ``15``: the conclusion depends on the company's limit.
print(n0_sweep["alpha"].sel(stat=["mean", "sd", "q0.05", "q0.95"]).to_pandas())
fig = plot_sweep(n0_sweep, ["alpha"])
