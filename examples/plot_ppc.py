"""
Posterior predictive checks
===========================

Does the fitted model reproduce the data? A posterior predictive check draws replicated
data ``y_rep`` from the fitted model and compares a test statistic ``T`` of the
observations with its distribution over the replicates. The Bayesian p-value
``P(T(y_rep) >= T(y))`` near 0 or 1 flags a feature of the data the model rarely produces.

We check eight schools twice: on the real table, and on a copy with one school's effect
replaced by an outlier, which the checks should catch.
"""

# %%
# Set-up
# ------
import os
import warnings

import matplotlib

matplotlib.use("Agg")

import pymc_hier as ph
from pymc_hier.diagnostics import SamplingWarning
from pymc_hier.ppc import pit
from pymc_hier.ppc_plots import plot_ppc_intervals, plot_ppc_pit, plot_ppc_tstat

FAST = os.environ.get("PYMC_HIER_FAST") == "1"
DRAWS, TUNE, CHAINS = (100, 100, 2) if FAST else (500, 500, 2)
SEED = 11


def fit_and_predict(data, seed):
    """Fit the noncentered eight-schools model with nutpie and add predictive draws.

    :func:`pymc_hier.fit` warns when a diagnostic crosses its threshold; we print those
    warnings so that they appear here.
    """
    model = ph.eight_schools_model(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SamplingWarning)
        idata = ph.fit(model, draws=DRAWS, tune=TUNE, chains=CHAINS, sampler="nutpie",
                       random_seed=seed, progressbar=False)
    for w in caught:
        print(f"{w.category.__name__}: {w.message}")
    return ph.sample_predictive(idata, model, random_seed=seed + 1)


idata = fit_and_predict(ph.EIGHT_SCHOOLS, SEED)
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
idata_out = fit_and_predict(outlier, SEED + 10)
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
