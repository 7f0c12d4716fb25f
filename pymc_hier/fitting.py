"""Fit a model with a named sampler and record provenance: :func:`fit`, :func:`provenance`.

The result is the sampler's :class:`xarray.DataTree` plus

- root attrs saying how it was made (see :func:`provenance`): factory, options, priors,
  data and configuration hashes, sampler, seed and package versions;
- a ``diagnostics`` group (:func:`pymc_hier.diagnostics.diagnostics_summary`), with a
  :class:`~pymc_hier.diagnostics.SamplingWarning` whenever a threshold is crossed;
- whatever the factory module's ``postprocess_posterior`` hook adds.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pymc as pm
import xarray as xr
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant

from pymc_hier.diagnostics import SKIP_ATTR, check_sampling, diagnostics_summary
from pymc_hier.family import factory_hook, factory_module, get_spec

#: Samplers :func:`fit` accepts; the first is the default.
SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax", "exact")
#: Root attr present on every DataTree pymc_hier writes (checked by :func:`pymc_hier.load`).
MARKER = "pymc_hier_version"
_JSON_ATTRS = ("factory_options", "priors", "sampler_kwargs", "versions")
_BASE_PACKAGES = ("pymc", "pytensor", "arviz", "arviz-base", "arviz-stats", "numpy", "xarray",
                  "nutpie")
_EXTRA_PACKAGES = {"numpyro": ("jax", "jaxlib", "numpyro"),
                   "blackjax": ("jax", "jaxlib", "blackjax")}


def fit(model: pm.Model, *, draws: int = 1000, tune: int = 1000, chains: int = 4,
        sampler: str = "nutpie", random_seed: int | None, progressbar: bool = True,
        **sampler_kwargs) -> xr.DataTree:
    """Draw posterior samples of ``model`` with a named NUTS sampler or exactly.

    Parameters
    ----------
    model : pymc.Model
        A model from a pymc_hier factory, or any PyMC model (recorded as factory
        ``"custom"``).
    draws, tune, chains : int
        Draws kept per chain, tuning steps per chain, number of chains.
    sampler : {"nutpie", "pymc", "numpyro", "blackjax", "exact"}, default "nutpie"
        NUTS implementation; ``"numpyro"`` and ``"blackjax"`` need the ``jax`` extra
        (``pip install pymc_hier[jax]``) and run on JAX's default device. ``"exact"``:
        independent draws from the exact posterior by quadrature, for models whose
        posterior reduces to one dimension (:func:`~pymc_hier.decay_model`: ``alpha``,
        every variant; the hierarchical normal models: ``tau``); it scales to 10^5
        widgets on a laptop and ignores ``tune`` (recorded as 0). Its draws are not NUTS
        draws: R-hat and ESS are those of independent samples.
    random_seed : int or None
        Required. Same model, data, seed and sampler give identical draws. ``None`` draws
        a fresh seed, which is recorded in ``attrs["random_seed"]`` all the same.
    progressbar : bool, default True
        Show the sampler's progress bar.
    **sampler_kwargs
        Passed to :func:`pymc.sample` (``target_accept``, ``cores``, ``nuts={...}``, ...);
        with ``sampler="exact"``, to the factory's exact posterior (``method`` of
        :func:`~pymc_hier.exact.decay_posterior`, ``grid_size`` of
        :func:`~pymc_hier.exact.hierarchical_normal_posterior`) except ``widgets``
        (decay only: ``False`` skips the per-widget ``t0`` and ``N0`` draws, which take
        ``2 * chains * draws`` numbers per widget). The marginal hierarchical normal's
        ``theta_storage`` option applies to the exact ``theta`` draws too.

    Returns
    -------
    xarray.DataTree
        ``posterior``, ``sample_stats``, ``observed_data``, ``constant_data``,
        ``diagnostics`` and any group added by the factory's ``postprocess_posterior``
        hook; provenance in the root attrs (decode with :func:`provenance`).

    Warns
    -----
    SamplingWarning
        When R-hat, bulk/tail ESS, divergences or E-BFMI cross
        :data:`pymc_hier.diagnostics.THRESHOLDS`, naming the parameters concerned.

    Raises
    ------
    ValueError
        For an unknown sampler, a bad count or seed, a model that is not a ``pm.Model``,
        or ``sampler="exact"`` for a model without an exact posterior.
    ImportError
        When a JAX sampler is asked for without JAX installed.

    Notes
    -----
    Identical draws for the same seed hold within a process and between processes that
    load the model's functions from PyTensor's compile cache. A function compiled afresh
    (cold cache) can round differently in the last bit from the same function loaded from
    the cache, and HMC amplifies that into different, equally valid, draws: the first run
    on a fresh machine may differ from all later runs, which agree with each other.
    """
    if not isinstance(model, pm.Model):
        raise ValueError(f"model: expected a pymc.Model, got {type(model).__name__}")
    if sampler not in SAMPLERS:
        raise ValueError(
            f"sampler: unknown sampler {sampler!r} (choose from {', '.join(SAMPLERS)})")
    for name, value, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    seed, seed_source = _resolve_seed(random_seed)
    spec = get_spec(model)
    if sampler in _EXTRA_PACKAGES:
        _require_jax(sampler)
    if sampler == "exact":
        idata, tune = _exact_draws(model, spec, int(draws), int(chains), seed,
                                   dict(sampler_kwargs)), 0
    else:
        idata = pm.sample(
            draws=int(draws), tune=int(tune), chains=int(chains), nuts_sampler=sampler,
            random_seed=seed, progressbar=progressbar, model=model,
            compute_convergence_checks=False, **sampler_kwargs,
        )
    hook_name = ""
    hook = None if sampler == "exact" else factory_hook(spec, "postprocess_posterior")
    if hook is not None:
        idata = hook(idata, model, random_seed=_child_seed(seed, 1))
        hook_name = f"{factory_module(spec.factory).__name__}.postprocess_posterior"
    idata = _serialisable(idata)
    idata["diagnostics"] = diagnostics_summary(idata)
    idata.attrs = {
        **_provenance_attrs(model, spec),
        "sampler": sampler,
        "sampler_kwargs": json.dumps(sampler_kwargs, sort_keys=True, default=repr),
        "random_seed": seed,
        "random_seed_source": seed_source,
        "draws": int(draws),
        "tune": int(tune),
        "chains": int(chains),
        "postprocess": hook_name,
        "versions": json.dumps(package_versions(sampler), sort_keys=True),
        "created_at": datetime.now(UTC).isoformat(),
    }
    label = spec.factory if spec is not None else "custom model"
    check_sampling(idata, context=f"{label} with sampler {sampler!r} (seed {seed})",
                   parametrization=None if spec is None else spec.options.get("parametrization"))
    return idata


def provenance(idata: xr.DataTree) -> dict:
    """Return the provenance attrs of a :func:`fit` result, JSON fields decoded.

    Raises
    ------
    ValueError
        When ``idata`` carries no pymc_hier provenance.
    """
    attrs = dict(idata.attrs)
    if MARKER not in attrs:
        raise ValueError(f"idata: no pymc_hier provenance (root attr {MARKER!r} missing)")
    for key in _JSON_ATTRS:
        if isinstance(attrs.get(key), str):
            attrs[key] = json.loads(attrs[key])
    return attrs


def package_versions(sampler: str = "nutpie") -> dict[str, str]:
    """Versions of the packages a fit with ``sampler`` depends on (``"missing"`` if absent)."""
    from pymc_hier import __version__

    out = {"pymc_hier": __version__}
    for pkg in _BASE_PACKAGES + _EXTRA_PACKAGES.get(sampler, ()):
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


def _provenance_attrs(model: pm.Model, spec) -> dict:
    from pymc_hier import __version__

    if spec is None:
        factory, options, priors, data_hash = "custom", {}, {}, ""
        config_hash = model_hash(model)
    else:
        described = spec.to_dict()
        factory, options, priors = described["factory"], described["options"], described["priors"]
        data_hash, config_hash = described["data_hash"], spec.config_hash()
    return {
        MARKER: __version__,
        "factory": factory,
        "factory_options": json.dumps(options, sort_keys=True),
        "priors": json.dumps(priors, sort_keys=True),
        "data_hash": data_hash,
        "config_hash": config_hash,
        "model_hash": model_hash(model),
    }


def _resolve_seed(random_seed) -> tuple[int, str]:
    if random_seed is None:
        return int(np.random.default_rng().integers(2**62)), "drawn"
    if isinstance(random_seed, bool) or not isinstance(random_seed, numbers.Integral):
        raise ValueError(f"random_seed: expected an int (recorded for provenance) or None, "
                         f"got {type(random_seed).__name__}")
    if not 0 <= random_seed < 2**63:
        raise ValueError(f"random_seed: must be in [0, 2**63), got {random_seed!r}")
    return int(random_seed), "given"


def _child_seed(seed: int, index: int) -> int:
    """Return an int seed derived from ``seed`` for the ``index``-th independent stream."""
    child = np.random.SeedSequence(seed).spawn(index + 1)[index]
    return int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(2))


def _exact_draws(model: pm.Model, spec, draws: int, chains: int, seed: int,
                 kwargs: dict) -> xr.DataTree:
    """Independent draws from the factory's exact posterior, with the model's data groups."""
    hook = factory_hook(spec, "exact_posterior")
    if hook is None:
        what = "a custom model" if spec is None else f"{spec.factory!r}"
        raise ValueError(f"sampler: 'exact' needs a model whose posterior pymc_hier can "
                         f"compute exactly (decay_model, hierarchical_normal_model, "
                         f"eight_schools_model), got {what}")
    sample_kwargs = {"widgets": kwargs.pop("widgets")} if "widgets" in kwargs else {}
    if "theta_storage" in spec.options:  # the marginal hierarchical normal's option
        sample_kwargs["theta_storage"] = spec.options["theta_storage"]
    posterior = hook(model, **kwargs)
    idata = posterior.sample(draws, chains, random_seed=_child_seed(seed, 0), **sample_kwargs)
    post = idata["posterior"].to_dataset()
    for var in post.data_vars.values():
        if var.ndim > 2:  # per-group draws: independent by construction; skip their R-hat/ESS
            var.attrs[SKIP_ATTR] = "skip"
    idata["posterior"] = xr.DataTree(post)
    for name, values in _data_groups(model).items():
        if name not in idata.children and values.data_vars:
            idata[name] = xr.DataTree(values)
    return idata


def _data_groups(model: pm.Model) -> dict[str, xr.Dataset]:
    """``observed_data`` and ``constant_data`` of a model, labelled by its dims."""
    dims = model.named_vars_to_dims

    def array(name, value):
        value = np.asarray(value)
        names = dims.get(name) or tuple(f"{name}_dim_{i}" for i in range(value.ndim))
        coords = {d: np.asarray(model.coords[d]) for d in names if d in model.coords}
        return xr.DataArray(value, dims=names, coords=coords)

    observed = {rv.name: array(rv.name, model.rvs_to_values[rv].data)
                for rv in model.observed_RVs}
    constant = {v.name: array(v.name, v.get_value()) for v in model.data_vars
                if isinstance(v, SharedVariable)}
    return {"observed_data": xr.Dataset(observed), "constant_data": xr.Dataset(constant)}


def _require_jax(sampler: str) -> None:
    for pkg in _EXTRA_PACKAGES[sampler]:
        try:
            version(pkg)
        except PackageNotFoundError:
            raise ImportError(f"sampler={sampler!r} needs {pkg}; install the jax extra: "
                              f"pip install 'pymc_hier[jax]'") from None


def _serialisable(idata: xr.DataTree) -> xr.DataTree:
    """Replace ``None`` in object-dtype variables (nutpie's divergence messages) by ``""``."""
    for node in idata.subtree:
        for name, var in node.data_vars.items():
            if var.dtype == object:
                values = np.asarray(var.values, dtype=object)
                if any(v is None for v in values.flat):
                    node[name] = var.copy(data=np.where(values == None, "", values))  # noqa: E711
    return idata
