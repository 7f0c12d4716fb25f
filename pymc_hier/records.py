"""What every result says about how it was made: provenance attrs, versions, model hashes.

:func:`provenance_attrs` writes the root attrs of a fit (family, options, priors, data and
configuration hashes, package versions); :func:`provenance` reads them back with their JSON
fields decoded, and is the one place that does so.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pymc as pm
import xarray as xr
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant

from pymc_hier._version import pymc_hier_version
from pymc_hier.spec import ModelSpec

__all__ = ["MARKER", "SAMPLER_PACKAGES", "model_hash", "package_versions", "provenance",
           "provenance_attrs"]

#: Root attr present on every DataTree pymc_hier writes (checked by :func:`pymc_hier.load`).
MARKER = "pymc_hier_version"
#: Root attrs stored as JSON text.
JSON_ATTRS = ("factory_options", "priors", "sampler_kwargs", "versions")
_BASE_PACKAGES = ("pymc", "pytensor", "arviz", "arviz-base", "arviz-stats", "numpy", "xarray",
                  "nutpie")
#: Extra packages whose versions matter for each JAX sampler.
SAMPLER_PACKAGES = {"numpyro": ("jax", "jaxlib", "numpyro"),
                   "blackjax": ("jax", "jaxlib", "blackjax")}


def provenance(idata: xr.DataTree) -> dict:
    """Return the provenance attrs of a :func:`pymc_hier.fit` result, JSON fields decoded.

    Raises
    ------
    TypeError
        When ``idata`` is not a DataTree.
    ValueError
        When ``idata`` carries no pymc_hier provenance.
    """
    if not isinstance(idata, xr.DataTree):
        raise TypeError(f"idata: expected an xarray.DataTree, got {type(idata).__name__}")
    attrs = dict(idata.attrs)
    if MARKER not in attrs:
        raise ValueError(f"idata: no pymc_hier provenance (root attr {MARKER!r} missing)")
    for key in JSON_ATTRS:
        if isinstance(attrs.get(key), str):
            try:
                attrs[key] = json.loads(attrs[key])
            except ValueError:
                raise ValueError(f"idata: provenance attr {key!r} is not valid JSON") from None
    return attrs


def package_versions(sampler: str = "nutpie") -> dict[str, str]:
    """Versions of the packages a fit with ``sampler`` depends on (``"missing"`` if absent)."""
    out = {"pymc_hier": pymc_hier_version()}
    for pkg in _BASE_PACKAGES + SAMPLER_PACKAGES.get(sampler, ()):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "missing"
    return out


def model_hash(model: pm.Model) -> str:
    """SHA-256 of a model's structure, coords and current data values, hex.

    Two models with the same variables, distributions, coords, ``pm.Data`` values and
    observations hash the same; changing any of them (``pm.set_data`` included) changes
    the hash. Used to check that a DataTree belongs to a model.
    """
    h = hashlib.sha256()
    h.update(model.str_repr(formatting="plain").encode())
    h.update(json.dumps({k: [str(v) for v in (c if c is not None else [])]
                         for k, c in model.coords.items()}, sort_keys=True).encode())
    named = {v.name: v for v in model.data_vars}
    named.update({f"observed:{rv.name}": model.rvs_to_values[rv] for rv in model.observed_RVs})
    for name in sorted(named):
        h.update(name.encode())
        var = named[name]
        if isinstance(var, SharedVariable):
            value = var.get_value()
        elif isinstance(var, Constant):
            value = var.data
        else:  # a symbolic expression: its structure is already in str_repr
            continue
        arr = np.ascontiguousarray(value)
        h.update(str(arr.dtype).encode() + str(arr.shape).encode() + arr.tobytes())
    return h.hexdigest()


def provenance_attrs(model: pm.Model, spec: ModelSpec | None) -> dict:
    """Root attrs saying which model (family, options, priors, data) a result belongs to."""
    if spec is None:
        family, factory, options, priors, data_hash = "", "custom", {}, {}, ""
        config_hash = model_hash(model)
    else:
        described = spec.to_dict()
        family, factory = described["family"], described["factory"]
        options, priors = described["options"], described["priors"]
        data_hash, config_hash = described["data_hash"], spec.config_hash()
    return {
        MARKER: pymc_hier_version(),
        "family": family,
        "factory": factory,
        "factory_options": json.dumps(options, sort_keys=True),
        "priors": json.dumps(priors, sort_keys=True),
        "data_hash": data_hash,
        "config_hash": config_hash,
        "model_hash": model_hash(model),
    }
