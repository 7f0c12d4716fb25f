"""The replicate fits of :func:`pymc_hier.sbc`: rebuild, fit, thin, rank.

A :class:`Chunk` holds a few replicates (simulated observations and the reference draws
that produced them) and everything needed to rebuild the model on each: for a family's
model the family (by registry name when registered, so that process pools and Dask can
unpickle it), its data, priors and options; for a plain PyMC model the model itself, whose
observed values are replaced in a copy of its graph. Running a chunk fits each replicate
and returns its ranks; a chunk is the unit an executor runs.

With ``sampler="nutpie"`` a chunk compiles once and reuses the compiled sampler for every
replicate whose model differs from the compiled one only in data. The sampler is compiled
from an :func:`updatable_copy`, whose observed values (and the data-dependent arrays of
value transforms that declare them, such as the decay model's map of ``alpha``) are shared
variables; a replicate's copy must compute the same graph up to the values of those shared
variables (checked with :func:`pytensor.graph.basic.equal_computations`, shared variables
matched by name and value variables by position), and then only new values are passed.
Anything else (another structure, another constant) compiles again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymc as pm
import pytensor
import xarray as xr
from pytensor.compile import SharedVariable
from pytensor.graph.basic import equal_computations
from pytensor.graph.traversal import graph_inputs

from pymc_hier.spec import get_spec

__all__ = ["Chunk", "ModelRecipe", "observe_plain", "run_chunk", "thin_and_rank",
           "updatable_copy"]

#: Suffix of the shared variables that hold a compiled copy's observed values.
_OBSERVED_SUFFIX = "__sbc_observed"
#: Observed variable (log density 0) that carries the transforms' shared arrays.
_CARRIER = "__sbc_carrier"
#: Compiled samplers a chunk keeps (models of one family can take a few structures: the
#: decay model's t0 is edge-aware only on data with sharp edges).
_CACHED = 3


@dataclass
class ModelRecipe:
    """How to build the model on a replicate's observations (picklable for a family).

    Either ``family`` (a :class:`~pymc_hier.ModelFamily`, or its registry name), ``data``,
    ``priors``, ``options`` and ``factory``; or ``model``, a plain PyMC model.
    """

    family: Any = None
    data: Any = None
    priors: Mapping | None = None
    options: Mapping | None = None
    factory: str = ""
    model: Any = None

    @classmethod
    def of(cls, model: pm.Model) -> ModelRecipe:
        """Return the recipe of ``model``: its family's spec, or the model itself."""
        from pymc_hier.registry import families

        spec = get_spec(model, warn=False)
        if spec is None:
            return cls(model=model)
        family = spec.family
        registered = any(f is family for f in families())
        return cls(family=family.name if registered else family, data=spec.data,
                   priors=dict(spec.priors), options=dict(spec.options), factory=spec.factory)

    def build(self, observed: Mapping[str, np.ndarray]) -> pm.Model:
        """Build the model on ``observed`` (simulated values by observed variable name)."""
        if self.model is not None:
            return observe_plain(self.model, observed)
        family = self.family
        if isinstance(family, str):
            from pymc_hier.registry import get_family

            family = get_family(family)
        data = family.data_with_observed(self.data, observed)
        return family.make(data, priors=self.priors, factory=self.factory,
                           **dict(self.options or {}))


def observe_plain(model: pm.Model, observed: Mapping[str, np.ndarray]) -> pm.Model:
    """Return a copy of ``model`` whose observed variables hold ``observed``."""
    import pytensor.tensor as pt
    from pymc.model.fgraph import ModelObservedRV, fgraph_from_model, model_from_fgraph

    fgraph, _ = fgraph_from_model(model)
    for node in list(fgraph.toposort()):
        if isinstance(node.op, ModelObservedRV):
            name = node.outputs[0].name
            if name in observed:
                old = node.inputs[1]
                value = np.asarray(observed[name], dtype=old.dtype).reshape(
                    np.shape(_value_of(old)))
                fgraph.replace(old, pt.constant(value, name=old.name), import_missing=True)
    return model_from_fgraph(fgraph, mutate_fgraph=True)


def _value_of(var):
    if isinstance(var, SharedVariable):
        return var.get_value()
    return getattr(var, "data", None) if hasattr(var, "data") else var.eval()


