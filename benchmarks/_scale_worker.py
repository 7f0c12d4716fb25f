"""One row of ``benchmarks/scale.py``, run in its own process: simulate, build, fit, measure.

Three kinds of row:

- ``fit``: :func:`pymc_hier.fit` on a model built in memory, with nutpie (NUTS) or
  ``sampler="exact"`` on a ``backend`` (``numpy``, ``numba``, ``jax``); with ``repeat``
  > 1 the fit is repeated in the same process and the last run reported (the first pays
  the compilation for the data's shapes: ``fit_s_runs`` keeps every run's time);
- ``dask``: :func:`pymc_hier.fit_partitioned` on a ``LocalCluster`` of ``workers``
  single-threaded worker processes, the data written beforehand as Parquet partitions
  (not timed) and the per-unit draws written to a zarr store in a temporary folder.

Every row says what it ran on (``used``: the CPU model, JAX's device, the workers).
"""

from __future__ import annotations

import gc
import math
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

KEY = {"normal": "tau", "decay": "alpha"}


def cpu_model() -> str:
    """The CPU's model name and the number of cores."""
    name = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name or 'CPU'} x{os.cpu_count()}"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _normal_data(n: int, seed: int):
    import numpy as np

    import pymc_hier

    rng = np.random.default_rng(seed)
    sigma = rng.uniform(5, 15, n)
    y = 2.0 + 5.0 * rng.standard_normal(n) + sigma * rng.standard_normal(n)
    return pymc_hier.SchoolsData(y=y, sigma=sigma, names=[str(i) for i in range(n)],
                                 dim="group")


def _decay_options(t0: str = "auto") -> dict:
    from pymc_hier import DECAY

    if t0 != "auto":
        return {"t0": t0, "n0": "marginal"}
    deprecated = getattr(DECAY, "deprecated", {}).get("t0", {})
    if "marginal" in DECAY.options["t0"] and "marginal" not in deprecated:
        return {"t0": "marginal"}
    return {"t0": "latent", "n0": "marginal"}


def _ess(values) -> tuple[float, float]:
    import arviz_stats as azs

    return float(azs.ess(values, method="bulk")), float(azs.rhat(values))


def worker(job: dict) -> dict:
    """Run one row; return timings, memory, ESS and what it ran on."""
    t_start = time.perf_counter()
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import _common as common

    if job.get("backend") == "dask":
        return dask_row(job, t_start)
    if job["sampler"] != "exact":
        common.warm_up_pymc()  # first numba JIT: a per-process cost, reported on its own
    return fit_row(job, t_start)


def fit_row(job: dict, t_start: float) -> dict:
    """``pymc_hier.fit`` of a model built in memory (nutpie, or exact on a backend)."""
    import warnings

    import numpy as np

    import pymc_hier
    from pymc_hier.diagnostics import SamplingWarning

    backend = job.get("backend") or "numpy"
    used = cpu_model()
    if job["sampler"] == "exact" and backend == "jax":
        from pymc_hier.scale.jax_device import describe_device

        used = f"JAX {describe_device()}"
        _warm_up_jax(job["model"])
    rss_imports = _rss_mb()
    t_imports = time.perf_counter() - t_start
    n, name = int(job["n"]), job["model"]
    t0 = time.perf_counter()
    if name == "normal":
        options = {"parametrization": "marginal", "theta_storage": job["theta_storage"]}
        model = pymc_hier.hierarchical_normal_model(_normal_data(n, job["seed"]), **options)
    else:
        data = pymc_hier.simulate_decay(job["seed"], n_widgets=n, time_unit="day")
        options = _decay_options(job.get("decay_t0", "auto"))
        model = pymc_hier.decay_model(data, **options)
    t_build = time.perf_counter() - t0
    kwargs = {"backend": backend} if job["sampler"] == "exact" and backend != "numpy" else {}
    runs = []
    for _ in range(max(1, int(job.get("repeat", 1)))):  # the last run is reported
        idata = None
        gc.collect()
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SamplingWarning)
            idata = pymc_hier.fit(model, sampler=job["sampler"], draws=job["draws"],
                                  tune=job["tune"], chains=job["chains"],
                                  random_seed=job["seed"], progressbar=False, **kwargs)
        runs.append(time.perf_counter() - t0)
    t_fit = runs[-1]
    post = idata["posterior"]
    sample_s = float(post.attrs.get("sampling_time", math.nan))
    stats = idata["sample_stats"] if "sample_stats" in idata.children else {}
    depth = next((stats[k] for k in ("depth", "tree_depth") if k in stats), None)
    ess, rhat = _ess(post[KEY[name]].values)
    return {
        "model": name, "n": n, "sampler": job["sampler"], "backend": backend if
        job["sampler"] == "exact" else "-", "options": options, "used": used,
        "chains": job["chains"], "draws": job["draws"], "tune": job["tune"],
        "imports_s": t_imports, "build_s": t_build, "fit_s": t_fit, "sample_s": sample_s,
        "total_s": t_build + t_fit, "ess_bulk": ess, "rhat": rhat,
        "divergences": int(np.asarray(stats["diverging"]).sum()) if stats else 0,
        "mean_depth": None if depth is None else float(np.mean(depth)),
        "peak_rss_mb": _rss_mb(), "rss_after_imports_mb": rss_imports,
        "fit_s_runs": runs, "warnings": [str(w.message)[:300] for w in caught],
    }


