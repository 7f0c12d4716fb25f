"""
Pooling, shrinkage and prediction
=================================

People fit hierarchical models for partial pooling, and then ask the same questions: how
does it compare with pooling everything or nothing, how far did each group shrink, how
well does the model predict a group it has not seen, what will a new group look like, and
is the sampler in a funnel? Each is one call.

We ask them of eight schools, where every level of pooling has an exact posterior, and of
the radioactive widgets, where "do the widgets share one material?" is the same question:
one shared decay rate (complete pooling) or one rate per widget drawn from a population of
rates (``decay_model(alpha="hierarchical")``).
"""

# %%
# Set-up
# ------
import os
import warnings

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")

import pymc_hier as ph
from pymc_hier.plots.ppc import plot_ppc_tstat

FAST = os.environ.get("PYMC_HIER_FAST") == "1"
DRAWS, TUNE, CHAINS = (500, 200, 2) if FAST else (1000, 1000, 4)
SEED = 2026

# %%
# Complete, partial and no pooling
# --------------------------------
# :func:`pymc_hier.compare_pooling` fits the three levels on the same data (exactly, here),
# summarises each school's effect at each level and compares the levels by leave-one-out
# cross-validation (:func:`arviz_stats.loo`, with the exact value where the family has
# one). Every partially pooled estimate lies between its complete- and no-pooling ones.
cmp = ph.compare_pooling(ph.EIGHT_SCHOOLS, random_seed=SEED, draws=DRAWS, chains=CHAINS)
print(cmp[["elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight"]].to_dataframe())
print(cmp["theta"].sel(stat="mean").to_pandas().T.round(2))

# %%
# :func:`pymc_hier.plot_shrinkage` draws each school's own estimate ``y_j ± sigma_j`` and
# its effect under no, partial and complete pooling.
fig = ph.plot_shrinkage(cmp)

# %%
# Leave one school out
# --------------------
# How well does the model predict a school it has not seen? For the hierarchical normal
# model leave-one-group-out is exact (drop the school from the exact posterior, integrate
# its predictive density by quadrature); :func:`pymc_hier.cross_validate` uses that and
# keeps the importance-sampling estimate and its Pareto k beside it.
model = ph.eight_schools_model()
idata = ph.fit(model, sampler="exact", random_seed=SEED, draws=DRAWS, chains=CHAINS)
cv = ph.cross_validate(idata, model, by="school", method="logo")
print(cv[["elpd", "elpd_psis", "pareto_k", "source"]].to_dataframe().round(3))
print(f"elpd_logo = {cv.attrs['elpd']:.2f} (se {cv.attrs['se']:.2f})")

# %%
# A new school
# ------------
# :func:`pymc_hier.predict` draws a new school's effect from the population and its
# estimate with the standard error we give it; a name of a fitted school means that
# school measured again. The draws land in ArviZ's ``predictions`` groups.
new = pd.DataFrame({"sigma": [10.0, 5.0]}, index=pd.Index(["new school", "A"], name="school"))
pred = ph.predict(idata, model, new, random_seed=SEED)
y = pred["predictions"]["y"]
print(y.quantile([0.05, 0.5, 0.95], dim=("chain", "draw")).to_pandas().round(1))

# %%
# Funnels and the parametrisation
# -------------------------------
# With NUTS, the centred form of eight schools diverges in the funnel's neck.
# :func:`pymc_hier.plot_funnel` draws ``log tau`` against a school's effect, divergent
# draws in red, and a dashed line at ``tau = sigma_j``: above it the school's data
# outweigh the population. :func:`pymc_hier.parametrization_advice` turns this into
# advice per school, and ``parametrization="auto"`` follows it.
centered = ph.eight_schools_model(parametrization="centered")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ph.SamplingWarning)  # the divergences we want to see
    nuts = ph.fit(centered, draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=SEED,
                  progressbar=False)
print("divergences:", int(nuts["sample_stats"]["diverging"].sum()))
fig = ph.plot_funnel(nuts, coords=["A", "C"])
print(ph.parametrization_advice(nuts, centered)[["sigma", "p_tau_above_sigma",
                                                  "advice"]].to_dataframe())

# %%
# Per-school predictive checks
# ----------------------------
# A test statistic per school (bayesplot's ``ppc_stat_grouped``), each panel titled with
# the school's name.
checked = ph.sample_predictive(idata, model, random_seed=SEED)
fig = plot_ppc_tstat(checked, stat="mean", by="school")

# %%
# The widgets: one material or several?
# --------------------------------------
# The lecture's widgets share one material. ``alpha="hierarchical"`` gives each widget its
# own rate, ``log alpha_i ~ Normal(log mu_alpha, tau_alpha)``; LOO compares the two.
# On the lecture's data the spread ``tau_alpha`` shrinks towards 0 and the two tie within
# a standard error (the hierarchy only costs effective parameters); on widgets of two
# materials the hierarchy wins by far (tests/test_decay_hierarchical.py).
widgets = ph.simulate_decay(0, n_widgets=40 if FAST else 100, time_unit="day")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ph.SamplingWarning)
    warnings.simplefilter("ignore", ph.CrossValidationWarning)
    one = ph.compare_pooling(widgets, "decay", random_seed=SEED, draws=DRAWS, tune=TUNE,
                             chains=CHAINS, cv_kwargs={"refit": False})
print(one[["elpd_loo", "se", "elpd_diff", "dse"]].to_dataframe())
print("tau_alpha:", one["tau_alpha"].sel(pooling="partial").to_pandas().round(3).to_dict())

# %%
# How much is left in widget 17 a year after its measurement, and how much would a widget
# made on day 10 and measured on day 40 show? ``predict`` answers both from the shared
# rate's exact fit.
decay = ph.decay_model(widgets)
fit = ph.fit(decay, sampler="exact", random_seed=SEED, draws=DRAWS, chains=CHAINS)
later = float(widgets.t_measured[17]) + 365.0
ask = pd.DataFrame({"widget": [17, "new"], "t_measured": [later, 40.0],
                    "day_start": [np.nan, 10.0], "day_end": [np.nan, 11.0],
                    "sigma": [np.nan, 0.1]})
amounts = ph.predict(fit, decay, ask, random_seed=SEED)["predictions"]["amount"]
print(amounts.quantile([0.05, 0.5, 0.95], dim=("chain", "draw")).to_pandas())