def updatable_copy(model: pm.Model) -> pm.Model:
    """Return a copy of ``model`` whose data can change without recompiling.

    Observed values become shared variables (``"<name>__sbc_observed"``), and so do the
    arrays of value transforms that declare them: a transform with ``arrays()`` (its
    data-dependent constants by name) and ``with_arrays(tensors)`` (the same transform
    reading them from tensors) is replaced by one reading shared variables
    ``"<var>__<array>__sbc"``. Those reach the graph through an observed carrier variable
    whose log density is 0 (PyMC needs every shared input of a transform in the graph). A
    transform holding model data (``captured()``, by name) gets the copy's.
    """
    import pytensor.tensor as pt
    from pymc.model.fgraph import ModelObservedRV, fgraph_from_model, model_from_fgraph

    fgraph, _ = fgraph_from_model(model)
    for node in list(fgraph.toposort()):
        if isinstance(node.op, ModelObservedRV):
            old = node.inputs[1]
            name = node.outputs[0].name + _OBSERVED_SUFFIX
            fgraph.replace(old, pytensor.shared(np.asarray(_value_of(old)), name=name),
                           import_missing=True)
    copy = model_from_fgraph(fgraph, mutate_fgraph=True)
    carried = []
    for rv, transform in list(copy.rvs_to_transforms.items()):
        if transform is None or not callable(getattr(transform, "arrays", None)):
            continue
        tensors = {key: pytensor.shared(np.asarray(value), name=f"{rv.name}__{key}__sbc")
                   for key, value in transform.arrays().items()}
        carried += list(tensors.values())
        # model data the transform holds: the copy's (PyMC copies shared variables)
        captured = getattr(transform, "captured", dict)()
        tensors.update({key: copy[var.name] for key, var in captured.items()})
        if tensors:
            copy.rvs_to_transforms[rv] = transform.with_arrays(tensors)
    if carried:
        cores = ",".join("(" + ",".join(f"d{i}_{j}" for j in range(v.ndim)) + ")"
                         for i, v in enumerate(carried))
        with copy:
            pm.CustomDist(_CARRIER, *carried, logp=lambda value, *arrays: pt.zeros_like(value),
                          signature=f"{cores}->()", observed=np.zeros(()))
    return copy


def _signature(model: pm.Model):
    """Return outputs and inputs to compare a model's compiled functions with another's."""
    outputs = [model.logp(), *model.unobserved_value_vars]
    shared = sorted((v for v in graph_inputs(outputs) if isinstance(v, SharedVariable)),
                    key=lambda v: v.name or "")
    return outputs, list(model.value_vars), shared


@dataclass
class _Compiled:
    """One compiled nutpie sampler (of an :func:`updatable_copy`) and its graph."""

    compiled: Any
    signature: tuple

    def updates_for(self, copy: pm.Model) -> dict | None:
        """Shared values that make the sampler ``copy``'s, or None when they cannot."""
        outputs, values, shared = _signature(copy)
        ref_outputs, ref_values, ref_shared = self.signature
        names = [v.name for v in shared]
        if (names != [v.name for v in ref_shared] or len(set(names)) != len(names)
                or None in names or len(values) != len(ref_values)):
            return None
        if not equal_computations(outputs, ref_outputs, in_xs=values + shared,
                                  in_ys=ref_values + ref_shared):
            return None
        known = {v.name for v in self.compiled.shared_var_keys}
        updates = {}
        for var, ref in zip(shared, ref_shared, strict=True):
            value = var.get_value()
            if var.name in known:
                updates[var.name] = value
            elif not np.array_equal(value, ref.get_value()):
                return None  # compiled in as a constant (a dim length): cannot change
        return updates


def _compile(copy: pm.Model, start) -> _Compiled:
    import nutpie

    compiled = nutpie.compile_pymc_model(copy, backend="numba", initial_points=start)
    return _Compiled(compiled, _signature(copy))


