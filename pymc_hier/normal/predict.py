"""Predictions of the hierarchical normal family for new or existing groups (its ``predict``).

A group of ``new_data`` named like a fitted group is that group measured again: its
posterior ``theta_j``, then ``y ~ Normal(theta_j, sigma)`` with the new standard error. Any
other name is a new group: ``theta_new ~ Normal(mu, tau)`` at every posterior draw
(``mu`` itself with complete pooling), then ``y_new ~ Normal(theta_new, sigma)``. Without
pooling the fitted groups say nothing about a new one, which is refused.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from pymc_hier.spec import ModelSpec

__all__ = ["new_groups", "predict"]


def new_groups(new_data, dim: str) -> tuple[list[str], np.ndarray]:
    """Names and standard errors of the groups to predict.

    ``new_data`` is a :class:`pandas.DataFrame` (a ``sigma`` column; names from a column
    named ``dim`` or ``name``, else the index), a mapping with ``sigma`` and optionally
    ``names``, an :class:`xarray.Dataset` with ``sigma`` along ``dim``, or a
    :class:`~pymc_hier.SchoolsData` (its ``y`` is ignored). New groups without names are
    called ``new_0``, ``new_1``, ...
    """
    from pymc_hier.normal.data import SchoolsData

    if isinstance(new_data, SchoolsData):
        return list(new_data.names), np.asarray(new_data.sigma, dtype=float)
    if isinstance(new_data, xr.Dataset):
        if "sigma" not in new_data.data_vars:
            raise ValueError("new_data: needs 'sigma', the standard error of each group")
        sigma = new_data["sigma"]
        names = ([str(v) for v in sigma[sigma.dims[0]].values]
                 if sigma.dims and sigma.dims[0] in sigma.coords else None)
        values = sigma.values
    elif isinstance(new_data, pd.DataFrame):
        if "sigma" not in new_data.columns:
            raise ValueError("new_data: needs a 'sigma' column, the standard error of each "
                             "group")
        values = new_data["sigma"].to_numpy()
        for col in (dim, "name"):
            if col in new_data.columns:
                names = new_data[col].astype(str).tolist()
                break
        else:
            index = new_data.index
            names = None if isinstance(index, pd.RangeIndex) else [str(v) for v in index]
    elif isinstance(new_data, Mapping):
        unknown = set(new_data) - {"sigma", "names", "y"}
        if unknown or "sigma" not in new_data:
            raise ValueError(f"new_data: expected keys 'sigma' and optionally 'names', got "
                             f"{sorted(new_data)}")
        values = new_data["sigma"]
        names = None if new_data.get("names") is None else [str(n) for n in new_data["names"]]
    else:
        raise TypeError(f"new_data: expected a DataFrame, a mapping, a Dataset or SchoolsData, "
                        f"got {type(new_data).__name__}")
    sigma = np.atleast_1d(np.asarray(values, dtype=float))
    if sigma.ndim != 1 or sigma.size == 0:
        raise ValueError(f"new_data: 'sigma' must hold one value per group, got shape "
                         f"{sigma.shape}")
    if not np.all(np.isfinite(sigma)) or np.any(sigma < 0):
        raise ValueError("new_data: 'sigma' must be finite and >= 0 (0: the effect itself)")
    if names is None:
        names = [f"new_{k}" for k in range(sigma.size)]
    if len(names) != sigma.size or len(set(names)) != len(names):
        raise ValueError("new_data: give one unique name per group")
    return names, sigma


def predict(idata: xr.DataTree, model: pm.Model, spec: ModelSpec, new_data, *,
            rng: np.random.Generator) -> tuple[xr.Dataset, xr.Dataset]:
    """Draw ``theta`` and ``y`` for the groups of ``new_data`` (the family's ``predict``).

    Parameters
    ----------
    idata : xarray.DataTree
        The fit (``posterior`` with ``mu``, ``tau`` and ``theta`` as the pooling has them).
    model : pymc.Model
        The fitted model.
    spec : ModelSpec
        Its spec.
    new_data : DataFrame, mapping, Dataset or SchoolsData
        The groups' standard errors (see :func:`new_groups`).
    rng : numpy.random.Generator
        Source of the draws.

    Returns
    -------
    predictions, constant_data : xarray.Dataset
        ``theta`` and ``y`` with dims ``(chain, draw, <group dim>)``; ``sigma`` along the
        group dim, with a boolean ``new`` coordinate saying which groups are new.
    """
    dim = spec.data.dim
    names, sigma = new_groups(new_data, dim)
    post = idata["posterior"].to_dataset()
    pooling = spec.options["pooling"]
    known = list(spec.data.names)
    is_new = np.array([n not in known for n in names])
    if is_new.any() and pooling == "none":
        raise ValueError(f"new_data: without pooling the fitted groups say nothing about new "
                         f"groups ({[n for n, k in zip(names, is_new, strict=True) if k]})")
    if not is_new.all() and "theta" not in post:
        raise ValueError("idata: no 'theta' draws for the fitted groups (theta_storage='none')")
    mu = post["mu"].transpose("chain", "draw").values if pooling != "none" else None
    shape = post.sizes["chain"], post.sizes["draw"]
    theta = np.empty(shape + (len(names),))
    if is_new.any():
        if pooling == "complete":
            theta[..., is_new] = mu[..., None]
        else:
            tau = post["tau"].transpose("chain", "draw").values
            z = rng.standard_normal(shape + (int(is_new.sum()),))
            theta[..., is_new] = mu[..., None] + tau[..., None] * z
    if not is_new.all():
        old = post["theta"].transpose("chain", "draw", dim).values
        index = [known.index(n) for n, k in zip(names, is_new, strict=True) if not k]
        theta[..., ~is_new] = old[..., index]
    y = theta + sigma * rng.standard_normal(theta.shape)
    coords = {"chain": post["chain"].values, "draw": post["draw"].values, dim: names}
    dims = ("chain", "draw", dim)
    predictions = xr.Dataset(
        {"theta": (dims, theta, {"long_name": "group effect",
                                 "description": "theta_j of a fitted group, theta_new ~ "
                                                "Normal(mu, tau) of a new one"}),
         "y": (dims, y, {"long_name": "estimate",
                         "description": "Normal(theta, sigma): the group's next estimate"})},
        coords=coords)
    constant = xr.Dataset({"sigma": (dim, sigma, {"description": "standard error"})},
                          coords={dim: names, "new": (dim, is_new)})
    return predictions, constant
