"""How ``prior_sweep``'s ``param``/``values`` name hyperparameter settings.

Three forms of ``param`` are accepted (checked in this order):

``"var.param"``
    One numeric parameter of the prior of a free variable, e.g. ``"tau.sigma"``; values are
    numbers (or arrays of the parameter's shape). It is found in the model's graph and held
    as ``pm.Data("tau__sigma")`` (:mod:`pymc_hier.sensitivity.hyper`), in the user's
    parametrisation (``Gamma``'s ``beta``, not the scale PyMC stores).
``"var"``
    A whole prior, e.g. ``"tau"``; values are :class:`~pymc_hier.Prior` objects (or their
    dicts) of the same distribution as the model's prior, all with the same parameters, so
    that every setting is a change of numbers in one compiled model.
``"name"``
    A fixed input registered as ``pm.Data``, e.g. ``"n0_max"`` in the decay model (matched
    case-insensitively, so ``"N0_max"`` works too); values are numbers (or arrays of the
    data's shape).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pymc_hier.priors import Prior
from pymc_hier.sensitivity.hyper import (
    Hyperparameter,
    data_value,
    distribution_classes,
    find_hyperparameter,
)
from pymc_hier.spec import HYPER_SEP


@dataclass(frozen=True)
class Setting:
    """One point of a sweep: its label, ``pm.Data`` values and coordinate values."""

    label: str
    hyper: Mapping[str, np.ndarray]
    coords: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """What a sweep changes: the settings, the parameters to lift, the base values.

    Attributes
    ----------
    settings : list of Setting
    lift : tuple of Hyperparameter
        Prior parameters to hold as ``pm.Data`` (empty when only data are swept).
    base : dict
        The model's own values of the swept ``pm.Data`` (the base setting).
    kind : str
        ``"parameter"``, ``"prior"`` or ``"data"``.
    """

    settings: list
    lift: tuple
    base: Mapping[str, np.ndarray]
    kind: str


def _check_values(values) -> list:
    if isinstance(values, (str, bytes, Prior, Mapping)) or not isinstance(values, Sequence) and \
            not isinstance(values, np.ndarray):
        raise ValueError(f"values: expected a sequence of settings, got {values!r}")
    values = list(values)
    if not values:
        raise ValueError("values: empty; give at least one setting")
    return values


def _check_unique(settings: Sequence[Setting]) -> None:
    seen = set()
    for i, s in enumerate(settings):
        key = tuple((k, np.asarray(v, dtype=float).tobytes()) for k, v in sorted(s.hyper.items()))
        if key in seen or s.label in {t.label for t in settings[:i]}:
            raise ValueError(f"values: not unique; setting {i} ({s.label}) repeats an earlier one")
        seen.add(key)


def _number(param: str, v, shape) -> np.ndarray:
    if isinstance(v, bool) or isinstance(v, (Prior, Mapping, str)):
        raise ValueError(f"values: {param} takes numbers, got {v!r}")
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"values: {param} takes numbers, got {v!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"values: {param} must be finite, got {v!r}")
    if arr.shape != tuple(shape):
        raise ValueError(f"values: {param} has shape {tuple(shape)}, got {v!r}")
    return arr


def _prior_params(spec, var: str) -> Prior | None:
    return spec.priors.get(var) if spec is not None else None


def _locate(model, spec, var: str, param: str) -> Hyperparameter:
    prior = _prior_params(spec, var)
    if prior is not None and param not in prior.params:
        raise ValueError(f"param: the prior of {var!r} ({prior!r}) has no parameter "
                         f"{param!r} (its parameters: {', '.join(prior.params) or 'none'})")
    return find_hyperparameter(model, var, param,
                               hint=None if prior is None else prior.params[param])


def resolve_settings(model, spec, param: str, values) -> Plan:
    """Turn ``param`` and ``values`` into the :class:`Plan` of a sweep of ``model``.

    Parameters
    ----------
    model : pm.Model
        The model as written (a family's, or a plain PyMC model).
    spec : ModelSpec or None
        Its spec (priors by name), None for a plain PyMC model.
    param : str
        See the module docstring.
    values : sequence
        The settings.

    Returns
    -------
    Plan

    Raises
    ------
    ValueError
        For an unknown ``param``, empty or repeated values, values of the wrong kind or
        shape, or (for a family's prior) outside the parameter's domain.
    """
    if not isinstance(param, str) or not param:
        raise ValueError(f"param: expected a name such as 'tau.sigma', got {param!r}")
    values = _check_values(values)
    free = {v.name for v in model.free_RVs}
    data_names = [v.name for v in model.data_vars]
    if "." in param:
        var, hp = param.split(".", 1)
        if var not in free:
            raise ValueError(_unknown(param, model, spec))
        located = _locate(model, spec, var, hp)
        prior = _prior_params(spec, var)
        settings = []
        for v in values:
            arr = _number(param, v, located.value.shape)
            if located.integer and not np.all(arr == np.round(arr)):
                raise ValueError(f"values: {param} takes whole numbers, got {v!r}")
            label = _label(param, arr)
            if prior is not None:  # the family's own checks of the domain (scale > 0 ...)
                try:
                    prior.with_params(**{hp: arr.tolist()})
                except ValueError as err:
                    raise ValueError(f"values: {label}: {err}") from None
            settings.append(Setting(label, {located.name: arr}, {param: _scalar(arr)}))
        plan = Plan(settings, (located,), {located.name: located.value}, "parameter")
    elif param in free:
        plan = _whole_prior(model, spec, param, values)
    else:
        matches = [n for n in data_names if n == param] or \
                  [n for n in data_names if n.lower() == param.lower()]
        if len(matches) != 1:
            raise ValueError(_unknown(param, model, spec))
        name = matches[0]
        base = data_value(model, name)
        settings = []
        for v in values:
            arr = _number(param, v, base.shape)
            settings.append(Setting(_label(name, arr), {name: arr}, {name: _scalar(arr)}))
        plan = Plan(settings, (), {name: base}, "data")
    _check_unique(plan.settings)
    return plan


def _whole_prior(model, spec, var: str, values) -> Plan:
    """Plan settings that replace the prior of ``var`` by priors of its distribution."""
    model_prior = _prior_params(spec, var)
    dists = ({model_prior.dist} if model_prior is not None else
             {c.__name__ for c in distribution_classes(model[var])})
    priors = []
    for v in values:
        p = Prior.from_dict(v) if isinstance(v, Mapping) else v
        if not isinstance(p, Prior):
            raise ValueError(f"values: {var!r} takes Prior objects, got {v!r} (sweep a "
                             f"single parameter with param='{var}.<name>')")
        if p.dist not in dists or (priors and set(p.params) != set(priors[0].params)) or \
                (model_prior is not None and set(p.params) != set(model_prior.params)):
            like = model_prior if model_prior is not None else priors[0] if priors else None
            want = (f"a {like.dist} with parameters {sorted(like.params)} like {like!r}"
                    if like is not None else f"a {' or '.join(sorted(dists)) or '?'}")
            raise ValueError(f"values: every prior for {var!r} must be {want} (the model's "
                             f"prior); got {p!r}")
        priors.append(p)
    located = tuple(_locate(model, spec, var, k) for k in priors[0].params)
    settings = [Setting(p.label(), {h.name: np.asarray(p.params[h.param], dtype=float)
                                    for h in located},
                        {h.label: _scalar(np.asarray(p.params[h.param])) for h in located})
                for p in priors]
    for s in settings:
        for h in located:
            if s.hyper[h.name].shape != h.value.shape:
                raise ValueError(f"values: {h.label} has shape {h.value.shape}, got "
                                 f"{s.hyper[h.name].tolist()!r}")
    return Plan(settings, located, {h.name: h.value for h in located}, "prior")


def _label(name: str, arr: np.ndarray) -> str:
    if arr.ndim == 0:
        return f"{name}={float(arr):.10g}"
    return f"{name}={arr.tolist()}"


def _scalar(arr: np.ndarray) -> float:
    return float(arr) if np.ndim(arr) == 0 else float("nan")


def _unknown(param, model, spec) -> str:
    if spec is not None:
        hyper = [f"{v}.{k}" for v, p in spec.priors.items() for k in p.params]
        priors = list(spec.priors)
    else:
        priors = [v.name for v in model.free_RVs if distribution_classes(v)]
        hyper = [f"{v}.<parameter>" for v in priors]
    fixed = [v.name for v in model.data_vars if HYPER_SEP not in v.name]
    return (f"param: unknown parameter {param!r}; accepted: prior parameters "
            f"{hyper}, priors {priors}, fixed inputs {fixed}")