@dataclass
class Chunk:
    """Replicates fitted together (one task of an executor)."""

    recipe: ModelRecipe
    index: Sequence[int]
    observed: Sequence[Mapping[str, np.ndarray]]
    references: Sequence[Mapping[str, np.ndarray]]
    seeds: Sequence[int]
    var_names: Sequence[str]
    sampler: str
    draws: int
    mcmc: Mapping[str, int] = field(default_factory=dict)
    sampler_kwargs: Mapping = field(default_factory=dict)

    def __call__(self, callback=None) -> list[dict]:
        """Fit every replicate; return its ranks and diagnostics (or its error).

        ``callback()`` is called after each replicate (a progress bar's ``update``).
        """
        cache: list[_Compiled] = []
        out = []
        for i, obs, ref, seed in zip(self.index, self.observed, self.references, self.seeds,
                                     strict=True):
            try:
                row = self._one(obs, ref, seed, cache)
            except Exception as err:  # noqa: BLE001 - reported per replicate
                row = {"error": f"{type(err).__name__}: {err}"}
            out.append({"index": int(i), **row})
            if callback is not None:
                callback()
        return out

    def _one(self, observed, reference, seed, cache) -> dict:
        rng = np.random.default_rng(seed)
        model = self.recipe.build(observed)
        spec = get_spec(model, warn=False)
        if self.sampler == "exact":
            post = spec.family.exact_posterior(model, spec)
            draws = post.sample(self.draws, 1, random_seed=int(rng.integers(2**62)),
                                var_names=list(self.var_names))["posterior"].to_dataset()
            diagnostics = {"divergences": 0, "max_rhat": np.nan, "min_ess": np.nan,
                           "thin": 1}
        else:
            idata = self._mcmc(model, spec, int(rng.integers(2**62)), cache)
            draws = idata["posterior"].to_dataset()
            diagnostics = _diagnostics(idata, draws, self.var_names)
        ranks, thin = thin_and_rank(draws, reference, self.var_names, self.draws, rng,
                                    ess=diagnostics["min_ess"])
        diagnostics["thin"] = thin
        return {"ranks": ranks, **diagnostics}

    def _mcmc(self, model, spec, seed, cache) -> xr.DataTree:
        kwargs = dict(self.sampler_kwargs)
        if self.sampler == "nutpie":
            import nutpie

            copy = updatable_copy(model)
            found = next(((c, u) for c in cache if (u := c.updates_for(copy)) is not None),
                         None)
            if found is None:  # a structure not compiled yet (at most _CACHED kept)
                start = None
                if spec is not None and spec.family.initial_values is not None:
                    start = spec.family.initial_values(model, spec) or None
                cache[:] = [*cache[-(_CACHED - 1):], _compile(copy, start)]
                found = cache[-1], cache[-1].updates_for(copy)
            compiled = found[0].compiled.with_data(**found[1])
            idata = nutpie.sample(compiled, draws=self.mcmc["draws"], tune=self.mcmc["tune"],
                                  chains=self.mcmc["chains"], seed=seed, progress_bar=False,
                                  **kwargs)
        else:
            if spec is not None and spec.family.initial_values is not None:
                kwargs.setdefault("initvals", spec.family.initial_values(model, spec) or None)
            idata = pm.sample(draws=self.mcmc["draws"], tune=self.mcmc["tune"],
                              chains=self.mcmc["chains"], nuts_sampler=self.sampler,
                              random_seed=seed, progressbar=False, model=model,
                              compute_convergence_checks=False, **kwargs)
        if spec is not None and spec.family.postprocess is not None:
            idata = spec.family.postprocess(idata, model, spec, random_seed=seed + 1)
        return idata


def run_chunk(chunk: Chunk) -> list[dict]:
    """Run ``chunk`` (module level, so that executors can pickle the call)."""
    return chunk()


def _diagnostics(idata: xr.DataTree, posterior: xr.Dataset, var_names) -> dict:
    import arviz_stats as azs

    ranked = posterior[list(var_names)]
    ess = min(float(azs.ess(ranked, method=m).to_array().min()) for m in ("bulk", "tail"))
    rhat = float(azs.rhat(ranked).to_array().max())
    stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata.children else None
    divergences = (int(stats["diverging"].astype(bool).sum())
                   if stats is not None and "diverging" in stats else 0)
    return {"divergences": divergences, "max_rhat": rhat, "min_ess": ess}


def thin_and_rank(posterior: xr.Dataset, reference: Mapping[str, np.ndarray], var_names,
                  n_draws: int, rng: np.random.Generator, *, ess: float = np.nan):
    """Ranks of ``reference`` among ``n_draws`` (near-)independent posterior draws.

    The draws are thinned to about ``ess`` independent ones (every ``k``-th draw of each
    chain, ``k = ceil(draws / ess)``) and ``n_draws`` of those are chosen at random; when
    fewer than ``n_draws`` remain, ``n_draws`` evenly spaced draws of all are used and the
    thinning returned is below ``draws / ess``. Ties are broken at random.

    Returns
    -------
    ranks : dict
        Integer ranks in ``[0, n_draws]`` by variable, shaped like one draw.
    thin : float
        Draws per draw kept (1 for independent draws).
    """
    first = posterior[var_names[0]]
    n_chain, n_draw = first.sizes["chain"], first.sizes["draw"]
    total = n_chain * n_draw
    step = 1 if not np.isfinite(ess) or ess <= 0 else max(1, math.ceil(total / ess))
    kept = np.arange(total).reshape(n_chain, n_draw)[:, ::step].ravel()
    if len(kept) >= n_draws:
        chosen = np.sort(rng.choice(kept, size=n_draws, replace=False))
    else:
        chosen = np.round(np.linspace(0, total - 1, n_draws)).astype(int)
    ranks = {}
    for name in var_names:
        da = posterior[name]
        rest = [d for d in da.dims if d not in ("chain", "draw")]
        x = da.transpose("chain", "draw", *rest).values.reshape((total,) + da.shape[2:])[chosen]
        ref = np.asarray(reference[name])
        below = (x < ref).sum(axis=0)
        ties = (x == ref).sum(axis=0)
        ranks[name] = below + rng.integers(0, ties + 1)
    return ranks, total / len(chosen) if len(chosen) else np.nan
