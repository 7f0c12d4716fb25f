"""Posterior predictions for new or existing units: :func:`predict`.

A family's model predicts through its ``predict`` hook, which knows what a new unit is
(a new school drawn from the population, a new widget with its manufacture day, a fitted
widget at a later time). Any other PyMC model predicts the usual PyMC way: its ``pm.Data``
inputs are set to ``new_data`` and the observed variables drawn again
(:func:`pymc.sample_posterior_predictive` with ``predictions=True``). Either way the draws
land in ArviZ's ``predictions`` and ``predictions_constant_data`` groups, seeded.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pymc as pm
import xarray as xr

from pymc_hier.ppc import check_model_matches
from pymc_hier.seeds import resolve_seed
from pymc_hier.spec import get_spec

__all__ = ["predict"]


def predict(idata: xr.DataTree, model: pm.Model, new_data, *, random_seed: int | None,
            coords: Mapping | None = None) -> xr.DataTree:
    """Posterior predictive draws for new (or existing) units, in ``predictions`` groups.

    Parameters
    ----------
    idata : xarray.DataTree
        A fit of ``model`` (exact draws included).
    model : pymc.Model
        The fitted model.
    new_data : object
        What to predict. For the hierarchical normal family: the groups' standard errors
        (a DataFrame with a ``sigma`` column and the names as index, a mapping ``{"sigma":
        [...], "names": [...]}``), a name of a fitted group meaning that group measured
        again. For the decay family: widgets with the time of the prediction (a DataFrame
        with ``widget``, ``t_measured`` and, for new widgets, ``day_start``, ``day_end``;
        ``sigma`` optional), see :func:`pymc_hier.decay.predict.predict`. For a plain PyMC
        model: new values of its ``pm.Data`` by name.
    random_seed : int or None
        Required; ``None`` draws one, recorded in ``attrs["predictions_random_seed"]``.
    coords : mapping, optional
        Plain PyMC models only: new coordinate values for dims whose length changes.

    Returns
    -------
    xarray.DataTree
        A copy of ``idata`` with ``predictions`` (dims ``chain``, ``draw`` and the new
        units) and ``predictions_constant_data``.

    Raises
    ------
    TypeError
        For arguments of the wrong type.
    ValueError
        For ``new_data`` the model cannot predict, or a model that does not match ``idata``.

    Examples
    --------
    >>> import pymc_hier as ph
    >>> model = ph.eight_schools_model()
    >>> idata = ph.fit(model, sampler="exact", random_seed=1, draws=100, chains=2)
    >>> out = ph.predict(idata, model, {"sigma": [10.0], "names": ["I"]}, random_seed=2)
    >>> out["predictions"]["y"].dims
    ('chain', 'draw', 'school')
    """
    if not isinstance(idata, xr.DataTree):
        raise TypeError(f"idata: expected an xarray.DataTree, got {type(idata).__name__}")
    if not isinstance(model, pm.Model):
        raise TypeError(f"model: expected a pymc.Model, got {type(model).__name__}")
    if "posterior" not in idata.children:
        raise ValueError("idata: no 'posterior' group")
    check_model_matches(idata, model)
    seed, source = resolve_seed(random_seed)
    spec = get_spec(model)
    if spec is not None and spec.family.predict is not None:
        if coords is not None:
            raise ValueError(f"coords: the {spec.family.name!r} family labels its "
                             "predictions itself")
        pred, const = spec.family.predict(idata, model, spec, new_data,
                                          rng=np.random.default_rng(seed))
    else:
        pred, const = _plain(idata, model, new_data, coords, seed)
    tree = idata.copy()
    tree["predictions"] = xr.DataTree(pred)
    tree["predictions_constant_data"] = xr.DataTree(const)
    tree.attrs = {**tree.attrs, "predictions_random_seed": seed,
                  "predictions_random_seed_source": source}
    return tree


def _plain(idata, model, new_data, coords, seed) -> tuple[xr.Dataset, xr.Dataset]:
    """Set the model's ``pm.Data`` to ``new_data``, draw, and set them back."""
    if not isinstance(new_data, Mapping):
        raise TypeError(f"new_data: a model without a family's predict takes a mapping of "
                        f"its pm.Data by name, got {type(new_data).__name__}")
    names = {v.name for v in model.data_vars}
    unknown = sorted(set(new_data) - names)
    if unknown:
        raise ValueError(f"new_data: {unknown} are not pm.Data of the model (has "
                         f"{sorted(names)})")
    old = {k: model[k].get_value() for k in new_data}
    old_coords = {d: model.coords[d] for d in (coords or {})}
    trace = xr.DataTree.from_dict({"posterior": idata["posterior"].to_dataset()})
    try:
        pm.set_data(dict(new_data), model=model, coords=dict(coords or {}) or None)
        out = pm.sample_posterior_predictive(trace, model=model, predictions=True,
                                             random_seed=seed, progressbar=False)
    finally:
        pm.set_data(old, model=model, coords=old_coords or None)
    const = (out["predictions_constant_data"].to_dataset()
             if "predictions_constant_data" in out.children else xr.Dataset())
    return out["predictions"].to_dataset(), const
