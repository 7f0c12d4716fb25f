"""
Radioactive widgets: a walk-through of the decay model
======================================================

A company made 100 widgets over 35 days, some radioactive material got into them, and an
investigation measured each widget once, between 14 and 104 days after manufacture
ended. Each measurement is noisy, each widget's initial amount ``N0`` is unknown (the
company only gives an upper limit ``N0_max``), and its manufacture time ``t0`` is known
only to the day. What is the decay rate ``alpha``?

The amount left at the measurement time ``t1`` is ``N0 * exp(-alpha * (t1 - t0))``. One
widget says almost nothing about ``alpha``; a hierarchical model of all of them at once
pins it down. This example builds that model with :func:`pymc_hier.decay_model`, draws
its graphical model, fits it in its variants (manufacture times latent or known,
initial amounts sampled or integrated out) and checks every fit against the exact
posterior.
"""

# %%
# Set-up
# ------
# Seeds are fixed and the sampler is named on every call (PyMC 6 silently picks nutpie
# when it is installed, and the same seed gives other draws on another sampler).
# ``PYMC_HIER_FAST=1`` (used by the test suite) shrinks the draw counts.
import os
import tempfile
import warnings
from pathlib import Path

import arviz_stats as azs
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import pymc_hier as ph
from pymc_hier.diagnostics import SamplingWarning
from pymc_hier.exact import decay_posterior

FAST = os.environ.get("PYMC_HIER_FAST") == "1"
DRAWS, TUNE, CHAINS = (100, 100, 2) if FAST else (500, 500, 2)
SEED = 1
DAY = 86_400.0


