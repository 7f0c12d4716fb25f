"""fit_partitioned: exact posteriors of data in blocks, on a Dask LocalCluster and in memory.

The design promise checked here: the same data, seed and block size give the same numbers
to the last bit on a cluster (threads or processes) and in this process, whatever the
files' partitions; and the posterior is the one ``fit(sampler="exact")`` computes in memory
(the tabulation is shared and the sums differ only in rounding: CDFs within ``1e-9``).
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pymc_hier as ph
from pymc_hier.decay.exact import decay_posterior
from pymc_hier.exact import hierarchical_normal_posterior

distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("pyarrow")

SEED = 20261124
BLOCK = 256
DECAY_OPTS = {"time_unit": "day", "block_size": BLOCK}


@pytest.fixture(scope="module")
def decay_data():
    return ph.simulate_decay(seed=11, n_widgets=1500, time_unit="day")


@pytest.fixture(scope="module")
def decay_frame(decay_data):
    """One row per widget: a ``widget`` column, the measurements, a constant ``n0_max``."""
    df = decay_data.to_dataframe().reset_index()
    return df.drop(columns=["time_unit", "true_n0", "true_t0", "true_alpha"])


@pytest.fixture(scope="module")
def files(decay_frame, tmp_path_factory):
    """The widgets as Parquet (3 files of 400, 700 and 400 rows) and as CSV (2 files)."""
    root = tmp_path_factory.mktemp("widgets")
    cuts = [0, 400, 1100, 1500]
    (root / "parquet").mkdir()
    for i, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        decay_frame.iloc[lo:hi].to_parquet(root / "parquet" / f"part-{i}.parquet", index=False)
        decay_frame.iloc[lo:hi].to_csv(root / f"part-{i}.csv", index=False) if i < 2 else None
    decay_frame.iloc[1100:].to_csv(root / "part-1b.csv", index=False)
    return root


@pytest.fixture(scope="module")
def client():
    """Two single-threaded workers in this process (quick to start)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def in_memory(decay_frame):
    return ph.fit_partitioned(decay_frame, "decay", draws=100, chains=2, random_seed=SEED,
                              **DECAY_OPTS)


def _assert_same(got, want, names):
    for name in names:
        np.testing.assert_array_equal(got["posterior"][name].values,
                                      want["posterior"][name].values, err_msg=name)


def test_cluster_and_files_give_the_in_memory_draws(client, files, in_memory, tmp_path):
    """Parquet in 3 uneven files on 2 workers, draws in zarr == a DataFrame in memory."""
    got = ph.fit_partitioned(str(files / "parquet"), ph.DECAY, store=tmp_path / "d.zarr",
                             draws=100, chains=2, random_seed=SEED, client=client,
                             **DECAY_OPTS)
    _assert_same(got, in_memory, ["alpha", "t0", "N0", "widget"])
    post = got["posterior"]
    assert post["N0"].dims == ("chain", "draw", "widget")
    assert post["N0"].chunks[2][0] == BLOCK  # chunks along the units: the blocks
    assert post.attrs["compute"] == "dask.distributed: 2 workers, 2 threads"
    assert post.attrs["n_blocks"] == 6 and post.attrs["random_seed"] == SEED
    assert post["alpha"].attrs["units"] == "1/day"
    # what was stored reads back the same later
    again = ph.fit_partitioned  # noqa: F841  (the store is a plain zarr DataTree)
    import xarray as xr

    stored = xr.open_datatree(tmp_path / "d.zarr", engine="zarr", consolidated=False)
    np.testing.assert_array_equal(stored["posterior"]["N0"].values, post["N0"].values)


def test_another_partitioning_and_no_cluster_give_the_same_draws(files, in_memory):
    """CSV files cut elsewhere, read by Dask without a cluster: still the same numbers."""
    got = ph.fit_partitioned(str(files / "part-*.csv"), "decay", draws=100, chains=2,
                             random_seed=SEED, **DECAY_OPTS)
    _assert_same(got, in_memory, ["alpha", "t0", "N0", "widget"])
    # another seed, other draws; another block size, other unit draws
    other = ph.fit_partitioned(str(files / "part-*.csv"), "decay", draws=100, chains=2,
                               random_seed=SEED + 1, **DECAY_OPTS)
    assert not np.array_equal(other["posterior"]["alpha"], in_memory["posterior"]["alpha"])


