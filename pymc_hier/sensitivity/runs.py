"""How ``prior_sweep`` runs settings: one compiled model, refits through executors, summaries.

The model is compiled once with nutpie (swept inputs as ``pm.Data``); every refit only
changes those values (``compiled.with_data``). With ``sampler="exact"`` nothing is
compiled: each setting is drawn from the family's exact posterior with the setting's
values passed alongside the shared model (``exact_posterior(model, spec, hyper=...)``).
Refits travel to executors as picklable :class:`RefitJob` objects carrying the model; a
worker that receives one pickled (Dask, process pools) compiles it once per process
through a small cache keyed by the sweep's model (a family's config hash and the swept
inputs, or a key drawn for a plain PyMC model's sweep).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from pymc_hier.sensitivity.reweight import weighted_stats
from pymc_hier.spec import get_spec

__all__ = ["STATS", "CloudpickledModel", "RefitJob", "cached_compile", "clear_compile_cache",
           "exact_sample", "refit_all", "sample", "stack", "summarise"]

#: Summary statistics before the quantiles, in the ``stat`` dimension.
STATS = ("mean", "sd", "mcse_mean")

# Per-process cache of compiled models keyed by the sweep's model (config hash and swept
# inputs), so that repeated sweeps of one model and workers that receive a pickled
# refit job (Dask, process pools) compile once rather than once per sweep or setting.
# Bounded; emptied by clear_compile_cache().
_COMPILED: OrderedDict[str, Any] = OrderedDict()
_COMPILED_LOCK = threading.Lock()
_COMPILED_MAX = 4


def _compile(model):
    from pymc_hier.nutpie_cache import compile_nutpie

    spec = get_spec(model)
    start = None
    if spec is not None and spec.family.initial_values is not None:
        start = spec.family.initial_values(model, spec) or None
    return compile_nutpie(model, initial_points=start)


def cached_compile(key: str | None, build: Callable, *, compile: bool = True):
    """Compile ``build()`` with nutpie, once per ``key`` and process (None: no caching).

    With ``compile=False`` the model itself is cached (what ``sampler="exact"`` needs).
    """
    make = _compile if compile else (lambda model: model)
    if key is None:
        return make(build())
    key = key if compile else f"{key}:model"
    with _COMPILED_LOCK:
        hit = _COMPILED.get(key)
        if hit is not None:
            _COMPILED.move_to_end(key)
            return hit
    compiled = make(build())
    with _COMPILED_LOCK:
        _COMPILED[key] = compiled
        while len(_COMPILED) > _COMPILED_MAX:
            _COMPILED.popitem(last=False)
    return compiled


def clear_compile_cache() -> None:
    """Forget the compiled models kept for reuse by later sweeps in this process."""
    with _COMPILED_LOCK:
        _COMPILED.clear()


class CloudpickledModel:
    """Mixin of picklable jobs: ``model`` travels cloudpickled, ``compiled`` is dropped.

    PyMC models do not pickle with :mod:`pickle` alone; the receiving process compiles the
    model again (once, :func:`cached_compile`).
    """

    def __getstate__(self):
        import cloudpickle

        state = dict(self.__dict__)
        state["compiled"] = None
        state["model"] = cloudpickle.dumps(self.model)
        return state

    def __setstate__(self, state):
        import cloudpickle

        state = dict(state)
        state["model"] = cloudpickle.loads(state["model"])
        self.__dict__.update(state)


@dataclass
class RefitJob(CloudpickledModel):
    """A picklable refit of one setting; recompiles (once per process) after pickling.

    ``model`` is the sweep's model with the swept inputs as ``pm.Data``; it travels
    cloudpickled (PyMC models do not pickle with :mod:`pickle` alone).
    """

    model: Any = field(repr=False)
    key: str
    hyper: Mapping[str, np.ndarray]
    sample_kwargs: Mapping
    var_names: Sequence[str]
    quantiles: Sequence[float]
    compiled: Any = field(default=None, repr=False)
    sampler: str = "nutpie"

    def _compiled(self):
        """Return the compiled model (nutpie) or the model itself (``sampler="exact"``)."""
        if self.compiled is not None:
            return self.compiled
        return cached_compile(self.key, lambda: self.model, compile=self.sampler != "exact")

    def __call__(self) -> dict:
        """Draw this setting's posterior and return its summaries by variable."""
        if self.sampler == "exact":
            posterior = exact_sample(self._compiled(), self.hyper, self.sample_kwargs,
                                     self.var_names)
        else:
            posterior = sample(self._compiled(), self.hyper, self.sample_kwargs)
        return summarise(posterior, self.var_names, None, self.quantiles)


