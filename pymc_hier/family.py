"""What a factory built: :class:`ModelSpec`, attached to every model it returns."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import import_module
from types import MappingProxyType
from typing import Any

import pymc as pm

from pymc_hier.priors import Prior

#: factory name -> "module:function"; the CLI, reports and sweeps look factories up here.
FACTORIES = MappingProxyType({
    "decay_model": "pymc_hier.decay.model:decay_model",
    "hierarchical_normal_model": "pymc_hier.normal.model:hierarchical_normal_model",
    "eight_schools_model": "pymc_hier.normal.model:eight_schools_model",
})

_ATTR = "_pymc_hier_spec"


@dataclass(frozen=True)
class ModelSpec:
    """Record of how a model was built: factory name, options, priors and data.

    Attributes
    ----------
    factory : str
        Name of the factory (a key of :data:`FACTORIES`).
    options : mapping
        The keyword options, JSON-serialisable (``pgm`` excluded).
    priors : mapping of str to Prior
        The priors actually used (defaults merged with the user's).
    data : DecayData or SchoolsData
        The data the model was built on.
    """

    factory: str
    options: Mapping[str, Any]
    priors: Mapping[str, Prior]
    data: Any = field(repr=False)

    def to_dict(self) -> dict:
        """Return a JSON-serialisable description (data by fingerprint)."""
        return {
            "factory": self.factory,
            "options": dict(self.options),
            "priors": {k: p.to_dict() for k, p in self.priors.items()},
            "data_hash": self.data.fingerprint(),
        }

    def config_hash(self) -> str:
        """SHA-256 of :meth:`to_dict` (data + configuration), hex."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def attach_spec(model: pm.Model, spec: ModelSpec) -> pm.Model:
    """Attach ``spec`` to ``model`` and return the model."""
    setattr(model, _ATTR, spec)
    return model


def get_spec(model: pm.Model) -> ModelSpec | None:
    """Return the :class:`ModelSpec` of a model built by a pymc_hier factory, else None."""
    return getattr(model, _ATTR, None)


def get_factory(name: str):
    """Return the factory function registered under ``name``."""
    try:
        target = FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"factory: unknown model factory {name!r} (known: {', '.join(FACTORIES)})"
        ) from None
    module, func = target.split(":")
    return getattr(import_module(module), func)


def rebuild(spec: ModelSpec, *, data=None, priors=None, **options) -> pm.Model:
    """Build the model described by ``spec`` again, optionally with changes."""
    factory = get_factory(spec.factory)
    merged_priors = {**spec.priors, **(priors or {})}
    return factory(spec.data if data is None else data, priors=merged_priors,
                   **{**spec.options, **options})


def finish_model(model: pm.Model, spec: ModelSpec, *, pgm=None) -> pm.Model:
    """Attach the spec and, when ``pgm`` is a path, export the model's PGM there.

    Every factory ends with ``return finish_model(model, spec, pgm=pgm)``. ``pgm`` is a path
    stem handed to :func:`pymc_hier.export_pgm` with its defaults: ``pgm="figs/decay"``
    writes ``figs/decay.dot``, ``figs/decay.svg`` and ``figs/decay.png`` in the lecture style.
    """
    attach_spec(model, spec)
    if pgm is not None:
        from pymc_hier.pgm import export_pgm

        export_pgm(model, pgm)
    return model


HYPER_SEP = "__"


def prior_variable(name: str, prior: Prior, *, dims=None, hyper_data: bool = False, **kwargs):
    """Create the random variable ``name`` from ``prior`` in the current model.

    Parameters
    ----------
    name : str
        Variable name.
    prior : Prior
        Its prior.
    dims : str or tuple of str, optional
        Model dims.
    hyper_data : bool, default False
        When True every numeric parameter of the prior becomes ``pm.Data`` named
        ``f"{name}__{param}"`` (see :data:`HYPER_SEP`), so that a compiled model can be
        refitted with other hyperparameter values without rebuilding or recompiling
        (``prior_sweep`` relies on this).
    **kwargs
        Passed to the distribution (``transform``, ``initval``, ...).
    """
    if hyper_data:
        symbolic = {p: pm.Data(f"{name}{HYPER_SEP}{p}", v) for p, v in prior.params.items()}
        kwargs = {**symbolic, **kwargs}
    return prior.create_variable(name, dims=dims, **kwargs)


def current_data(model: pm.Model, name: str, hyper: Mapping | None = None):
    """Value of the model's ``pm.Data`` ``name``, or its override in ``hyper``."""
    if hyper is not None and name in hyper:
        return hyper[name]
    return model[name].get_value()


def current_priors(model: pm.Model, spec: ModelSpec,
                   hyper: Mapping | None = None) -> dict[str, Prior]:
    """Return the spec's priors with hyperparameters read from the model's ``pm.Data``.

    A model built with ``hyper_data=True`` holds each hyperparameter as ``pm.Data``
    (``"alpha__beta"``), which ``pm.set_data`` may have changed since the model was built.
    ``hyper`` overrides some of those values by name without touching the model (so that
    threads can share it).
    """
    data = {v.name for v in model.data_vars}
    out = {}
    for name, prior in spec.priors.items():
        keys = {p: f"{name}{HYPER_SEP}{p}" for p in prior.params}
        if all(k in data for k in keys.values()):
            prior = Prior(prior.dist, **{p: current_data(model, k, hyper)
                                         for p, k in keys.items()})
        out[name] = prior
    return out


def factory_module(name: str):
    """Return the module that defines the factory registered under ``name``."""
    get_factory(name)  # validates the name
    return import_module(FACTORIES[name].split(":")[0])


def factory_hook(spec: ModelSpec | None, name: str):
    """Return the function ``name`` of the spec's factory module, or None.

    None for a model without a spec, a factory that is not registered here (a user's own
    factory built on :func:`finish_model`) or a module without that hook.
    """
    if spec is None or spec.factory not in FACTORIES:
        return None
    return getattr(factory_module(spec.factory), name, None)