def test_partitioned_decay_is_the_in_memory_exact_posterior(decay_data, in_memory):
    """Same tabulation as decay_posterior: CDFs within 1e-9, draws distributed by it."""
    from pymc_hier.decay.exact_partitioned import DECAY_PARTITIONED
    from pymc_hier.scale.blocks import Blocks

    frame = decay_data.to_dataframe()
    blocks = Blocks.from_source(frame, DECAY_PARTITIONED.columns({"t0": "latent"})[0],
                                block_size=BLOCK)
    post = DECAY_PARTITIONED.posterior(blocks, n0_max=decay_data.n0_max, time_unit="day")
    ref = decay_posterior(decay_data)
    q = np.array([1e-4, 0.025, 0.5, 0.975, 1 - 1e-4])
    assert post.method == ref.method
    assert np.max(np.abs(post.cdf(ref.quantile(q)) - q)) <= 1e-9
    # backend="numba" in memory sums the same blocks (default size) in the same order
    default = DECAY_PARTITIONED.posterior(
        Blocks.from_source(frame, DECAY_PARTITIONED.columns({"t0": "latent"})[0]),
        n0_max=decay_data.n0_max, time_unit="day")
    numba = decay_posterior(decay_data, backend="numba")
    alpha = ref.quantile(q)
    np.testing.assert_array_equal(numba._log_likelihood(alpha), default._log_likelihood(alpha))
    assert post.prior == ref.prior  # the default prior from the same time scale
    assert stats.kstest(in_memory["posterior"]["alpha"].values.ravel(), ref.cdf).pvalue > 1e-3
    n0 = in_memory["posterior"]["N0"]
    assert float(n0.min()) >= 0 and float(n0.max()) <= decay_data.n0_max
    t0 = in_memory["posterior"]["t0"].values
    assert np.all((t0 >= decay_data.day_start) & (t0 <= decay_data.day_end))
    # every widget's N0 draws against the in-memory sampler's, within Monte Carlo error
    sample = ref.sample(1000, 2, random_seed=SEED)["posterior"]["N0"]
    diff = n0.mean(("chain", "draw")) - sample.mean(("chain", "draw"))
    se = np.sqrt(n0.var(("chain", "draw")) / 200 + sample.var(("chain", "draw")) / 2000)
    z = (diff / se).values
    assert np.max(np.abs(z)) < stats.norm.isf(0.001 / len(z) / 2)


def test_known_t0_and_population_only(decay_frame, decay_data):
    got = ph.fit_partitioned(decay_frame, "decay", t0="known", var_names=["alpha"], draws=50,
                             chains=2, random_seed=SEED, **DECAY_OPTS)
    assert set(got["posterior"].data_vars) == {"alpha"}
    ref = decay_posterior(decay_data, t0="known")
    assert stats.kstest(got["posterior"]["alpha"].values.ravel(), ref.cdf).pvalue > 1e-3
    units = ph.fit_partitioned(decay_frame, "decay", t0="known", draws=20, chains=1,
                               random_seed=SEED, dtype="float32", **DECAY_OPTS)
    assert set(units["posterior"].data_vars) == {"alpha", "N0"}
    assert units["posterior"]["N0"].dtype == np.float32


def _groups(n=3000, seed=5, offset=1000.0):
    rng = np.random.default_rng(seed)
    sigma = rng.uniform(5, 15, n)
    y = offset + 5.0 * rng.standard_normal(n) + sigma * rng.standard_normal(n)
    return ph.SchoolsData(y=y, sigma=sigma, names=[f"g{i}" for i in range(n)], dim="group")


def test_partitioned_normal(client, tmp_path):
    """Groups far from 0 (y ~ 1000): the blocks' sums are combined without losing digits."""
    data = _groups()
    frame = data.to_dataframe()
    opts = {"priors": "bda", "draws": 100, "chains": 2, "random_seed": SEED, "dim": "group",
            "block_size": 700}
    got = ph.fit_partitioned(dd.from_pandas(frame, npartitions=3, sort=False),
                             "hierarchical_normal",
                             store=tmp_path / "g.zarr", client=client, **opts)
    mem = ph.fit_partitioned(frame, "hierarchical_normal", **opts)
    _assert_same(got, mem, ["mu", "tau", "theta_new", "theta", "group"])
    assert got["posterior"]["group"].values[0] == "g0"
    ref = hierarchical_normal_posterior(data, priors="bda")
    from pymc_hier.normal.exact_partitioned import NORMAL_PARTITIONED
    from pymc_hier.scale.blocks import Blocks

    post = NORMAL_PARTITIONED.posterior(Blocks.from_source(frame, ("y", "sigma"),
                                                           block_size=700), priors="bda")
    tau = np.exp(ref.grid.t[::200])
    for a, b in zip(post._conditionals(tau), ref._conditionals(tau), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-9)
    q = np.array([1e-4, 0.5, 1 - 1e-4])
    assert np.max(np.abs(post.cdf(ref.quantile(q)) - q)) <= 1e-9
    assert stats.kstest(mem["posterior"]["tau"].values.ravel(), ref.cdf).pvalue > 1e-3