def _warm_up_jax(model: str) -> None:
    """Compile the JAX kernels once on tiny data (a per-process cost, reported apart)."""
    import pymc_hier

    if model == "normal":
        data = _normal_data(50, 1)
        pymc_hier.hierarchical_normal_posterior(data, backend="jax").sample(4, 1, random_seed=1)
    else:
        data = pymc_hier.simulate_decay(1, n_widgets=50, time_unit="day")
        pymc_hier.decay_posterior(data, backend="jax").sample(4, 1, random_seed=1)


def _warm_up_worker(model: str) -> float:
    """Import and compile a worker's kernels once (run on every worker before timing)."""
    t = time.perf_counter()
    import numpy as np

    import pymc_hier

    if model == "decay":
        from pymc_hier.decay.block_kernels import log_likelihoods
        from pymc_hier.decay.draws import draw_widgets

        d = pymc_hier.simulate_decay(1, n_widgets=20, time_unit="day")
        args = (np.asarray(d.n_measured), np.asarray(d.sigma), np.asarray(d.t_measured))
        days = {"day_start": np.asarray(d.day_start), "day_end": np.asarray(d.day_end)}
        log_likelihoods(*args, np.log(d.n0_max), [0.1], **days)
        draw_widgets(*args, np.log(d.n0_max), np.full(3, 0.1), np.random.default_rng(1),
                     **days)
    return time.perf_counter() - t


def _worker_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dask_row(job: dict, t_start: float) -> dict:
    """``pymc_hier.fit_partitioned`` from Parquet partitions on a LocalCluster."""
    from distributed import Client, LocalCluster

    import pymc_hier

    n, name, workers = int(job["n"]), job["model"], int(job.get("workers", 2))
    tmp = Path(tempfile.mkdtemp(prefix="pymc_hier_scale_", dir=job.get("store_dir")))
    try:
        if name == "normal":
            frame = _normal_data(n, job["seed"]).to_dataframe()
            options = {"dim": "group"}
            family = "hierarchical_normal"
        else:
            data = pymc_hier.simulate_decay(job["seed"], n_widgets=n, time_unit="day")
            frame = data.to_dataframe().reset_index()
            frame = frame[["widget", "t_measured", "n_measured", "sigma", "day_start",
                           "day_end"]]
            options = {"n0_max": float(data.n0_max), "time_unit": "day"}
            family = "decay"
        rows_per_file = max(1000, n // 20)
        (tmp / "data").mkdir()
        for i, lo in enumerate(range(0, n, rows_per_file)):
            frame.iloc[lo:lo + rows_per_file].to_parquet(tmp / "data" / f"part-{i:04d}.parquet")
        del frame
        t_cluster = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            client.run(_warm_up_worker, name)
            t_ready = time.perf_counter()
            rss_imports = _rss_mb()
            t0 = time.perf_counter()
            idata = pymc_hier.fit_partitioned(
                str(tmp / "data"), family, store=tmp / "draws.zarr", draws=job["draws"],
                chains=job["chains"], random_seed=job["seed"], client=client,
                dtype=job.get("dtype", "float32"), **options)
            t_fit = time.perf_counter() - t0
            worker_rss = client.run(_worker_rss_mb)
            post = idata["posterior"]
            ess, rhat = _ess(post[KEY[name]].values)
            stored = sum(f.stat().st_size for f in (tmp / "draws.zarr").rglob("*")
                         if f.is_file())
        return {
            "model": name, "n": n, "sampler": "exact", "backend": "dask",
            "options": options, "used": f"LocalCluster {workers} workers x 1 thread, "
                                        f"{cpu_model()}",
            "chains": job["chains"], "draws": job["draws"], "tune": 0,
            "imports_s": t_ready - t_start, "cluster_s": t_ready - t_cluster, "build_s": 0.0,
            "fit_s": t_fit, "sample_s": math.nan, "total_s": t_fit, "ess_bulk": ess,
            "rhat": rhat, "divergences": 0, "mean_depth": None,
            "peak_rss_mb": max(_rss_mb(), *worker_rss.values()),
            "client_rss_mb": _rss_mb(), "worker_rss_mb": sorted(worker_rss.values()),
            "rss_after_imports_mb": rss_imports, "store_mb": stored / 2**20,
            "blocks": int(post.attrs["n_blocks"]),
            "warnings": [],
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
