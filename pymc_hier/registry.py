"""Model families by name: the built-in ones, the user's, and plug-ins.

:func:`get_family` finds a family by its name or command-line name, in this order: the
families registered in this process (the built-ins :data:`~pymc_hier.decay.family.DECAY`,
:data:`~pymc_hier.normal.family.HIERARCHICAL_NORMAL`,
:data:`~pymc_hier.normal.family.EIGHT_SCHOOLS_FAMILY` and
:data:`~pymc_hier.line.family.STRAIGHT_LINE`, and any passed to
:func:`register_family`), the ``pymc_hier.families`` entry points of installed packages,
and a ``"module:attribute"`` import path. Names matter only where a family must be found
from text: the command line and the provenance of a saved fit (:func:`model_from_fit`);
everywhere else tools read the family from the model's spec.
"""

from __future__ import annotations

import threading
from importlib import import_module
from importlib.metadata import entry_points

import pymc as pm
import xarray as xr

from pymc_hier.decay.family import DECAY
from pymc_hier.family import ModelFamily
from pymc_hier.line.family import STRAIGHT_LINE
from pymc_hier.normal.family import EIGHT_SCHOOLS_FAMILY, HIERARCHICAL_NORMAL
from pymc_hier.priors import Prior
from pymc_hier.records import provenance

__all__ = ["ENTRY_POINT_GROUP", "families", "get_family", "model_from_fit", "register_family",
           "unregister_family"]

#: Entry-point group through which installed packages offer families.
ENTRY_POINT_GROUP = "pymc_hier.families"
_BUILTIN = (DECAY, HIERARCHICAL_NORMAL, EIGHT_SCHOOLS_FAMILY, STRAIGHT_LINE)
# factory function names recorded by fits made before families were recorded
_FACTORY_FAMILY = {"decay_model": "decay", "hierarchical_normal_model": "hierarchical_normal",
                   "eight_schools_model": "eight_schools",
                   "straight_line_model": "straight_line"}
_REGISTERED: dict[str, ModelFamily] = {f.name: f for f in _BUILTIN}
_LOCK = threading.Lock()


def register_family(family: ModelFamily, *, replace: bool = False) -> ModelFamily:
    """Make ``family`` known by its name (and command-line name); return it.

    Parameters
    ----------
    family : ModelFamily
        The family.
    replace : bool, default False
        Replace a registered family of the same name (never a built-in one).

    Raises
    ------
    TypeError
        When ``family`` is not a :class:`~pymc_hier.ModelFamily`.
    ValueError
        When the name (or command-line name) is taken.
    """
    if not isinstance(family, ModelFamily):
        raise TypeError(f"family: expected a ModelFamily, got {type(family).__name__}")
    with _LOCK:
        for other in _REGISTERED.values():
            if other is family:
                return family
            clash = other.name == family.name or other.command == family.command
            if clash and (not replace or other in _BUILTIN):
                raise ValueError(f"family: the name {family.name!r} (command "
                                 f"{family.command!r}) is taken by {other!r}")
        _REGISTERED.pop(family.name, None)
        _REGISTERED[family.name] = family
    return family


def unregister_family(name: str) -> None:
    """Forget a family registered with :func:`register_family` (built-ins stay)."""
    with _LOCK:
        family = _REGISTERED.get(name)
        if family is None:
            raise ValueError(f"name: no registered family {name!r}")
        if family in _BUILTIN:
            raise ValueError(f"name: {name!r} is built in and cannot be unregistered")
        del _REGISTERED[name]


def families() -> tuple[ModelFamily, ...]:
    """Every registered family, built-ins first."""
    with _LOCK:
        return tuple(_REGISTERED.values())


def get_family(name: str) -> ModelFamily:
    """Return the family called ``name`` (or with that command-line name).

    Raises
    ------
    TypeError
        When ``name`` is not a string.
    ValueError
        When no family has that name.
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected a family name, got {type(name).__name__}")
    name = _FACTORY_FAMILY.get(name, name)
    for family in families():
        if name in (family.name, family.command):
            return family
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return _as_family(ep.load(), ep.value)
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            obj = getattr(import_module(module), attr)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"family: cannot import {name!r} ({err})") from None
        return _as_family(obj, name)
    known = ", ".join(sorted({f.command for f in families()} | {f.name for f in families()}))
    raise ValueError(f"family: unknown model family {name!r} (known: {known}; or "
                     "'module:attribute' naming a ModelFamily)")


def _as_family(obj, where: str) -> ModelFamily:
    if not isinstance(obj, ModelFamily):
        raise ValueError(f"family: {where} is a {type(obj).__name__}, not a ModelFamily")
    return obj


def model_from_fit(idata: xr.DataTree) -> pm.Model:
    """Build again the model a fit came from, from its provenance and ``input_data`` group.

    Parameters
    ----------
    idata : xarray.DataTree
        A result of :func:`pymc_hier.fit` on a family's model (or loaded from a file).

    Returns
    -------
    pymc.Model
        The same model (same family, options, priors and data).

    Raises
    ------
    ValueError
        When ``idata`` has no pymc_hier provenance, came from a plain PyMC model, names an
        unknown family, or lacks its ``input_data`` group.
    """
    attrs = provenance(idata)
    name = attrs.get("family") or attrs.get("factory")
    if not name or name == "custom":
        raise ValueError("idata: fitted on a plain PyMC model; pass the model as well")
    family = get_family(name)
    if "input_data" not in idata.children:
        raise ValueError("idata: no 'input_data' group to rebuild the model from (fits of "
                         "pymc_hier >= 0.1 keep one)")
    data = family.data_from_dataset(idata["input_data"].to_dataset())
    priors = {k: Prior.from_dict(v) for k, v in attrs.get("priors", {}).items()}
    options = {k: v for k, v in attrs.get("factory_options", {}).items()
               if k in family.options}
    factory = attrs.get("factory") or family.name
    return family.make(data, priors=priors, factory=factory, **options)
