"""Check a sweep's settings before anything is fitted: :func:`check_settings`.

A setting outside its parameter's domain (a prior scale <= 0) or one the data rule out (the
decay model's ``n0_max`` below the largest measurement) must fail with a ``ValueError``
naming the parameter and the value, before a sampler starts from a point where the log
density is not finite (nutpie then fails in ways that can take the process down). Two
checks, both generic:

- for a family's model, the family builds the model again with the setting (its priors
  through :meth:`ModelSpec.with_hyper <pymc_hier.ModelSpec.with_hyper>`, a swept
  ``pm.Data`` through the data's own type), so that whatever the family checks when
  building, the sweep checks before fitting;
- for every model that a sampler will start somewhere (all but a family's exact draws),
  the joint log density at the sampler's starting point (PyMC's initial point with the
  family's initial values), as a function of the swept inputs, must be finite and pass
  PyMC's parameter checks.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pymc as pm

__all__ = ["check_settings"]


def check_settings(model: pm.Model, spec, plan, *, start: bool = True,
                   built: pm.Model | None = None) -> list | None:
    """Raise ``ValueError`` for the first setting of ``plan`` the model cannot take.

    Parameters
    ----------
    model : pymc.Model
        The model with the swept inputs as ``pm.Data`` (after lifting).
    spec : ModelSpec or None
        Its family's spec; None for a plain PyMC model.
    plan : pymc_hier.sensitivity.settings.Plan
        The settings.
    start : bool, default True
        Check the log density where a sampler starts as well; not needed for a family's
        exact draws (``sampler="exact"``), which start nowhere: the family's own checks
        remain.
    built : pymc.Model, optional
        The family's model that ``spec`` describes (built with the base values, so its
        checks passed): returned for a setting equal to the base values instead of being
        built again (a decay model with its exact posterior's map: 0.2 s each), provided
        its ``pm.Data`` still hold the spec's data (no ``pm.set_data`` since).

    Returns
    -------
    list of pymc.Model or None
        For a family's model, the model built with each setting (it holds what the family
        computed when building it, such as the exact posterior the decay model's map
        follows, which exact draws of the setting reuse); None for a plain PyMC model.

    Raises
    ------
    ValueError
        ``"values: <setting>: ..."`` saying why.
    """
    rebuilt = None
    if spec is not None:
        reuse = built is not None and _holds_its_data(built, spec)
        rebuilt = [built if reuse and _is_base(s, plan) else _rebuild(spec, s, plan.kind)
                   for s in plan.settings]
        if not start:
            return rebuilt
    logp = _initial_logp_function(model, spec, list(plan.base))
    if logp is None:
        return rebuilt
    from pymc.logprob.utils import ParameterValueError

    for s in plan.settings:
        try:
            value = logp(s.hyper)
        except ParameterValueError as err:
            raise ValueError(f"values: {s.label} is outside the domain of the parameter "
                             f"(PyMC requires {err})") from None
        if not np.isfinite(value):
            raise ValueError(
                f"values: {s.label} gives the model a log density of {value} where the "
                f"sampler starts (outside a parameter's domain, or data the model cannot "
                f"produce)")
    return rebuilt


def _is_base(setting, plan) -> bool:
    """Whether ``setting`` gives every swept input its base value (same shape and values)."""
    base = plan.base
    return set(setting.hyper) == set(base) and all(
        np.shape(setting.hyper[k]) == np.shape(base[k])
        and np.array_equal(np.asarray(setting.hyper[k], dtype=float),
                           np.asarray(base[k], dtype=float)) for k in base)


def _holds_its_data(model: pm.Model, spec) -> bool:
    """Whether every ``pm.Data`` of ``model`` holds its spec's data (no ``pm.set_data`` since).

    Each is compared with the field of that name of the family's dataset view of the data;
    a ``pm.Data`` without such a field gives False (nothing to compare with).
    """
    try:
        ds = spec.family.data_to_dataset(spec.data)
    except Exception:  # noqa: BLE001 - a family without a dataset view: built again
        return False
    for var in model.data_vars:
        if var.name in ds.data_vars:
            expected = ds[var.name].values
        elif var.name in ds.attrs:
            expected = ds.attrs[var.name]
        else:
            return False
        value = np.asarray(var.get_value() if hasattr(var, "get_value") else var.data)
        if value.shape != np.shape(expected) or not np.array_equal(value, expected):
            return False
    return True


def _rebuild(spec, setting, kind: str) -> pm.Model:
    """Build the family's model with ``setting``; its checks raise for a bad value."""
    family = spec.family
    try:
        priors = dict(spec.with_hyper(setting.hyper).priors)
        data = spec.data
        if kind == "data":
            data = _data_with(family, data, setting.hyper)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the base model has shown its warnings
            return family.make(data, priors=priors, factory=spec.factory,
                               **dict(spec.options))
    except (TypeError, ValueError) as err:
        raise ValueError(f"values: {setting.label}: {err}") from None


def _data_with(family, data, hyper: Mapping):
    """Return the family's data with the fields named like the swept ``pm.Data`` replaced."""
    ds = family.data_to_dataset(data).copy()
    changed = False
    for name, value in hyper.items():
        value = np.asarray(value)
        if name in ds.data_vars and ds[name].shape == value.shape:
            ds[name] = ds[name].copy(data=value)
            changed = True
        elif name in ds.attrs and np.shape(ds.attrs[name]) == value.shape:
            ds.attrs[name] = value.item() if value.ndim == 0 else value
            changed = True
    return family.data_from_dataset(ds) if changed else data


def _initial_logp_function(model: pm.Model, spec, names):
    """``f(hyper) -> joint log density at the initial point``, or None if not buildable.

    The initial point is computed from the swept inputs too (a Uniform's midpoint moves
    with its bounds).
    """
    import pytensor
    import pytensor.tensor as pt
    from pymc.initial_point import make_initial_point_expression
    from pytensor.graph.replace import graph_replace

    try:
        start = {}
        if spec is not None and spec.family.initial_values is not None:
            start = spec.family.initial_values(model, spec) or {}
        strategies = {rv: start.get(rv.name, model.rvs_to_initial_values.get(rv))
                      for rv in model.free_RVs}
        points = make_initial_point_expression(
            free_rvs=model.free_RVs, rvs_to_transforms=model.rvs_to_transforms,
            initval_strategies=strategies, jitter_rvs=set(), return_transformed=True)
        values = [model.rvs_to_values[rv] for rv in model.free_RVs]
        logp = graph_replace(model.logp(), dict(zip(values, points, strict=True)),
                             strict=False)
        inputs = {model[n]: pt.tensor(name=n, dtype=model[n].type.dtype,
                                      shape=model[n].type.shape) for n in names}
        logp = graph_replace(logp, inputs, strict=False)
        fn = pytensor.function(list(inputs.values()), logp, mode="FAST_COMPILE",
                               on_unused_input="ignore")
    except Exception:  # noqa: BLE001 - a model PyMC cannot start generically: no check
        return None

    def evaluate(hyper: Mapping) -> float:
        args = [np.asarray(hyper[n], dtype=model[n].type.dtype) for n in names]
        with np.errstate(all="ignore"):
            return float(fn(*args))

    return evaluate
