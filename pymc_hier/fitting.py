"""Fit a model with a named sampler and record provenance: :func:`fit`.

The result is the sampler's :class:`xarray.DataTree` plus

- root attrs saying how it was made (see :func:`pymc_hier.provenance`): family, options,
  priors, data and configuration hashes, sampler, seed and package versions;
- a ``diagnostics`` group (:func:`pymc_hier.diagnostics.diagnostics_summary`), with a
  :class:`~pymc_hier.exceptions.SamplingWarning` whenever a threshold is crossed;
- for a family's model: an ``input_data`` group (the data, so that the model can be built
  again from the fit alone) and whatever the family's ``postprocess`` adds.
"""

from __future__ import annotations

import inspect
import json
import numbers
import warnings
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pymc as pm
import xarray as xr
from pytensor.compile.sharedvalue import SharedVariable

from pymc_hier._sampler_exit import settle
from pymc_hier.diagnostics import SKIP_ATTR, check_sampling, diagnostics_summary
from pymc_hier.exceptions import InvalidDrawsWarning
from pymc_hier.nutpie_cache import SAMPLE_KWARGS, sample_nutpie
from pymc_hier.records import (
    MARKER,
    SAMPLER_PACKAGES,
    model_hash,
    package_versions,
    provenance,
    provenance_attrs,
)
from pymc_hier.seeds import child_seed, resolve_seed
from pymc_hier.spec import get_spec

__all__ = ["MARKER", "SAMPLERS", "fit", "model_hash", "package_versions", "provenance"]

#: Samplers :func:`fit` accepts; the first is the default.
SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax", "exact")


