"""
Reports and the command line
============================

One HTML file that reads as an analysis: the headline estimates with their units and
uncertainty, the model's equations, the data, the per-unit estimates as plots,
diagnostics, predictive checks, prior sensitivity and how it was all made. It loads nothing
from the network and runs no script: :func:`pymc_hier.report`. Its figures are public
functions of their own (:func:`pymc_hier.plot_forest`, :func:`pymc_hier.plot_shrinkage`,
:func:`pymc_hier.plot_funnel`). The ``pymc-hier`` command runs the whole job, report
included, in one line.
"""

# %%
# Set-up
# ------
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pymc_hier as ph
from pymc_hier.diagnostics import SamplingWarning

FAST = os.environ.get("PYMC_HIER_FAST") == "1"
DRAWS, TUNE, CHAINS = (100, 100, 2) if FAST else (500, 500, 2)
SEED = 3
out = Path(tempfile.mkdtemp(prefix="pymc_hier_report_"))

# %%
# Fit, check and sweep
# --------------------
# The report shows whatever the DataTree holds: a fit from :func:`pymc_hier.fit`, the
# predictive groups of :func:`pymc_hier.sample_predictive` and, when given, a sweep.
model = ph.eight_schools_model()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", SamplingWarning)
    idata = ph.fit(model, draws=DRAWS, tune=TUNE, chains=CHAINS, sampler="nutpie",
                   random_seed=SEED, progressbar=False)
for w in caught:
    print(f"{w.category.__name__}: {w.message}")
idata = ph.sample_predictive(idata, model, random_seed=SEED + 1)
sweep = ph.prior_sweep(idata, model, param="tau.beta",
                       values=[1.0, 5.0, 25.0], var_names=["mu", "tau"],
                       fit_kwargs={"draws": DRAWS, "tune": TUNE, "chains": CHAINS,
                                   "random_seed": SEED + 2},
                       progressbar=False)

# %%
# Write the report
# ----------------
# In order: a summary box (mu and tau with their 90% intervals, R-hat, ESS and the exact
# posterior beside MCMC), the equations as MathML, the data, the per-unit estimates,
# diagnostics, predictive checks, the sweep and the provenance. The sampler's internal
# coordinates (``theta_scaled``) are never shown.
path = ph.report(idata, model, out / "eight_schools.html", sweep=sweep,
                 title="Eight schools, noncentered")
html = path.read_text()
print(f"{path.name}: {len(html) / 1e3:.0f} kB")
print("sections:", [re.sub("<[^>]+>", "", h) for h in re.findall(r"<h2>(.*?)</h2>", html)])
print("external resources:", re.findall(r'(?:src|href)="(https?://[^"]+)"', html) or "none")
print("internal names shown:", "theta_scaled" in re.sub(r"<svg.*?</svg>", "", html, flags=re.S))

# %%
# The report's per-unit figures
# -----------------------------
# The shrinkage plot: each school's own estimate ``y_j ± sigma_j`` (open circles) pulled
# towards the pooled mean in its posterior ``theta_j`` (filled), the more so the larger its
# standard error.
ph.plot_shrinkage(idata, effect="theta", observed="y", sigma="sigma", mean="mu")

# %%
# A sorted forest plot of any per-unit parameter; ``truth=`` adds the true values of
# simulated data (the decay report does so for every widget).
ph.plot_forest(idata, "theta")

# %%
# Where NUTS diverges
# -------------------
# The centred form of the same model has a funnel between ``tau`` and the effects; its
# divergent transitions gather in the neck, where ``tau`` is small. The report shows this
# plot whenever a fit of a hierarchy has divergences.
centered = ph.eight_schools_model(parametrization="centered")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SamplingWarning)
    funnel_fit = ph.fit(centered, draws=DRAWS, tune=TUNE, chains=CHAINS, sampler="nutpie",
                        random_seed=SEED, progressbar=False)
ph.plot_funnel(funnel_fit, effect="theta", scale="tau")

# %%
# Reproducible
# ------------
# The same inputs give the same bytes apart from the one timestamp line; set
# ``timestamp=`` (or ``PYMC_HIER_REPORT_TIMESTAMP``) and the whole file is identical.
a = ph.report(idata, model, out / "a.html", sweep=sweep, timestamp="fixed").read_bytes()
b = ph.report(idata, model, out / "b.html", sweep=sweep, timestamp="fixed").read_bytes()
print("byte-identical:", a == b)

# %%
# The command line
# ----------------
# ``pymc-hier run schools`` does all of the above, plus the PGM and a default sweep of
# ``tau``'s prior scale, and writes the report and the saved DataTree into ``--out``.
# ``pymc-hier run decay`` (the README's main job) does the same for the lecture's widgets,
# with a sweep of ``N0_max``. We call it with
# ``python -m pymc_hier.cli`` (the same program as the installed ``pymc-hier`` command).
cmd = [sys.executable, "-m", "pymc_hier.cli", "run", "schools", "--out", str(out / "cli"),
       "--seed", "0", "--sampler", "nutpie", "--draws", str(DRAWS), "--tune", str(TUNE),
       "--chains", str(CHAINS)]
done = subprocess.run(cmd, capture_output=True, text=True, check=False)
print("exit status:", done.returncode)
print("\n".join(line for line in done.stderr.splitlines() if line.startswith("pymc-hier:")))
print("files:", sorted(p.name for p in (out / "cli").iterdir()))

# %%
# Bad input is reported in one line with exit status 2, and nothing is written:
bad = subprocess.run([sys.executable, "-m", "pymc_hier.cli", "run", "galaxies",
                      "--out", str(out / "bad")], capture_output=True, text=True, check=False)
print("exit status:", bad.returncode)
print(bad.stderr.strip())

# %%
# Clean up the temporary folder.
shutil.rmtree(out)
