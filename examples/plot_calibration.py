"""
Is my fit right? Simulation-based calibration, exact references and prior sensitivity
=====================================================================================

Three checks, on both models. **Simulation-based calibration** (SBC) asks whether the
sampler and the model agree: draw parameters from the prior, simulate data, fit, and rank
each drawn parameter among its posterior draws; calibrated inference makes the ranks
uniform. The **exact references** of pymc_hier's two families answer whether one
particular fit is right. **Power-scaling sensitivity** asks how much the priors on the
population parameters drive the answer.
"""

# %%
# Set-up
# ------
import os
import warnings

import matplotlib

matplotlib.use("Agg")
import arviz_stats as azs

import pymc_hier as ph
from pymc_hier.plots.sbc import plot_sbc

FAST = os.environ.get("PYMC_HIER_FAST") == "1"
N_EXACT, N_MCMC = (30, 4) if FAST else (200, 40)
SEED = 21

# %%
# SBC of the exact samplers
# -------------------------
# The exact samplers (``fit(sampler="exact")``) draw independently from the posterior
# computed by quadrature; their SBC is the reference every MCMC sampler is held to. Each
# replicate rebuilds the model on its simulated data through the family, so a
# parametrisation that depends on the data (the decay model's) follows it.
schools = ph.eight_schools_model()
exact = ph.sbc(schools, n_sims=N_EXACT, draws=99, sampler="exact", random_seed=SEED,
               progressbar=False)
exact[["ecdf_pvalue", "chi2_pvalue"]].to_dataframe().round(3)

# %%
# The figure: each parameter's ECDF of fractional ranks minus the uniform CDF. A
# calibrated parameter stays inside the grey band (simultaneous 95%) with probability
# 0.95.
fig = plot_sbc(exact)

# %%
# The decay model: 10 widgets made over 10 days, the prior on the decay rate
# (``alpha ~ Gamma(4, rate 100)`` per day). Ranks of ``alpha`` and every widget's
# manufacture time ``t0``.
widgets = ph.simulate_decay(seed=3, n_widgets=10, manufacture_days=10, time_unit="day")
decay = ph.decay_model(widgets, priors={"alpha": ph.Prior("Gamma", alpha=4.0, beta=100.0)})
decay_exact = ph.sbc(decay, n_sims=N_EXACT, draws=99, sampler="exact", random_seed=SEED,
                     progressbar=False)
fig = plot_sbc(decay_exact)

# %%
# SBC can fail: a deliberately wrong model
# ----------------------------------------
# Data simulated from eight schools' default priors, fitted with ``tau``'s prior scale
# halved: the ranks of ``tau`` pile up at the top (the fitted posterior sits too low) and
# leave the band.
halved = ph.eight_schools_model(priors={"tau": ph.Prior("HalfCauchy", beta=2.5)})
wrong = ph.sbc(halved, n_sims=N_EXACT, draws=99, sampler="exact", random_seed=SEED,
               simulate_from=schools, var_names=["tau"], progressbar=False)
print(f"tau: ECDF p = {float(wrong['ecdf_pvalue'][0]):.2g}, "
      f"chi-square p = {float(wrong['chi2_pvalue'][0]):.2g}")
fig = plot_sbc(wrong)

# %%
# SBC of nutpie
# -------------
# The same check for the default MCMC sampler. Replicates whose models differ only in
# data share one compiled sampler, so each costs a second or so after the first. Draws are
# thinned to about their effective sample size before ranking; the result records every
# fit's divergences, R-hat and ESS.
mcmc = ph.sbc(decay, n_sims=N_MCMC, draws=49, sampler="nutpie", tune=500,
              random_seed=SEED, progressbar=False)
print(f"{int((mcmc['divergences'] > 0).sum())} of {N_MCMC} fits had divergences; "
      f"largest R-hat {float(mcmc['max_rhat'].max()):.3f}")
fig = plot_sbc(mcmc)

# %%
# One fit against its exact reference
# -----------------------------------
# SBC checks the sampler over the prior; the exact posterior checks this fit. The decay
# rate's posterior mean from nutpie agrees with the exact one within Monte Carlo error.
with warnings.catch_warnings():
    if FAST:  # a few hundred draws: the convergence checks would rightly complain
        warnings.simplefilter("ignore", ph.SamplingWarning)
    fit = ph.fit(decay, random_seed=SEED, progressbar=False,
                 **({"draws": 200, "tune": 200, "chains": 2} if FAST else {}))
reference = ph.decay_posterior(widgets, prior=ph.Prior("Gamma", alpha=4.0, beta=100.0))
alpha = fit["posterior"]["alpha"]
z = (float(alpha.mean()) - reference.mean()) / float(azs.mcse(alpha))
print(f"alpha: nutpie {float(alpha.mean()):.5f}, exact {reference.mean():.5f} per day "
      f"({z:+.1f} MCSE)")

# %%
# Moments that do not exist are said so: with three widgets and the default half-Cauchy
# prior the likelihood flattens once every widget has decayed, the posterior keeps the
# prior's ``alpha^-2`` tail and has no mean.
few = ph.simulate_decay(seed=0, n_widgets=3)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print("mean:", ph.decay_posterior(few).mean())
print(caught[0].message)

# %%
# Prior sensitivity
# -----------------
# Power-scaling of the population priors only (``mu`` and ``tau``): the same answer in
# every parametrisation, with the Pareto k-hat of the importance weights.
marginal = ph.eight_schools_model(parametrization="marginal")
schools_fit = ph.fit(marginal, sampler="exact", random_seed=SEED, var_names=["mu", "tau"])
ph.prior_sensitivity(schools_fit, marginal, var_names=["mu", "tau"])
