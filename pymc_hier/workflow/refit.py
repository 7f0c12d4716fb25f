"""Refits that leave observations out, compiled once: the fallback of :func:`cross_validate`.

Any PyMC model is copied (built again through its family, or ``clone_model`` for a plain
model) with one ``pm.Data`` mask ``_cv_keep`` along the observations and a potential that
takes each left-out observation's log-likelihood away again::

    log p(theta | y_keep) = log p(theta, y) - sum_i (1 - keep_i) log p(y_i | theta) + const

so the left-out group's own parameters keep their prior given the population, exactly as
leaving its data out makes them. The copy is compiled once with nutpie; each refit only
changes the mask (``compiled.with_data``), and runs here or in any
:class:`concurrent.futures.Executor` (jobs pickle with cloudpickle and compile once per
worker process).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymc as pm
import xarray as xr
from scipy.special import logsumexp

from pymc_hier.ppc import pointwise_log_likelihood
from pymc_hier.sensitivity.runs import CloudpickledModel, cached_compile, sample
from pymc_hier.spec import get_spec

__all__ = ["KEEP", "FoldJob", "leave_out_model", "refit_densities"]

#: Name of the mask of kept observations in a leave-out model.
KEEP = "_cv_keep"


def leave_out_model(model: pm.Model, var_name: str) -> pm.Model:
    """Return a copy of ``model`` whose observations of ``var_name`` can be left out.

    Parameters
    ----------
    model : pymc.Model
        Any PyMC model with the observed variable ``var_name``.
    var_name : str
        The observed variable.

    Returns
    -------
    pymc.Model
        The copy, with the ``pm.Data`` mask :data:`KEEP` (ones: nothing left out) shaped
        like the observations; a family's model keeps its spec.
    """
    from pymc.model.fgraph import clone_model

    spec = get_spec(model, warn=False)
    fresh = spec.rebuild() if spec is not None else clone_model(model)
    rv = fresh[var_name]
    value = fresh.rvs_to_values[rv]
    dims = fresh.named_vars_to_dims.get(var_name)
    shape = np.shape(value.data if hasattr(value, "data") else value.get_value())
    with fresh:
        keep = pm.Data(KEEP, np.ones(shape), dims=dims)
        pm.Potential("_cv_left_out", -((1.0 - keep) * pm.logp(rv, value)).sum())
    return fresh


@dataclass
class FoldJob(CloudpickledModel):
    """One refit with observations left out; picklable (the model travels cloudpickled)."""

    model: Any = field(repr=False)
    key: str
    keep: np.ndarray = field(repr=False)
    sample_kwargs: dict
    compiled: Any = field(default=None, repr=False)

    def __call__(self) -> xr.Dataset:
        """Sample the model with ``keep`` as the mask; return the posterior."""
        compiled = self.compiled if self.compiled is not None \
            else cached_compile(self.key, lambda: self.model)
        return sample(compiled, {KEEP: self.keep}, self.sample_kwargs)


def _run(job: FoldJob) -> xr.Dataset:
    return job()


def refit_densities(model: pm.Model, var_name: str, folds: dict, *, sample_kwargs: dict,
                    seeds: dict, executor=None) -> dict:
    """Return ``log p(y_fold | y_rest)`` of each fold, each from its own refit.

    Parameters
    ----------
    model : pymc.Model
        The fitted model.
    var_name : str
        Its observed variable.
    folds : dict
        Fold label -> boolean array over the observations (True: left out).
    sample_kwargs : dict
        ``draws``, ``tune``, ``chains`` of nutpie.
    seeds : dict
        Fold label -> seed of its refit.
    executor : concurrent.futures.Executor, optional
        Where refits run (here by default).

    Returns
    -------
    dict
        Fold label -> log predictive density of its observations (the log of the mean over
        the refit's draws of their joint likelihood).
    """
    fresh = leave_out_model(model, var_name)
    key = f"cv:{uuid.uuid4().hex}"
    compiled = cached_compile(key, lambda: fresh)
    jobs = {label: FoldJob(fresh, key, (~out).astype(float),
                           {**sample_kwargs, "seed": int(seeds[label])}, compiled)
            for label, out in folds.items()}
    if executor is None:
        posteriors = {label: job() for label, job in jobs.items()}
    else:
        futures = {label: executor.submit(_run, job) for label, job in jobs.items()}
        posteriors = {label: fut.result() for label, fut in futures.items()}
    out = {}
    for label, posterior in posteriors.items():
        tree = xr.DataTree.from_dict({"posterior": posterior})
        ll = pointwise_log_likelihood(tree, fresh)[var_name]
        obs_dims = [d for d in ll.dims if d not in ("chain", "draw")]
        flat = ll.transpose("chain", "draw", *obs_dims).values.reshape(
            ll.sizes["chain"] * ll.sizes["draw"], -1)
        joint = flat[:, folds[label].ravel()].sum(axis=1)
        out[label] = float(logsumexp(joint) - np.log(joint.size))
    return out