def fit(model, seed):
    """Fit with nutpie, printing any warning :func:`pymc_hier.fit` raises."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SamplingWarning)
        idata = ph.fit(model, draws=DRAWS, tune=TUNE, chains=CHAINS, sampler="nutpie",
                       random_seed=seed, progressbar=False)
    for w in caught:
        print(f"{w.category.__name__}: {w.message}")
    return idata


# %%
# The data
# --------
# :func:`pymc_hier.simulate_decay` reproduces the lecture's faux widgets exactly; the
# ground truth comes with them. Times are in seconds.
data = ph.simulate_decay()
alpha_true = data.truth["alpha"]
print(f"{data.n_widgets} widgets, N0_max = {data.n0_max}, true alpha = {alpha_true:.4g} per s")

dt_days = (data.t_measured - 0.5 * (data.day_start + data.day_end)) / DAY
fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
ax.errorbar(dt_days, data.n_measured, xerr=0.5, yerr=data.sigma, fmt="o", ms=3, c="k", lw=1)
ax.set_xlabel("time from the manufacture day to the measurement [days]")
ax.set_ylabel("measured amount")

# %%
# The model and its graphical model
# ---------------------------------
# By default ``t0`` is latent (uniform over the widget's manufacture day) and each
# ``N0`` is integrated out in closed form. :func:`pymc_hier.export_pgm` draws the model
# as the lecture writes it, whatever the sampler does: latent ``N0`` and ``t0`` as
# circles, the observed measurement shaded with its normal law, fixed inputs (``N0_max``,
# each widget's ``sigma``, measurement time and day bounds) as dots, one plate over the
# widgets.
model = ph.decay_model(data, t0="latent", n0="marginal")
with tempfile.TemporaryDirectory() as tmp:
    png = ph.export_pgm(model, Path(tmp) / "decay", formats=("png",))["png"]
    image = plt.imread(png)
fig, ax = plt.subplots(figsize=(7, 7 * image.shape[0] / image.shape[1]), layout="constrained")
ax.imshow(image)
ax.set_axis_off()

# %%
# Fit the variants
# ----------------
# Three fits: ``t0`` latent or known, ``N0`` marginalised or latent.
variants = {
    "t0 latent, N0 marginal": dict(t0="latent", n0="marginal"),
    "t0 known, N0 marginal": dict(t0="known", n0="marginal"),
    "t0 latent, N0 latent": dict(t0="latent", n0="latent"),
}
models = {name: ph.decay_model(data, **opts) for name, opts in variants.items()}
fits = {name: fit(m, SEED + i) for i, (name, m) in enumerate(models.items())}

# %%
# The exact posterior
# -------------------
# With ``N0`` integrated analytically and ``t0`` by quadrature over each day, the
# posterior of ``alpha`` is a one-dimensional function:
# :func:`pymc_hier.exact.decay_posterior` evaluates it (same default prior as the model),
# for either treatment of ``t0``.
exact = {t0: decay_posterior(data, t0=t0) for t0 in ("latent", "known")}
for t0, post in exact.items():
    lo, hi = post.quantile([0.025, 0.975])
    print(f"t0 {t0:>6}: alpha = {post.mean():.4g} ± {post.sd():.2g}  95%: [{lo:.4g}, {hi:.4g}]")
print(f"truth:     alpha = {alpha_true:.4g}")

# %%
# Every fit against it
# --------------------
# Each posterior mean of ``alpha`` should lie within a few Monte Carlo standard errors
# (MCSE) of the exact mean. Integrating ``N0`` out leaves NUTS fewer parameters per widget
# to explore; knowing ``t0`` exactly changes the posterior very little, because a day's
# uncertainty is small against the 3 weeks to 4.5 months between manufacture and
# measurement.
for name, idata in fits.items():
    alpha = idata.posterior["alpha"]
    ref = exact[variants[name]["t0"]]
    mean, mcse = float(alpha.mean()), float(azs.mcse(alpha))
    print(f"{name:<24} mean {mean:.5g} (exact {ref.mean():.5g}, "
          f"{(mean - ref.mean()) / mcse:+.1f} MCSE)  bulk ESS {float(azs.ess(alpha)):.0f}  "
          f"divergences {int(idata.sample_stats['diverging'].sum())}")

grid = np.linspace(*exact["latent"].quantile([0.0005, 0.9995]), 300)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True, layout="constrained")
for ax, t0 in zip(axes, ("latent", "known"), strict=True):
    for name, idata in fits.items():
        if variants[name]["t0"] == t0:
            ax.hist(idata.posterior["alpha"].values.ravel(), bins=40, density=True,
                    histtype="step", lw=1.5, label=name)
    ax.plot(grid, exact[t0].pdf(grid), c="k", lw=1, label="exact")
    ax.axvline(alpha_true, c="0.5", ls=":", label="true alpha")
    ax.set_title(f"t0 {t0}")
    ax.set_xlabel(f"alpha [1/{data.time_unit}]")
axes[0].set_ylabel("posterior density")
axes[0].legend(fontsize=8)

# %%
# Initial amounts: latent or marginalised, the same answer
# --------------------------------------------------------
# With ``N0`` integrated out the sampler never sees it, yet the fit still has ``N0``
# draws: :func:`pymc_hier.fit` draws them afterwards from their exact conditional
# posterior given ``alpha`` and ``t0``. Their intervals agree with the fit that samples
# ``N0`` directly. Widgets measured late carry little information about their initial
# amount, so their intervals are wide; the true values (dots) mostly fall inside, as
# 90% intervals should.
widgets = np.argsort(dt_days)[:: max(1, data.n_widgets // 12)][:12]
fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
for k, (name, marker) in enumerate((("t0 latent, N0 marginal", "o"),
                                     ("t0 latent, N0 latent", "s"))):
    n0 = fits[name].posterior["N0"].isel(widget=widgets)
    lo, mid, hi = np.quantile(n0.values.reshape(-1, len(widgets)), [0.05, 0.5, 0.95], axis=0)
    x = np.arange(len(widgets)) + (k - 0.5) * 0.25
    ax.errorbar(x, mid, yerr=[mid - lo, hi - mid], fmt=marker, ms=4, capsize=2, label=name)
ax.plot(np.arange(len(widgets)), data.truth["n0"][widgets], "k.", label="truth")
ax.set_xticks(np.arange(len(widgets)), [f"{dt_days[w]:.0f} d" for w in widgets])
ax.set_xlabel("widget (days from manufacture to measurement)")
ax.set_ylabel("N0, 90% interval")
ax.legend(fontsize=8)
