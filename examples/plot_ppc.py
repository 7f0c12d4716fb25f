"""
Posterior predictive checks
===========================

Does the fitted model reproduce the data? A posterior predictive check draws replicated
data ``y_rep`` from the fitted model and compares a test statistic ``T`` of the
observations with its distribution over the replicates. The Bayesian p-value
``P(T(y_rep) >= T(y))`` near 0 or 1 flags a feature of the data the model rarely produces.

We check eight schools twice, on the real table and on a copy with one school's effect
replaced by an outlier, and then the radioactive widgets, with and without a calibration
offset; the checks should catch both faults.
"""

# %%
# Set-up
# ------
import dataclasses
import os
import warnings

import matplotlib
import pandas as pd

matplotlib.use("Agg")

import pymc_hier as ph
from pymc_hier.diagnostics import SamplingWarning
from pymc_hier.plots.ppc import plot_ppc_intervals, plot_ppc_pit, plot_ppc_tstat
from pymc_hier.ppc import pit

FAST = os.environ.get("PYMC_HIER_FAST") == "1"
DRAWS, TUNE, CHAINS = (100, 100, 2) if FAST else (500, 500, 2)
SEED = 11


def fit_and_predict(model, seed):
    """Fit ``model`` with nutpie and add prior and posterior predictive draws.

    :func:`pymc_hier.fit` warns when a diagnostic crosses its threshold; we print those
    warnings so that they appear here.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SamplingWarning)
        idata = ph.fit(model, draws=DRAWS, tune=TUNE, chains=CHAINS, sampler="nutpie",
                       random_seed=seed, progressbar=False)
    for w in caught:
        print(f"{w.category.__name__}: {w.message}")
    return ph.sample_predictive(idata, model, random_seed=seed + 1)


idata = fit_and_predict(ph.eight_schools_model(ph.EIGHT_SCHOOLS), SEED)
print(sorted(idata.children))

# %%
# The PPC table
# -------------
# :func:`pymc_hier.ppc_table` returns an :class:`xarray.Dataset`: for each statistic the
# observed value ``T_obs``, the mean and interval of ``T(y_rep)`` and the p-value.
table = ph.ppc_table(idata, stats=("mean", "sd", "min", "max", "max_abs_z"))
summary = table[["T_obs", "T_rep_mean", "p_value"]].to_dataframe()
summary[["T_rep_lower", "T_rep_upper"]] = table["T_rep_interval"].to_pandas()
summary.round(3)

# %%
# The same per school (``by=`` names any coordinate of the observations). With one
# observation per school, ``T`` is the school's effect itself.
ph.ppc_table(idata, stats=("mean",), by="school")["p_value"].to_pandas()

# %%
# Predictive intervals of each school's replicated effect, with the observations.
fig = plot_ppc_intervals(idata)

# %%
# An outlier school
# -----------------
# Replace school A's estimate (28) by 120. The model can stretch ``tau`` to reach one
# extreme school, so the p-values of ``mean``, ``sd`` or even ``max`` need not be extreme.
# What it cannot reproduce is *one* school far from all the others: Grubbs' statistic
# ``max_abs_z`` (the largest ``|y_j - mean(y)| / sd(y)``) has a p-value near 0.
y = ph.EIGHT_SCHOOLS.y.copy()
y[0] = 120.0
outlier = ph.SchoolsData(y=y, sigma=ph.EIGHT_SCHOOLS.sigma, names=ph.EIGHT_SCHOOLS.names)
idata_out = fit_and_predict(ph.eight_schools_model(outlier), SEED + 10)
ph.ppc_table(idata_out, stats=("mean", "sd", "max", "max_abs_z"))["p_value"].to_pandas()

# %%
# The distribution of ``max_abs_z(y_rep)`` and its observed value.
fig = plot_ppc_tstat(idata_out, stat="max_abs_z")

# %%
# Calibration: LOO-PIT
# --------------------
# Leave-one-out PIT values (through ArviZ, PSIS-weighted) are uniform for a calibrated
# model; the ECDF difference plot shows them against their simultaneous envelope.
print(pit(idata, loo=True).round(2).to_pandas())
fig = plot_ppc_pit(idata, loo=True)

# %%
# Widgets: a calibration offset
# -----------------------------
# In the default decay model (``N0`` integrated out) a replicated measurement comes from
# a fresh initial amount at the widget's times, so with the lecture's data the smallest
# replicate is about as low as the smallest measurement. Shift every measurement up by
# 0.3 (a miscalibrated instrument, about four noise standard deviations): no measurement
# is near zero any more while the replicates still are, and the p-value of ``min`` drops
# to about 0 (the other statistics turn extreme as well).
widgets = ph.simulate_decay()
shifted = dataclasses.replace(widgets, n_measured=widgets.n_measured + 0.3)
p_values = {}
for k, (name, data) in enumerate((("lecture data", widgets), ("shifted by +0.3", shifted))):
    idata_w = fit_and_predict(ph.decay_model(data), SEED + 20 + k)
    p_values[name] = ph.ppc_table(idata_w, stats=("mean", "sd", "min", "max"))["p_value"]
pd.DataFrame({name: p.to_pandas() for name, p in p_values.items()})
