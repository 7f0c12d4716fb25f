"""Prior-sensitivity sweeps: :func:`prior_sweep`.

A sweep asks how posterior summaries move when one hyperparameter moves. The parameter is
found in the model's graph and held as ``pm.Data`` (:mod:`pymc_hier.sensitivity.hyper`), so
any PyMC model sweeps, built by a model family or not. Each setting is answered in one of
two ways:

- **reweight**: importance-weight the draws of one base fit by the change of the joint log
  density, smoothed with PSIS (:mod:`pymc_hier.sensitivity.reweight`); free, but only valid
  when the new prior's support is not wider than the old and the Pareto k-hat is below 0.7;
- **refit**: sample again with the *same* compiled model (compiled once with nutpie; each
  setting only changes the values of the swept ``pm.Data``), optionally in parallel through
  any :class:`concurrent.futures.Executor` (a ``ThreadPoolExecutor``, or Dask's
  ``Client.get_executor()`` for a cluster). With ``fit_kwargs={"sampler": "exact"}`` a
  refit is an independent draw from the family's exact posterior (decay and
  hierarchical-normal models): no compile, no tuning, no Monte Carlo error beyond that
  of independent draws, a fraction of a second per setting.

Every setting is checked before anything is fitted (:mod:`pymc_hier.sensitivity.checks`).
See :mod:`pymc_hier.sensitivity.settings` for how ``param`` names what is swept.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import numpy as np
import pymc as pm
import xarray as xr

from pymc_hier.records import model_hash
from pymc_hier.sensitivity.base import base_posterior, check_provenance, sweep_inputs
from pymc_hier.sensitivity.checks import check_settings
from pymc_hier.sensitivity.hyper import lift_hyperparameters
from pymc_hier.sensitivity.reweight import (
    joint_logp_function,
    psis_log_weights,
    support_function,
    wider_support,
)
from pymc_hier.sensitivity.runs import (
    STATS,
    RefitJob,
    cached_compile,
    clear_compile_cache,
    exact_sample,
    refit_all,
    sample,
    stack,
    summarise,
)
from pymc_hier.sensitivity.settings import Setting, resolve_settings
from pymc_hier.spec import get_spec

__all__ = ["METHODS", "SAMPLERS", "clear_compile_cache", "prior_sweep"]

#: Accepted values of ``method``.
METHODS = ("auto", "reweight", "refit")
#: Accepted values of ``fit_kwargs["sampler"]``.
SAMPLERS = ("nutpie", "exact")
_FIT_DEFAULTS = {"draws": 1000, "tune": 1000, "chains": 4, "random_seed": None,
                 "sampler": "nutpie"}


def _fit_settings(fit_kwargs) -> dict:
    fit_kwargs = dict(fit_kwargs or {})
    unknown = set(fit_kwargs) - set(_FIT_DEFAULTS)
    if unknown:
        raise ValueError(f"fit_kwargs: unknown option(s) {sorted(unknown)} (accepted: "
                         f"{', '.join(_FIT_DEFAULTS)})")
    out = {**_FIT_DEFAULTS, **fit_kwargs}
    if out["random_seed"] is None:
        out["random_seed"] = int(np.random.SeedSequence().generate_state(1)[0])
    for key in ("draws", "tune", "chains"):
        if not isinstance(out[key], int) or out[key] < 1:
            raise ValueError(f"fit_kwargs[{key!r}]: must be a positive integer, got {out[key]!r}")
    if out["sampler"] not in SAMPLERS:
        raise ValueError(f"fit_kwargs['sampler']: unknown value {out['sampler']!r} (accepted: "
                         f"{', '.join(SAMPLERS)})")
    return out


def _seed(seed: int, i: int) -> int:
    return int(np.random.SeedSequence(seed, spawn_key=(i,)).generate_state(1)[0])


def prior_sweep(model_or_idata, model: pm.Model | None = None, *, param: str, values,
                method: str = "auto", fit_kwargs: Mapping | None = None, executor=None,
                var_names: Sequence[str] | None = None,
                quantiles: Sequence[float] = (0.05, 0.5, 0.95), khat_threshold: float = 0.7,
                progressbar: bool = True, check_values: bool | Sequence | None = True,
                base=None,
                model_kwargs: Mapping | None = None) -> xr.Dataset:
    """Posterior summaries over a range of one hyperparameter.

    Parameters
    ----------
    model_or_idata : pymc.Model or xarray.DataTree
        The model (a family's or any PyMC model; the base fit is then sampled here when
        needed), or a fit to reweight: of ``model`` when given, otherwise of the model its
        provenance rebuilds (:func:`pymc_hier.model_from_fit`). The deprecated form
        ``prior_sweep(factory, data, ...)`` (a factory or its registered name, then the
        data) still works for one release, with a ``DeprecationWarning``.
    model : pymc.Model, optional
        The model of the fit given first.
    param : str
        What to sweep: ``"tau.sigma"`` (one numeric parameter of the prior of a free
        variable, found in the model's graph; numeric values in the distribution's own
        parametrisation, e.g. ``Gamma``'s ``beta``), ``"tau"`` (a whole prior;
        :class:`~pymc_hier.Prior` values of the same distribution) or the name of a fixed
        input held as ``pm.Data`` such as ``"n0_max"`` (numeric values).
    values : sequence
        The settings, non-empty and unique; each is checked against the parameter's domain
        and the data before anything is fitted.
    method : {"auto", "reweight", "refit"}
        ``"auto"`` reweights where reliable (support not wider and k-hat below
        ``khat_threshold``) and refits the rest. With ``sampler="exact"`` it refits every
        setting: exact draws are cheaper than reweighting and never unreliable.
    fit_kwargs : mapping, optional
        ``sampler`` (``"nutpie"``, the default, or ``"exact"``: independent draws from the
        family's exact posterior, see :func:`pymc_hier.fit`), ``draws``, ``tune`` (nutpie
        only), ``chains`` (1000, 1000, 4) and ``random_seed`` (drawn and recorded in the
        attrs when None).
    executor : concurrent.futures.Executor, optional
        Runs the refits (e.g. ``ThreadPoolExecutor`` or Dask ``client.get_executor()``);
        sequential in this process when None.
    var_names : sequence of str, optional
        Posterior variables to summarise; by default the free and deterministic variables
        of the model as written (a family's internal variables, such as the non-centred
        ``theta_scaled``, are left out unless named here; with ``sampler="exact"``: those of
        them that the exact draws hold).
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Quantiles to report.
    khat_threshold : float, default 0.7
        Pareto k-hat above which reweighting is unreliable.
    progressbar : bool, default True
        Show a tqdm progress bar over the settings.
    check_values : bool or list of pymc.Model, default True
        Check every setting before anything is fitted: a family's model is built with each
        (its own checks of priors and data) and, unless the draws are exact, the log
        density is evaluated where the sampler starts. ``False`` when the caller has just
        made the same check (the command line checks a sweep that reweights ``run``'s fit
        before that fit; :mod:`pymc_hier.cli`), or what that check returned (the family's
        model built with each setting, from
        :func:`~pymc_hier.sensitivity.checks.check_settings`; None for a plain PyMC
        model): exact draws then reuse what the family computed when building them
        instead of building them again.
    base, model_kwargs
        Deprecated, only with ``prior_sweep(factory, data, ...)``: the fit to reweight and
        the factory's options.

    Returns
    -------
    xarray.Dataset
        Dimension ``setting`` (labels such as ``"tau.sigma=2"``; a coordinate with the swept
        value(s) named after the parameter) and ``stat`` (``mean``, ``sd``, ``mcse_mean``
        and ``q{p}`` per quantile). One variable per posterior variable with dims
        ``(setting, stat, *its dims)``, and per setting: ``method`` (used), ``status``
        (``"ok"``, ``"unreliable"`` for a reweighted setting over the k-hat threshold, or
        ``"failed"``), ``error`` (why), ``note`` (why ``"auto"`` refitted), ``pareto_k``,
        ``ess_weights`` (of the PSIS weights; NaN where not computed) and
        ``support_wider``.

    Raises
    ------
    TypeError
        For a first argument that is neither a model nor a fit, a ``model`` that is not a
        ``pm.Model``, or an ``executor`` without ``submit``.
    ValueError
        For an unknown ``method``, ``param``, ``var_names`` entry or fit option, empty,
        repeated or impossible ``values`` (outside the parameter's domain, or ruled out by
        the data), a fit that does not belong to the model, or ``sampler="exact"`` with a
        model that has no exact posterior. A refit that fails (also inside an executor) does
        not raise: its setting gets ``status="failed"`` and the error message.

    Examples
    --------
    .. code-block:: python

        import pymc_hier as ph

        model = ph.eight_schools_model()
        idata = ph.fit(model, random_seed=1)
        sweep = ph.prior_sweep(idata, model, param="tau.beta", values=[1, 2.5, 5, 10])
    """
    if method not in METHODS:
        raise ValueError(f"method: unknown value {method!r} (accepted: {', '.join(METHODS)})")
    if not 0 < khat_threshold:
        raise ValueError(f"khat_threshold: must be > 0, got {khat_threshold!r}")
    quantiles = tuple(float(q) for q in quantiles)
    if not all(0 <= q <= 1 for q in quantiles):
        raise ValueError(f"quantiles: must lie in [0, 1], got {quantiles!r}")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(f"executor: expected a concurrent.futures.Executor (with submit), "
                        f"got {type(executor).__name__}")
    model, base = sweep_inputs(model_or_idata, model, base, model_kwargs)
    fit = _fit_settings(fit_kwargs)
    spec = get_spec(model)
    plan = resolve_settings(model, spec, param, values)
    exact = fit["sampler"] == "exact"
    var_names = _var_names(model, spec, var_names,
                           _exact_variables(model, spec) if exact else None)
    reweighting = method == "reweight" or (method == "auto" and not exact)
    posterior = None
    if base is not None:
        check_provenance(base, model, spec)
        if reweighting:
            posterior = base_posterior(base, model)
    swept = lift_hyperparameters(model, plan.lift) if plan.lift else model
    if check_values is None or isinstance(check_values, bool):  # None: a plain model's
        rebuilt = (check_settings(swept, spec, plan, start=not exact, built=model)
                   if check_values else None)
    else:  # checked already: the models the check built
        rebuilt = list(check_values)
        if len(rebuilt) != len(plan.settings) or not all(
                isinstance(m, pm.Model) for m in rebuilt):
            raise ValueError(f"check_values: expected True, False or one model per "
                             f"setting ({len(plan.settings)}), got {len(rebuilt)} items")
    settings, base_hyper = plan.settings, dict(plan.base)
    key = (f"{spec.config_hash()}:{','.join(sorted(base_hyper))}" if spec is not None
           else f"plain:{uuid.uuid4().hex}")
    sample_kw = {k: fit[k] for k in (("draws", "chains") if exact else
                                     ("draws", "tune", "chains"))}

    def draw(hyper, seed):
        if exact:
            return exact_sample(swept, hyper, {**sample_kw, "seed": seed}, var_names)
        return sample(cached_compile(key, lambda: swept), hyper, {**sample_kw, "seed": seed})

    if posterior is None and reweighting:
        posterior = draw(base_hyper, fit["random_seed"])

    n = len(settings)
    rows: list[dict] = [{"method": "", "status": "pending", "error": "", "note": "",
                         "pareto_k": np.nan,
                         "ess_weights": np.nan, "support_wider": False, "stats": None}
                        for _ in range(n)]
    if exact and method == "auto":
        todo = list(range(n))
        for row in rows:
            row["note"] = "refitted: exact posterior (independent draws)"
    else:
        todo = _reweight_all(swept, settings, base_hyper, posterior, rows, var_names,
                             quantiles, method=method, khat_threshold=khat_threshold)
    # compiled on first need: a given base that reweights well needs none
    compiled = cached_compile(key, lambda: swept) if todo and not exact else None
    # exact draws of a setting from the model the check built with it: the family may
    # have computed its exact posterior there already (the decay model's alpha map)
    models = rebuilt if exact and rebuilt is not None else [swept] * n
    jobs = {i: RefitJob(models[i], key, settings[i].hyper,
                        {**sample_kw, "seed": _seed(fit["random_seed"], i)}, var_names,
                        quantiles, models[i] if exact else compiled, fit["sampler"])
            for i in todo}
    refit_all(jobs, rows, executor, total=n, done=n - len(todo), progressbar=progressbar)
    return _assemble(settings, rows, model, var_names, quantiles, attrs={
        "factory": spec.factory if spec is not None else "custom",
        "family": spec.family.name if spec is not None else "",
        "param": param,
        "method": method,
        "base": str({k: np.asarray(v).tolist() for k, v in base_hyper.items()}),
        "khat_threshold": khat_threshold,
        "random_seed": fit["random_seed"],
        # exact draws tune nothing: recorded as 0, as fit records them
        "draws": fit["draws"], "tune": 0 if exact else fit["tune"], "chains": fit["chains"],
        "sampler": fit["sampler"],
        "config_hash": spec.config_hash() if spec is not None else model_hash(model),
        "quantiles": list(quantiles),
    })


def _exact_variables(model, spec) -> tuple[str, ...]:
    if spec is None or spec.family.exact_posterior is None:
        what = "a plain PyMC model" if spec is None else f"the {spec.family.name!r} family"
        raise ValueError(f"fit_kwargs['sampler']: 'exact' needs a model family with an exact "
                         f"posterior (decay, hierarchical_normal, eight_schools), got {what}")
    return tuple(spec.family.exact_posterior(model, spec).variables)


def _var_names(model, spec, var_names, exact_variables=None) -> list[str]:
    known = [v.name for v in model.free_RVs] + [v.name for v in model.deterministics]
    if exact_variables is not None:
        known = [name for name in known if name in exact_variables]
    if var_names is None:
        internal = set(spec.family.internal_names(spec)) if spec is not None else set()
        return [name for name in known if name not in internal]
    if isinstance(var_names, str):
        var_names = [var_names]
    for name in var_names:
        if name not in known:
            what = ("a variable of the model's exact draws" if exact_variables is not None
                    else "a free or deterministic variable of the model")
            raise ValueError(f"var_names: {name!r} is not {what} (known: {', '.join(known)})")
    return list(var_names)


def _reweight_all(model, settings: Sequence[Setting], base_hyper, posterior, rows, var_names,
                  quantiles, *, method, khat_threshold) -> list[int]:
    """Fill the rows that are reweighted; return the indices still to refit."""
    if method == "refit":
        return list(range(len(settings)))
    names = list(base_hyper)
    logp = joint_logp_function(model, names)
    support = support_function(model, names)
    draws = {name: stack(posterior, name) for name in logp.free_names}
    old_logp = logp(draws, base_hyper)
    old_support = support(draws, base_hyper)
    todo = []
    for i, s in enumerate(settings):
        row = rows[i]
        same = all(np.array_equal(s.hyper[k], base_hyper[k]) for k in base_hyper)
        wider = [] if same else wider_support(old_support, support(draws, s.hyper))
        row["support_wider"] = bool(wider)
        reason = ""
        if wider:
            reason = f"support of {', '.join(wider)} is wider than in the base fit"
        else:
            log_ratio = logp(draws, s.hyper) - old_logp
            try:
                log_w, khat, ess = psis_log_weights(log_ratio)
            except ValueError as err:
                reason = f"reweighting failed: {err}"
            else:
                row["pareto_k"], row["ess_weights"] = khat, ess
                if not khat <= khat_threshold:  # NaN counts as unreliable
                    reason = f"pareto_k={khat:.2f} > {khat_threshold}"
                if not reason or method == "reweight":
                    row["stats"] = summarise(posterior, var_names, log_w, quantiles)
        if method == "auto" and reason:
            row["note"] = f"refitted: {reason}"
            todo.append(i)
            continue
        row["method"] = "reweight"
        row["status"] = ("ok" if not reason else
                         "unreliable" if row["stats"] is not None else "failed")
        row["error"] = reason
    return todo


def _assemble(settings, rows, model, var_names, quantiles, *, attrs) -> xr.Dataset:
    stat = list(STATS) + [f"q{q:g}" for q in quantiles]
    labels = [s.label for s in settings]
    data_vars = {}
    coords = {"setting": labels, "stat": stat}
    for name in var_names:
        dims = tuple(model.named_vars_to_dims.get(name, ()) or ())
        shape = (len(stat),) + tuple(len(model.coords[d]) for d in dims)
        arr = np.stack([r["stats"][name] if r["stats"] is not None else np.full(shape, np.nan)
                        for r in rows])
        if arr.ndim != 2 + len(dims):  # a variable without named dims
            dims = tuple(f"{name}_dim_{k}" for k in range(arr.ndim - 2))
        data_vars[name] = (("setting", "stat", *dims), arr)
        for d in dims:
            if d in model.coords and model.coords[d] is not None:
                coords[d] = list(model.coords[d])
    for field_, dtype in (("method", str), ("status", str), ("error", str), ("note", str),
                          ("pareto_k", float), ("ess_weights", float), ("support_wider", bool)):
        data_vars[field_] = ("setting", np.array([r[field_] for r in rows], dtype=dtype))
    for name in settings[0].coords:
        coords[name] = ("setting", np.array([s.coords[name] for s in settings]))
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    ds["pareto_k"].attrs["description"] = "Pareto k-hat of the PSIS weights (> 0.7: unreliable)"
    ds["ess_weights"].attrs["description"] = "effective sample size of the PSIS weights"
    return ds
