"""What a model family built: :class:`ModelSpec`, attached to every model it returns.

A spec records the family, the options, the priors and the data of one model. It travels
with the model in two places: an attribute of the ``pm.Model`` and the ``tag`` of every
named variable. PyMC's model transformations (:func:`pymc.do`, :func:`pymc.observe`,
:func:`pymc.model.fgraph.clone_model`) build a new ``pm.Model`` from clones of the
variables, and clones keep their tags, so :func:`get_spec` finds the spec again. It also
records which variables were free and observed when the model was built: a model whose
variables changed since (``pm.do`` fixed a parameter, ``pm.observe`` observed one) is no
longer the family's model, and :func:`get_spec` then says so with a
:class:`~pymc_hier.exceptions.FamilyWarning` and treats it as a plain PyMC model.

This module imports no family: families import it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymc as pm

from pymc_hier.exceptions import FamilyWarning
from pymc_hier.priors import Prior

__all__ = [
    "HYPER_SEP",
    "ModelSpec",
    "attach_spec",
    "current_data",
    "current_priors",
    "get_spec",
    "model_structure",
    "prior_variable",
]

_ATTR = "_pymc_hier_spec"
_TAG = "pymc_hier_spec"
#: Separator of a prior's hyperparameter held as ``pm.Data``: ``"tau__beta"``.
HYPER_SEP = "__"


def model_structure(model: pm.Model) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(free variable names, observed variable names)`` of ``model``, sorted."""
    return (tuple(sorted(v.name for v in model.free_RVs)),
            tuple(sorted(v.name for v in model.observed_RVs)))


