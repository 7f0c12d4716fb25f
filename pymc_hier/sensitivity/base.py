"""What a prior sweep starts from: the model and, when given, the base fit to reweight.

``prior_sweep(model, ...)``, ``prior_sweep(idata, model, ...)``, ``prior_sweep(idata,
...)`` (the model rebuilt from the fit's provenance) and, deprecated for one release,
``prior_sweep(factory, data, ...)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import pymc as pm
import xarray as xr

from pymc_hier.records import MARKER, model_hash, provenance
from pymc_hier.registry import get_family, model_from_fit

__all__ = ["base_posterior", "check_provenance", "sweep_inputs"]


def _factory(factory) -> tuple[Callable, str]:
    if isinstance(factory, str):
        family = get_family(factory)
        return family, factory
    if callable(factory):
        return factory, getattr(factory, "__name__", getattr(factory, "name", repr(factory)))
    raise TypeError(f"factory: expected a factory function or its registered name, got "
                    f"{type(factory).__name__}")


def sweep_inputs(first, second, base=None, model_kwargs=None):
    """Return ``(model, base fit or None)`` from ``prior_sweep``'s first two arguments.

    Raises
    ------
    TypeError
        For arguments of the wrong kind or given twice (see :func:`pymc_hier.prior_sweep`).
    ValueError
        For a fit alone whose model cannot be rebuilt from its provenance.
    """
    if isinstance(first, pm.Model):
        if second is not None:
            raise TypeError("model: given twice (prior_sweep(model, ...) or "
                            "prior_sweep(idata, model, ...))")
        model = first
    elif isinstance(first, xr.DataTree):
        if base is not None:
            raise TypeError("base: the fit is the first argument already")
        if second is not None and not isinstance(second, pm.Model):
            raise TypeError(f"model: expected a pymc.Model, got {type(second).__name__}")
        model, base = (second if second is not None else model_from_fit(first)), first
    elif isinstance(first, str) or callable(first):
        warnings.warn(
            "prior_sweep(factory, data, ...) is deprecated and will be removed in the next "
            "release: pass the model (prior_sweep(model, ...)) or a fit and its model "
            "(prior_sweep(idata, model, ...))", DeprecationWarning, stacklevel=3)
        func, _ = _factory(first)
        kwargs = dict(model_kwargs or {})
        kwargs.pop("hyper_data", None)
        return func(second, **kwargs), base
    else:
        raise TypeError(f"model_or_idata: expected a pymc.Model or a fit (xarray.DataTree), "
                        f"got {type(first).__name__}")
    if model_kwargs is not None:
        raise TypeError("model_kwargs: only with the deprecated prior_sweep(factory, data) "
                        "form; build the model with its options instead")
    if base is not None and not isinstance(first, xr.DataTree):
        raise TypeError("base: pass the base fit first: prior_sweep(idata, model, ...)")
    return model, base


def check_provenance(base, model, spec) -> None:
    """Refuse a base fit recorded for another model (family, data, priors or graph)."""
    if not isinstance(base, xr.DataTree) or MARKER not in base.attrs:
        return
    attrs = provenance(base)
    if spec is None:
        recorded = attrs.get("model_hash")
        if recorded and recorded != model_hash(model):
            raise ValueError(f"base: fitted with another model (model hash "
                             f"{recorded[:12]}..., this model {model_hash(model)[:12]}...)")
        return
    described = spec.to_dict()
    for key, theirs, ours in (("family", attrs.get("family") or None, described["family"]),
                              ("data_hash", attrs.get("data_hash"), described["data_hash"]),
                              ("priors", attrs.get("priors"), described["priors"])):
        if theirs is not None and theirs != ours:
            raise ValueError(f"base: fitted with another {key} ({theirs!r}) than the sweep's "
                             f"model ({ours!r}); sweep the model the fit was made with")


def base_posterior(base, model) -> xr.Dataset:
    """Return the posterior of ``base`` (a fit or a posterior Dataset), checked for ``model``."""
    posterior = base["posterior"] if "posterior" in getattr(base, "children", {}) or (
        isinstance(base, Mapping) and "posterior" in base) else base
    if hasattr(posterior, "to_dataset"):
        posterior = posterior.to_dataset()
    missing = [rv.name for rv in model.free_RVs if rv.name not in posterior]
    if missing:
        raise ValueError(f"base: the posterior lacks the model's free variables {missing}")
    return posterior
