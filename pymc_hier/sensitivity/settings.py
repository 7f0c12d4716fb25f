"""How ``prior_sweep``'s ``param``/``values`` name hyperparameter settings.

Three forms of ``param`` are accepted (checked in this order):

``"var.param"``
    One numeric parameter of a prior, e.g. ``"tau.beta"``; values are numbers. The model
    built with ``hyper_data=True`` holds it as ``pm.Data("tau__beta")``.
``"var"``
    A whole prior, e.g. ``"tau"``; values are :class:`~pymc_hier.Prior` objects (or their
    dicts) of the same distribution as the model's prior, so that every setting is a change
    of hyperparameter values in one compiled model.
``"name"``
    A fixed input registered as ``pm.Data``, e.g. ``"N0_max"`` in the decay model (matched
    case-insensitively, so the data field name ``"n0_max"`` works too); values are numbers
    (or arrays of the data's shape).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pymc_hier.priors import Prior
from pymc_hier.spec import HYPER_SEP


@dataclass(frozen=True)
class Setting:
    """One point of a sweep: its label, ``pm.Data`` values and coordinate values."""

    label: str
    hyper: Mapping[str, np.ndarray]
    coords: Mapping[str, float] = field(default_factory=dict)


def _data_names(model) -> list[str]:
    return [v.name for v in model.data_vars]


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


def _number(param: str, v) -> np.ndarray:
    if isinstance(v, bool) or isinstance(v, (Prior, Mapping, str)):
        raise ValueError(f"values: {param} takes numbers, got {v!r}")
    arr = np.asarray(v, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"values: {param} must be finite, got {v!r}")
    return arr


def resolve_settings(model, spec, param: str, values) -> tuple[list[Setting], dict]:
    """Turn ``param`` and ``values`` into :class:`Setting` objects for ``model``.

    Parameters
    ----------
    model : pm.Model
        The model built with ``hyper_data=True``.
    spec : ModelSpec
        Its spec (priors by name).
    param : str
        See the module docstring.
    values : sequence
        The settings.

    Returns
    -------
    settings : list of Setting
    base : dict
        The model's own values of the swept ``pm.Data`` (the base setting).

    Raises
    ------
    ValueError
        For an unknown ``param``, empty or repeated values, values of the wrong kind or
        outside the parameter's domain.
    """
    if not isinstance(param, str) or not param:
        raise ValueError(f"param: expected a name such as 'tau.beta', got {param!r}")
    priors = dict(spec.priors) if spec is not None else {}
    data_names = _data_names(model)
    values = _check_values(values)

    if "." in param:
        var, hp = param.split(".", 1)
        if var not in priors:
            raise ValueError(_unknown(param, priors, data_names))
        prior = priors[var]
        if hp not in prior.params:
            raise ValueError(f"param: the prior of {var!r} ({prior!r}) has no parameter "
                             f"{hp!r} (its parameters: {', '.join(prior.params) or 'none'})")
        name = f"{var}{HYPER_SEP}{hp}"
        if name not in data_names:
            raise ValueError(f"param: the model has no pm.Data {name!r}; build it with "
                             "hyper_data=True")
        settings = []
        for v in values:
            arr = _number(param, v)
            prior.with_params(**{hp: arr.tolist()})  # validates the domain (e.g. scale > 0)
            settings.append(Setting(_label(param, arr),
                                    {name: arr}, {param: _scalar(arr)}))
    elif param in priors:
        base_prior = priors[param]
        settings = []
        for v in values:
            p = Prior.from_dict(v) if isinstance(v, Mapping) else v
            if not isinstance(p, Prior):
                raise ValueError(f"values: {param!r} takes Prior objects, got {v!r} (sweep a "
                                 f"single parameter with param='{param}.<name>')")
            if p.dist != base_prior.dist or set(p.params) != set(base_prior.params):
                raise ValueError(
                    f"values: every prior for {param!r} must be a {base_prior.dist} with "
                    f"parameters {sorted(base_prior.params)} like the model's {base_prior!r}; "
                    f"got {p!r}"
                )
            hyper = {f"{param}{HYPER_SEP}{k}": np.asarray(x, dtype=float)
                     for k, x in p.params.items()}
            missing = [n for n in hyper if n not in data_names]
            if missing:
                raise ValueError(f"param: the model has no pm.Data {missing}; build it with "
                                 "hyper_data=True")
            settings.append(Setting(p.label(), hyper,
                                    {f"{param}.{k}": _scalar(np.asarray(x))
                                     for k, x in p.params.items()}))
    else:
        matches = [n for n in data_names if n == param] or \
                  [n for n in data_names if n.lower() == param.lower()]
        if len(matches) != 1:
            raise ValueError(_unknown(param, priors, data_names))
        name = matches[0]
        shape = np.shape(model[name].get_value())
        settings = []
        for v in values:
            arr = _number(param, v)
            if arr.shape != shape:
                raise ValueError(f"values: {name} has shape {shape}, got {v!r}")
            settings.append(Setting(_label(name, arr), {name: arr}, {name: _scalar(arr)}))
    _check_unique(settings)
    base = {n: np.asarray(model[n].get_value()) for n in settings[0].hyper}
    return settings, base


def _label(name: str, arr: np.ndarray) -> str:
    if arr.ndim == 0:
        return f"{name}={float(arr):.10g}"
    return f"{name}={arr.tolist()}"


def _scalar(arr: np.ndarray) -> float:
    return float(arr) if np.ndim(arr) == 0 else float("nan")


def _unknown(param, priors, data_names) -> str:
    hyper = [f"{v}.{k}" for v, p in priors.items() for k in p.params]
    fixed = [n for n in data_names if HYPER_SEP not in n]
    return (f"param: unknown parameter {param!r}; accepted: prior parameters "
            f"{hyper}, priors {list(priors)}, fixed inputs {fixed}")