def run_job(job: RefitJob) -> dict:
    """Run ``job`` (a module-level function, so that executors can pickle the call)."""
    return job()


def sample(compiled, hyper: Mapping, sample_kwargs: Mapping) -> xr.Dataset:
    """Sample the nutpie-compiled model with ``hyper``'s data values; return the posterior."""
    import nutpie

    trace = nutpie.sample(compiled.with_data(**{k: np.asarray(v) for k, v in hyper.items()}),
                          progress_bar=False, **sample_kwargs)
    return trace["posterior"].to_dataset()


def exact_sample(model, hyper: Mapping, sample_kwargs: Mapping, var_names) -> xr.Dataset:
    """Independent draws from the exact posterior of ``model`` with ``hyper``'s values.

    Only ``var_names`` are drawn (per-group draws are costly: the decay's per-widget
    ``t0``/``N0``, the hierarchical normal's ``theta``); ``sample_kwargs`` holds ``draws``,
    ``chains`` and ``seed``.
    """
    spec = get_spec(model)
    post = spec.family.exact_posterior(model, spec, hyper=hyper)
    return post.sample(sample_kwargs["draws"], sample_kwargs["chains"],
                       random_seed=sample_kwargs["seed"],
                       var_names=list(var_names))["posterior"].to_dataset()


def stack(posterior: xr.Dataset, name: str) -> np.ndarray:
    """Return the draws of ``name`` as an array ``(chain * draw, *rest)``."""
    da = posterior[name]
    rest = [d for d in da.dims if d not in ("chain", "draw")]
    x = da.transpose("chain", "draw", *rest).values
    return x.reshape((-1,) + x.shape[2:])


def _r_eff(posterior: xr.Dataset, name: str) -> np.ndarray:
    from arviz_stats.base import array_stats

    da = posterior[name]
    rest = [d for d in da.dims if d not in ("chain", "draw")]
    x = np.moveaxis(da.transpose("chain", "draw", *rest).values, (0, 1), (-2, -1))
    ess = np.asarray(array_stats.ess(x, chain_axis=-2, draw_axis=-1, method="mean"))
    return np.clip(ess / (x.shape[-1] * x.shape[-2]), 1e-3, None)


def summarise(posterior: xr.Dataset, var_names, log_weights, quantiles) -> dict:
    """Weighted mean, sd, MCSE and quantiles of each variable (``log_weights`` None: equal)."""
    out = {}
    for name in var_names:
        st = weighted_stats(stack(posterior, name), log_weights, quantiles=quantiles,
                            r_eff=_r_eff(posterior, name))
        out[name] = np.concatenate([np.stack([st[s] for s in STATS]), st["quantile"]])
    return out


def refit_all(jobs: Mapping[int, RefitJob], rows, executor, *, total, done, progressbar):
    """Run every job (in ``executor`` or here), storing each outcome in its row."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=done, desc="prior_sweep", unit="setting",
               disable=not progressbar)
    try:
        for i in jobs:
            rows[i]["method"] = "refit"
        if executor is None:
            for i, job in jobs.items():
                _store(rows[i], job)
                bar.update()
            return
        futures = {}
        for i, job in jobs.items():
            try:
                futures[executor.submit(run_job, job)] = i
            except Exception as err:  # noqa: BLE001 - an executor may fail any way it likes
                rows[i].update(status="failed", error=f"submit failed: {err!r}")
                bar.update()
        for fut in as_completed(futures):
            _store(rows[futures[fut]], fut.result)
            bar.update()
    finally:
        bar.close()


def _store(row: dict, call: Callable[[], dict]) -> None:
    try:
        row["stats"] = call()
    except Exception as err:  # noqa: BLE001 - reported per setting, the sweep goes on
        row.update(status="failed", error=f"{type(err).__name__}: {err}")
    else:
        row.update(status="ok", error="")
