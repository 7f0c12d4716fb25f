"""
Reports and the command line
============================

Everything about a fit — the model, its graphical model, data, priors, diagnostics,
posterior, predictive checks, prior sensitivity and how it was made — in one HTML file
that loads nothing from the network and needs no JavaScript: :func:`pymc_hier.reports.build`.
The ``pymc-hier`` command runs the whole job, report included, in one line.
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
path = ph.report(idata, model, out / "eight_schools.html", sweep=sweep,
                 title="Eight schools, noncentered")
html = path.read_text()
print(f"{path.name}: {len(html) / 1e3:.0f} kB")
print("sections:", [re.sub("<[^>]+>", "", h) for h in re.findall(r"<h2>(.*?)</h2>", html)])
print("external resources:", re.findall(r'(?:src|href)="(https?://[^"]+)"', html) or "none")

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