def fit(model: pm.Model, *, draws: int = 1000, tune: int = 1000, chains: int = 4,
        sampler: str = "nutpie", random_seed: int | None, progressbar: bool = True,
        **sampler_kwargs) -> xr.DataTree:
    """Draw posterior samples of ``model`` with a named NUTS sampler or exactly.

    Parameters
    ----------
    model : pymc.Model
        A model built by a model family (:class:`pymc_hier.ModelFamily`), or any PyMC
        model (recorded as factory ``"custom"``).
    draws, tune, chains : int
        Draws kept per chain, tuning steps per chain, number of chains.
    sampler : {"nutpie", "pymc", "numpyro", "blackjax", "exact"}, default "nutpie"
        NUTS implementation; ``"numpyro"`` and ``"blackjax"`` need the ``jax`` extra
        (``pip install pymc_hier[jax]``) and run on JAX's default device. ``"exact"``:
        independent draws from the exact posterior by quadrature, for models whose
        posterior reduces to one dimension (:func:`~pymc_hier.decay_model`: ``alpha``,
        every variant; the hierarchical normal models: ``tau``); it scales to 10^5
        widgets on a laptop and ignores ``tune`` (recorded as 0). Its draws are not NUTS
        draws: R-hat and ESS are those of independent samples. Any family with an
        ``exact_posterior`` offers it.
    random_seed : int or None
        Required. Same model, data, seed and sampler give identical draws. ``None`` draws
        a fresh seed, which is recorded in ``attrs["random_seed"]`` all the same.
    progressbar : bool, default True
        Show the sampler's progress bar.
    **sampler_kwargs
        Passed to :func:`pymc.sample` (``target_accept``, ``cores``, ``nuts={...}``,
        ``initvals``, ...; a family's ``initial_values`` are the default ``initvals``);
        with ``sampler="exact"``, to the family's exact posterior (``method`` of
        :func:`~pymc_hier.decay_posterior`, ``grid_size`` of
        :func:`~pymc_hier.hierarchical_normal_posterior`, ``backend="jax"`` of both to
        run on a GPU, ``backend="numba"`` of the first) except ``var_names``: the
        variables to draw (by default all; the decay model's per-widget ``t0`` and ``N0``
        take ``2 * chains * draws`` numbers per widget, ``var_names=["alpha"]`` skips
        them). The marginal hierarchical normal's ``theta_storage`` option applies to the
        exact ``theta`` draws too.

    Returns
    -------
    xarray.DataTree
        ``posterior``, ``sample_stats``, ``observed_data``, ``constant_data``,
        ``diagnostics``, and for a family's model ``input_data`` and whatever its
        ``postprocess`` adds; provenance in the root attrs (decode with
        :func:`pymc_hier.provenance`).

    Warns
    -----
    SamplingWarning
        When R-hat, bulk/tail ESS, divergences or E-BFMI cross
        :data:`pymc_hier.diagnostics.THRESHOLDS`, naming the parameters concerned.

    InvalidDrawsWarning
        When any posterior draw is NaN or infinite (naming the variables), or when the
        family's post-processing finds draws where the likelihood is flat (e.g. a decay
        rate that drifted off under a flat prior: an improper posterior).

    Raises
    ------
    TypeError
        When ``model`` is not a ``pm.Model`` or ``random_seed`` not an int, or for a
        keyword that ``sampler="pymc"`` does not know (instead of ignoring it).
    ValueError
        For an unknown sampler, a bad count or seed, ``sampler="exact"`` for a model
        without an exact posterior, or a model nutpie cannot start (no initial point with
        a finite log density: data or priors the model cannot produce).
    ImportError
        When a JAX sampler is asked for without JAX installed.

    Notes
    -----
    Identical draws for the same seed hold within a process and between processes, the
    first run on a fresh machine (which compiles the model) included, for the default
    ``sampler="nutpie"``: its callbacks are compiled with IEEE arithmetic
    (:mod:`pymc_hier.nutpie_cache`), so code compiled afresh and code loaded from the
    compile cache compute the same bits. With PyTensor's fast-math flags they round
    differently at rare points, and HMC amplifies that into different, equally valid,
    draws; the other MCMC samplers (``"pymc"``, and the JAX ones) compile as PyMC does,
    so their first run may differ so from later runs, which agree with each other.

    Exact draws (``sampler="exact"``) depend on the seed, the model (data, priors,
    options) and the versions of NumPy, SciPy and Numba, and on nothing else: not on the
    number of threads (BLAS, OpenMP or Numba) nor on where they run (a thread pool, a Dask
    worker). They are computed in log space and are finite at every extreme.
    """
    if not isinstance(model, pm.Model):
        raise TypeError(f"model: expected a pymc.Model, got {type(model).__name__}")
    if sampler not in SAMPLERS:
        raise ValueError(
            f"sampler: unknown sampler {sampler!r} (choose from {', '.join(SAMPLERS)})")
    for name, value, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name}: expected an integer >= {low}, got {value!r}")
        if value < low:
            raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    seed, seed_source = resolve_seed(random_seed)
    spec = get_spec(model)
    family = spec.family if spec is not None else None
    if sampler in SAMPLER_PACKAGES:
        require_jax(sampler)
    if sampler == "pymc":
        _check_pymc_kwargs(sampler_kwargs)
    if sampler == "exact":
        idata, tune = _exact_draws(model, spec, int(draws), int(chains), seed,
                                   dict(sampler_kwargs)), 0
    else:
        kwargs = dict(sampler_kwargs)
        if family is not None and family.initial_values is not None:
            kwargs.setdefault("initvals", family.initial_values(model, spec) or None)
        try:
            if sampler == "nutpie" and set(kwargs) <= SAMPLE_KWARGS:
                # pm.sample's nutpie path, with nutpie's callbacks cached on disk
                idata = sample_nutpie(model, draws=int(draws), tune=int(tune),
                                      chains=int(chains), random_seed=seed,
                                      progressbar=progressbar, **kwargs)
            else:
                idata = pm.sample(
                    draws=int(draws), tune=int(tune), chains=int(chains),
                    nuts_sampler=sampler, random_seed=seed, progressbar=progressbar,
                    model=model, compute_convergence_checks=False, **kwargs,
                )
        except RuntimeError as err:
            if sampler != "nutpie":
                raise
            settle(failed=True)  # see pymc_hier._sampler_exit: a segfault at exit otherwise
            if "initialization" not in str(err):
                raise
            raise ValueError(f"model: nutpie found no starting point with a finite log "
                             f"density{_non_finite_terms(model)}; the data or priors are "
                             "ones the model cannot produce") from None
    hook_name = ""
    if sampler != "exact" and family is not None and family.postprocess is not None:
        idata = family.postprocess(idata, model, spec, random_seed=child_seed(seed, 1))
        hook_name = f"{family.name}.postprocess"
    if family is not None:
        idata["input_data"] = xr.DataTree(family.data_to_dataset(spec.data))
    idata = _serialisable(idata)
    idata["diagnostics"] = diagnostics_summary(idata)
    idata.attrs = {
        **provenance_attrs(model, spec),
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
    _check_finite_draws(idata, f"{label} with sampler {sampler!r} (seed {seed})")
    check_sampling(idata, context=f"{label} with sampler {sampler!r} (seed {seed})",
                   parametrization=None if spec is None else spec.options.get("parametrization"))
    return idata


def _exact_draws(model: pm.Model, spec, draws: int, chains: int, seed: int,
                 kwargs: dict) -> xr.DataTree:
    """Independent draws from the family's exact posterior, with the model's data groups."""
    if spec is None or spec.family.exact_posterior is None:
        what = "a plain PyMC model" if spec is None else f"the {spec.family.name!r} family"
        raise ValueError(f"sampler: 'exact' needs a model family with an exact posterior "
                         f"(decay, hierarchical_normal, eight_schools), got {what}")
    var_names = kwargs.pop("var_names", None)
    posterior = spec.family.exact_posterior(model, spec, **kwargs)
    idata = posterior.sample(draws, chains, random_seed=child_seed(seed, 0),
                             var_names=var_names)
    post = idata["posterior"].to_dataset()
    if any(var.ndim <= 2 for var in post.data_vars.values()):
        for var in post.data_vars.values():
            if var.ndim > 2:  # per-group draws: independent by construction; skip R-hat/ESS
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


@cache
def _pymc_options() -> frozenset[str]:
    """Keywords ``pm.sample`` (with PyMC's own NUTS) uses, less those :func:`fit` sets."""
    from pymc.sampling.mcmc import STEP_METHODS

    names = set(inspect.signature(pm.sample).parameters)
    for cls in pm.NUTS.__mro__:
        if "__init__" in cls.__dict__:
            names |= set(inspect.signature(cls.__init__).parameters)
    names |= {step.name for step in STEP_METHODS}
    return frozenset(names - {"self", "vars", "args", "kwargs", "draws", "tune", "chains",
                              "model", "random_seed", "progressbar", "nuts_sampler",
                              "compute_convergence_checks"})


def _check_pymc_kwargs(kwargs) -> None:
    unknown = sorted(set(kwargs) - _pymc_options())
    if unknown:
        raise TypeError(f"fit() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}"
                        f" for sampler='pymc' (pm.sample or its NUTS would ignore them; "
                        f"accepted: {', '.join(sorted(_pymc_options()))})")


def _non_finite_terms(model: pm.Model) -> str:
    """`` (at the model's initial point: y -inf, ...)``, or ``""`` when it cannot tell."""
    try:
        logps = model.point_logps(model.initial_point())
    except Exception:  # noqa: BLE001 - only decorates an error message
        return ""
    bad = [f"{name} {value}" for name, value in logps.items() if not np.isfinite(value)]
    return f" (at the model's initial point: {', '.join(bad)})" if bad else ""


def _check_finite_draws(idata: xr.DataTree, context: str) -> None:
    """Warn with :class:`InvalidDrawsWarning` naming every variable with NaN or inf draws."""
    bad = []
    for name, var in idata["posterior"].data_vars.items():
        if var.dtype.kind in "fc":
            n = int(np.count_nonzero(~np.isfinite(var.values)))
            if n:
                bad.append(f"{name} ({n} of {var.size})")
    if bad:
        warnings.warn(f"{context}: non-finite posterior draws: {', '.join(bad)}; do not use "
                      "them", InvalidDrawsWarning, stacklevel=3)


def require_jax(sampler: str) -> None:
    """Raise ``ImportError`` unless the packages of the JAX ``sampler`` are installed."""
    for pkg in SAMPLER_PACKAGES[sampler]:
        try:
            version(pkg)
        except PackageNotFoundError:
            raise ImportError(f"sampler={sampler!r} needs {pkg}; install the jax extra: "
                              f"pip install 'pymc_hier[jax]'") from None


def _serialisable(idata: xr.DataTree) -> xr.DataTree:
    """Write missing values of object-dtype variables as ``""``, as netCDF and zarr store them.

    nutpie's divergence messages hold None or NaN where a draw did not diverge; written as
    ``""`` here, a save/load round trip gives an identical tree.
    """
    for node in idata.subtree:
        for name, var in node.data_vars.items():
            if var.dtype == object:
                values = np.asarray(var.values, dtype=object)
                missing = np.array([_is_missing(v) for v in values.flat],
                                   dtype=bool).reshape(values.shape)
                if missing.any():
                    node[name] = var.copy(data=np.where(missing, "", values))
    return idata


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))
