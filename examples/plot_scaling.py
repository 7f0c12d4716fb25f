"""
Beyond one machine: widgets in Parquet files on a Dask cluster
==============================================================

When the widgets do not fit in one machine's memory, or the work should be spread over a
cluster, :func:`pymc_hier.fit_partitioned` draws from the same exact posterior as
``fit(sampler="exact")`` with the data left where they are: here Parquet files read by the
workers of a small Dask cluster, every widget's draws written to a zarr store block by
block. The same seed gives the same numbers in memory and on the cluster.

(On a GPU, ``fit(model, sampler="exact", backend="jax")`` moves the same computations to
the device; see the user guide's page on scaling.)
"""

# %%
# Widgets in files
# ----------------
# Simulated widgets, written as four Parquet files, one row per widget.
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster

import pymc_hier as ph
from pymc_hier.exact import decay_posterior

FAST = os.environ.get("PYMC_HIER_FAST") == "1"
N_WIDGETS, DRAWS = (2_000, 100) if FAST else (20_000, 500)
SEED = 23

data = ph.simulate_decay(seed=SEED, n_widgets=N_WIDGETS, time_unit="day")
frame = data.to_dataframe().reset_index()
columns = ["widget", "t_measured", "n_measured", "sigma", "day_start", "day_end"]
folder = Path(tempfile.mkdtemp(prefix="widgets_"))
for i, rows in enumerate(np.array_split(np.arange(N_WIDGETS), 4)):
    frame[columns].iloc[rows].to_parquet(folder / f"part-{i}.parquet", index=False)
print(sorted(p.name for p in folder.iterdir()), f"{N_WIDGETS} widgets")

# %%
# On a cluster
# ------------
# Two workers (threads of this process here; worker processes or machines work the same
# way). The widgets are cut into blocks of ``block_size``: the posterior of ``alpha`` is
# tabulated from per-block sums computed on the workers, and each block draws its widgets'
# ``t0`` and ``N0`` with its own random stream and writes them to the store.
with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                  dashboard_address=":0") as cluster, Client(cluster) as client:
    start = time.perf_counter()
    idata = ph.fit_partitioned(str(folder), "decay", n0_max=data.n0_max, time_unit="day",
                               store=folder / "draws.zarr", draws=DRAWS, chains=2,
                               random_seed=SEED, client=client, block_size=4096)
    idata["posterior"]["alpha"].load()
    print(f"{time.perf_counter() - start:.1f} s on {idata['posterior'].attrs['compute']}")
post = idata["posterior"]
print(post["N0"])

# %%
# The same numbers in memory
# --------------------------
# Without a client the same blocks are computed one after the other in this process: the
# draws are identical to the last bit.
in_memory = ph.fit_partitioned(frame[columns], "decay", n0_max=data.n0_max,
                               time_unit="day", draws=DRAWS, chains=2, random_seed=SEED,
                               block_size=4096)
same = all(np.array_equal(in_memory["posterior"][v].values, post[v].values)
           for v in ("alpha", "t0", "N0"))
print("identical draws in memory and on the cluster:", same)

# %%
# The exact posterior, and every widget
# -------------------------------------
# The draws of ``alpha`` follow the exact posterior that :func:`pymc_hier.decay_posterior`
# tabulates in memory; the widgets' initial amounts, read back from the store, cover the
# true ones.
exact = decay_posterior(data)
alpha = post["alpha"].values.ravel()
grid = np.linspace(*exact.quantile([0.0005, 0.9995]), 400)
some = np.arange(25)
n0 = post["N0"].isel(widget=some).values.reshape(-1, len(some))
lo, mid, hi = np.quantile(n0, [0.05, 0.5, 0.95], axis=0)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
ax1.hist(alpha, bins=40, density=True, color="0.75", label="fit_partitioned draws")
ax1.plot(grid, exact.pdf(grid), color="C0", label="exact posterior (in memory)")
ax1.axvline(data.truth["alpha"], color="C3", ls="--", label="true alpha")
ax1.set(xlabel="alpha (per day)", ylabel="density")
ax1.locator_params(axis="x", nbins=5)
ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 1.22), ncol=2)
ax2.errorbar(some, mid, yerr=[mid - lo, hi - mid], fmt="o", ms=3, color="C0",
             label="N0: median, 90% interval")
ax2.plot(some, data.truth["n0"][some], "x", color="C3", label="true N0")
ax2.set(xlabel="widget", ylabel="initial amount", ylim=(0, data.n0_max * 1.05))
ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 1.22), ncol=2)
fig.tight_layout()
plt.show()

# %%
# The files and the store were temporary:
import shutil  # noqa: E402

shutil.rmtree(folder)