@dataclass(frozen=True)
class ModelSpec:
    """Record of how a model was built: its family, options, priors and data.

    Attributes
    ----------
    family : ModelFamily
        The family that built the model (:class:`pymc_hier.ModelFamily`).
    options : mapping
        The keyword options, JSON-serialisable (``pgm`` excluded).
    priors : mapping of str to Prior
        The priors actually used (defaults merged with the user's).
    data : object
        The data the model was built on (the family's data type).
    factory : str
        Name of the function that built it (``"eight_schools_model"``); recorded in the
        provenance of fits.
    structure : tuple
        Free and observed variable names when the model was built (see
        :func:`model_structure`).
    """

    family: Any
    options: Mapping[str, Any]
    priors: Mapping[str, Prior]
    data: Any = field(repr=False)
    factory: str = ""
    structure: tuple = field(default=((), ()), repr=False)

    def to_dict(self) -> dict:
        """Return a JSON-serialisable description (data by fingerprint)."""
        return {
            "family": self.family.name,
            "factory": self.factory or self.family.name,
            "options": dict(self.options),
            "priors": {k: p.to_dict() for k, p in self.priors.items()},
            "data_hash": self.family.fingerprint(self.data),
        }

    def config_hash(self) -> str:
        """SHA-256 of :meth:`to_dict` (data + configuration), hex."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def rebuild(self, *, data=None, priors=None, **options):
        """Build the model again through its family, optionally with changes."""
        merged = {**self.priors, **(priors or {})}
        return self.family.make(self.data if data is None else data, priors=merged,
                                factory=self.factory, **{**self.options, **options})

    def with_hyper(self, hyper: Mapping[str, Any] | None) -> ModelSpec:
        """Return the spec with prior parameters replaced by ``hyper``'s values.

        ``hyper`` maps ``pm.Data`` names of prior parameters (``"tau__beta"``, see
        :data:`HYPER_SEP`) to values; other names are ignored here.
        """
        if not hyper:
            return self
        priors = dict(self.priors)
        for name, prior in self.priors.items():
            changes = {p: np.asarray(hyper[f"{name}{HYPER_SEP}{p}"]).tolist()
                       for p in prior.params if f"{name}{HYPER_SEP}{p}" in hyper}
            if changes:
                priors[name] = prior.with_params(**changes)
        return ModelSpec(self.family, self.options, priors, self.data, self.factory,
                         self.structure)


def attach_spec(model: pm.Model, spec: ModelSpec) -> pm.Model:
    """Attach ``spec`` to ``model`` (and to its variables' tags) and return the model."""
    spec = ModelSpec(spec.family, spec.options, spec.priors, spec.data, spec.factory,
                     model_structure(model))
    setattr(model, _ATTR, spec)
    for var in model.named_vars.values():
        tag = getattr(var, "tag", None)
        if tag is not None:
            setattr(tag, _TAG, spec)
    return model


def _tagged(model: pm.Model) -> ModelSpec | None:
    for var in (*model.observed_RVs, *model.free_RVs, *model.deterministics):
        spec = getattr(getattr(var, "tag", None), _TAG, None)
        if spec is not None:
            return spec
    return None


def get_spec(model: pm.Model, *, warn: bool = True) -> ModelSpec | None:
    """Return the :class:`ModelSpec` of a model built by a model family, else None.

    A model made from a family's model by :func:`pymc.do`, :func:`pymc.observe` or
    ``clone_model`` keeps the spec when its free and observed variables are unchanged
    (``clone_model``); when they changed it is no longer the family's model and None is
    returned, with a :class:`~pymc_hier.exceptions.FamilyWarning` saying so when ``warn``.
    """
    spec = getattr(model, _ATTR, None)
    if spec is not None:
        return spec
    spec = _tagged(model)
    if spec is None:
        return None
    if spec.structure == model_structure(model):
        setattr(model, _ATTR, spec)
        return spec
    if warn:
        free, observed = model_structure(model)
        warnings.warn(
            f"model: derived from a {spec.family.name!r} model but its variables changed "
            f"(free {list(spec.structure[0])} -> {list(free)}, observed "
            f"{list(spec.structure[1])} -> {list(observed)}, e.g. by pm.do or pm.observe); "
            f"it is treated as a plain PyMC model: the family's exact posterior, "
            f"post-processing and generative view do not apply",
            FamilyWarning, stacklevel=2)
    return None


def prior_variable(name: str, prior: Prior, *, dims=None, **kwargs):
    """Create the random variable ``name`` from ``prior`` in the current model.

    Parameters
    ----------
    name : str
        Variable name.
    prior : Prior
        Its prior.
    dims : str or tuple of str, optional
        Model dims.
    **kwargs
        Passed to the distribution (``transform``, ...).

    Notes
    -----
    A prior sweep holds the prior's parameters as ``pm.Data`` by rewriting the model's
    graph (:func:`pymc_hier.sensitivity.hyper.lift_hyperparameters`); factories need not
    do anything for it.
    """
    return prior.create_variable(name, dims=dims, **kwargs)


def current_data(model: pm.Model, name: str, hyper: Mapping | None = None):
    """Value of the model's ``pm.Data`` ``name``, or its override in ``hyper``."""
    if hyper is not None and name in hyper:
        return hyper[name]
    return model[name].get_value()


def current_priors(model: pm.Model, spec: ModelSpec,
                   hyper: Mapping | None = None) -> dict[str, Prior]:
    """Return the spec's priors with hyperparameters read from the model's ``pm.Data``.

    A model whose prior parameters are held as ``pm.Data`` (``"alpha__beta"``; a prior
    sweep lifts them so) may have had them changed by ``pm.set_data`` since. ``hyper``
    overrides some of those values by name without touching the model (so that threads can
    share it). Each parameter is read on its own: a sweep of ``"mu.mu"`` leaves the prior's
    ``sigma`` as it is.
    """
    data = {v.name for v in model.data_vars} | set(hyper or {})
    out = {}
    for name, prior in spec.priors.items():
        changes = {p: np.asarray(current_data(model, f"{name}{HYPER_SEP}{p}", hyper)).tolist()
                   for p in prior.params if f"{name}{HYPER_SEP}{p}" in data}
        out[name] = prior.with_params(**changes) if changes else prior
    return out