def test_the_sums_check_can_fail():
    """Combining blocks naively (sum y^2/V - ...) would lose all digits at y ~ 1e8: ours not."""
    from pymc_hier.normal.exact_partitioned import _block_stats, _combine

    data = _groups(n=2000, offset=1e8)
    tau = np.array([0.5, 5.0, 50.0])
    blocks = [{"y": data.y[i:i + 300], "sigma": data.sigma[i:i + 300]}
              for i in range(0, 2000, 300)]
    stats_ = np.stack([_block_stats(b, i, tau) for i, b in enumerate(blocks)])
    got = _combine(stats_, 0.0, 0.0, tau.shape)[0]
    ref = hierarchical_normal_posterior(data, priors="bda")._conditionals(tau)[0]
    np.testing.assert_allclose(got, ref, rtol=1e-10)  # y's own rounding at 1e8: 1e-8
    v = data.sigma[:, None] ** 2 + tau**2
    naive = -0.5 * (np.log(v).sum(0) + np.log((1 / v).sum(0))
                    + (data.y[:, None] ** 2 / v).sum(0)
                    - (data.y[:, None] / v).sum(0) ** 2 / (1 / v).sum(0))
    assert np.max(np.abs(naive - ref)) > 1.0


def test_bad_input(decay_frame):
    with pytest.raises(ValueError, match="n0_max"):
        ph.fit_partitioned(decay_frame.drop(columns="n0_max"), "decay", **DECAY_OPTS)
    with pytest.raises(ValueError, match="missing column"):
        ph.fit_partitioned(decay_frame.drop(columns="sigma"), "decay", **DECAY_OPTS)
    bad = decay_frame.copy()
    bad.loc[700, "sigma"] = -1.0
    with pytest.raises(ValueError, match=r"block 2 \(rows 512-767\): sigma"):
        ph.fit_partitioned(bad, "decay", **DECAY_OPTS)
    with pytest.raises(ValueError, match="options"):
        ph.fit_partitioned(decay_frame, "decay", parametrization="marginal", **DECAY_OPTS)
    with pytest.raises(ValueError, match="var_names"):
        ph.fit_partitioned(decay_frame, "decay", var_names=["theta"], **DECAY_OPTS)
    with pytest.raises(ValueError, match="dtype"):
        ph.fit_partitioned(decay_frame, "decay", dtype="float16", **DECAY_OPTS)
    with pytest.raises(ValueError, match="block_size"):
        ph.fit_partitioned(decay_frame, "decay", time_unit="day", block_size=0)
    with pytest.raises(TypeError, match="source"):
        ph.fit_partitioned(decay_frame.to_numpy(), "decay", **DECAY_OPTS)
    with pytest.raises(ValueError, match="no files"):
        ph.fit_partitioned("/nonexistent/*.parquet", "decay", **DECAY_OPTS)
    no_blocks = dataclasses.replace(ph.DECAY, name="decay_copy", exact_partitioned=None)
    with pytest.raises(ValueError, match="exact_partitioned"):
        ph.fit_partitioned(decay_frame, no_blocks)
    with pytest.raises(TypeError, match="family"):
        ph.fit_partitioned(decay_frame, 3)


@pytest.mark.slow
def test_process_cluster_gives_the_in_memory_draws(files, in_memory, tmp_path):
    """Worker processes (everything pickled, every worker compiles its own kernels)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            got = ph.fit_partitioned(str(files / "parquet"), "decay",
                                     store=tmp_path / "p.zarr", draws=100, chains=2,
                                     random_seed=SEED, client=c, **DECAY_OPTS)
            _assert_same(got, in_memory, ["alpha", "t0", "N0", "widget"])
    assert isinstance(pd.Index(got["posterior"]["widget"].values), pd.Index)


def test_blocks_are_spread_evenly_over_the_workers(client, files):
    """Block i lives on the (i mod 2)-th worker, whichever worker read its rows."""
    from pymc_hier.scale.blocks import Blocks

    blocks = Blocks.from_source(str(files / "parquet"), ["t_measured", "sigma"],
                                block_size=BLOCK, client=client)
    distributed.wait(blocks._futures)
    workers = sorted(client.nthreads())
    where = client.who_has(blocks._futures)
    placed = [tuple(where[f.key]) for f in blocks._futures]
    assert placed == [(workers[i % 2],) for i in range(blocks.n_blocks)]
    assert blocks.n_blocks == 6
