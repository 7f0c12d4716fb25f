"""
The lecture's first graphical model: a straight line through points with error bars
=====================================================================================

Points ``(x_i, y_i)`` are measured with known standard errors ``sigma_y,i`` on ``y``; a
straight line ``y = m x + b`` is to be fitted. As a generative model::

    m, b ~ priors
    ŷ_i  ~ Normal(m x̂_i + b, sigma_y,i)      i = 1..N

The slope and intercept are unknown (latent circles), the abscissae and the error bars
are given (fixed dots), the measured ordinates are observed (a shaded circle), and the
plate repeats what is inside it for every point. :func:`pymc_hier.straight_line_model`
builds the model and :func:`pymc_hier.export_pgm` draws that picture.
"""

# %%
# Data, model and its picture
# ---------------------------
# Seeds are fixed and the sampler is named. ``PYMC_HIER_FAST=1`` (used by the test suite)
# shrinks the draw counts.
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import pymc_hier as ph

FAST = os.environ.get("PYMC_HIER_FAST") == "1"
DRAWS, TUNE, CHAINS = (100, 100, 2) if FAST else (1000, 1000, 4)
SEED = 11

data = ph.simulate_line(m=2.0, b=1.0, n_points=20, seed=SEED)
model = ph.straight_line_model(data.x, data.y, data.sigma_y)

# %%
# Fit it, and compare with the exact posterior
# --------------------------------------------
# With normal priors on ``m`` and ``b`` the posterior is normal and known exactly
# (weighted least squares pulled towards the prior), so ``sampler="exact"`` gives
# independent draws to check NUTS against.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    idata = ph.fit(model, draws=DRAWS, tune=TUNE, chains=CHAINS, sampler="nutpie",
                   random_seed=SEED, progressbar=False)
for w in caught:
    print(f"{w.category.__name__}: {w.message}")
exact = ph.fit(model, sampler="exact", draws=1000, chains=4, random_seed=SEED)
for name in ("m", "b"):
    nuts, ref = idata.posterior[name], exact.posterior[name]
    print(f"{name}: NUTS {float(nuts.mean()):.3f} ± {float(nuts.std()):.3f}, "
          f"exact {float(ref.mean()):.3f} ± {float(ref.std()):.3f}")

# %%
# The graphical model next to the fit
# -----------------------------------
# Left: the PGM as the lecture draws it. Right: the points with their error bars and
# lines ``y = m x + b`` for 50 posterior draws.
with tempfile.TemporaryDirectory() as tmp:
    image = plt.imread(ph.export_pgm(model, Path(tmp) / "line", formats=("png",),
                                     dpi=200)["png"])

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained",
                                  width_ratios=(1, 1.2))
left.imshow(image)
left.set_axis_off()
left.set_title("graphical model")

post = idata.posterior.to_dataset().stack(sample=("chain", "draw"))
rng = np.random.default_rng(SEED)
pick = rng.choice(post.sizes["sample"], size=50, replace=False)
grid = np.linspace(data.x.min() - 0.5, data.x.max() + 0.5, 2)
for k in pick:
    m, b = float(post["m"][k]), float(post["b"][k])
    right.plot(grid, m * grid + b, color="C0", alpha=0.15, lw=1)
right.errorbar(data.x, data.y, yerr=data.sigma_y, fmt="o", ms=4, color="k", lw=1,
               label="data (± σ_y)")
right.plot(grid, 2.0 * grid + 1.0, "--", color="C3", lw=1.2, label="true line")
right.set_xlabel("x")
right.set_ylabel("y")
right.set_title("posterior lines")
right.legend(loc="upper left", frameon=False)
