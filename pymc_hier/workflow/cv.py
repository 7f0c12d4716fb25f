"""Leave-one-out and leave-one-group-out cross-validation: :func:`cross_validate`.

Each point left out (an observation, or a group of them) gets its expected log predictive
density ``log p(y_g | y_-g)`` from the best source available, recorded per point:

1. ``"exact"``: the family's exact answer (``ModelFamily.exact_logo``; the hierarchical
   normal model: a one-dimensional quadrature per group), when the points are its groups;
2. ``"psis"``: Pareto-smoothed importance sampling of the fit's draws
   (:func:`arviz_stats.loo`, the group's log-likelihoods summed per draw for
   leave-one-group-out), trusted where Pareto ``k`` is below ArviZ's threshold;
3. ``"refit"``: where ``k`` is above it, the model sampled again without the point, one
   compiled model for every refit (:mod:`pymc_hier.workflow.refit`).

The PSIS value and its ``k`` are kept beside every point, so that the approximation can be
checked against the exact answer. :func:`compare_cv` ranks results with
:func:`arviz_stats.compare`.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping

import arviz_stats as azs
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from scipy.special import logsumexp

from pymc_hier.describe import describe_model
from pymc_hier.exceptions import CrossValidationWarning
from pymc_hier.groups import group_indices, group_labels
from pymc_hier.ppc import check_model_matches, pointwise_log_likelihood
from pymc_hier.records import model_hash
from pymc_hier.seeds import child_seed, resolve_seed
from pymc_hier.spec import get_spec

__all__ = ["METHODS", "compare_cv", "cross_validate", "to_elpd_data"]

#: Accepted values of ``method``.
METHODS = ("loo", "logo")
_SAMPLE_DIMS = ("chain", "draw")


def _observed(idata: xr.DataTree, model: pm.Model, var_name: str | None) -> str:
    names = [rv.name for rv in model.observed_RVs]
    if var_name is None:
        if len(names) != 1:
            raise ValueError(f"var_name: choose one of the observed variables {names}")
        return names[0]
    if var_name not in names:
        raise ValueError(f"var_name: {var_name!r} is not an observed variable of the model "
                         f"(have {names})")
    return var_name


def _log_lik(idata: xr.DataTree, model: pm.Model, var_name: str) -> xr.DataArray:
    if "log_likelihood" in idata.children and var_name in idata["log_likelihood"].data_vars:
        return idata["log_likelihood"][var_name]
    return pointwise_log_likelihood(idata, model)[var_name]


def _labels(ll: xr.DataArray, model: pm.Model, var_name: str, by: str | None):
    """Return (observation dim, point dim, group label of each observation or None)."""
    obs_dims = [d for d in ll.dims if d not in _SAMPLE_DIMS]
    if len(obs_dims) != 1:
        raise ValueError(f"var_name: cross-validation needs observations along one dim; "
                         f"{var_name!r} has {obs_dims}")
    obs_dim = obs_dims[0]
    if by is None or by == obs_dim:
        return obs_dim, obs_dim, None
    if not isinstance(by, str):
        raise TypeError(f"by: expected a group dim name, got {type(by).__name__}")
    if by in ll.coords and ll[by].dims == (obs_dim,):
        return obs_dim, by, np.asarray(ll[by].values)
    index = group_indices(model).get(var_name, {}).get(by)
    if index is None:
        raise ValueError(f"by: {by!r} is neither the observations' dim {obs_dim!r} nor a "
                         f"group they reach through an integer index (found: "
                         f"{sorted(group_indices(model).get(var_name, {}))})")
    codes = np.asarray(model[index].get_value())
    return obs_dim, by, group_labels(codes, model.coords.get(by))


def _points(model: pm.Model, point_dim: str, labels, obs_labels) -> np.ndarray:
    if labels is None:
        return np.asarray(obs_labels)
    order = model.coords.get(point_dim)
    present = pd.unique(pd.Series(labels)).tolist()
    if order is not None:
        present = [g for g in order if g in set(present)]
    return np.asarray(present)


def _psis(ll: xr.DataArray, posterior: xr.Dataset, name: str) -> tuple[np.ndarray, np.ndarray]:
    """PSIS-LOO values and Pareto k of every unit of ``ll`` (dims chain, draw, unit)."""
    tree = xr.DataTree.from_dict({"posterior": posterior,
                                  "log_likelihood": xr.Dataset({name: ll})})
    with warnings.catch_warnings():  # k is reported per point; the fallback is decided here
        warnings.filterwarnings("ignore", message=".*[Pp]areto.*")
        warnings.filterwarnings("ignore", message=".*pointwise.*")
        res = azs.loo(tree, pointwise=True, var_name=name)
    unit = [d for d in ll.dims if d not in _SAMPLE_DIMS][0]
    return (res.elpd_i.transpose(unit).values.astype(float),
            res.pareto_k.transpose(unit).values.astype(float))


def _lppd(flat: np.ndarray) -> np.ndarray:
    """Log mean_s p(y_unit | theta_s) of each column of ``flat`` (draws x units)."""
    return logsumexp(flat, axis=0) - np.log(flat.shape[0])


def _identity(model: pm.Model) -> str:
    """Hash of the model as written and its data: equal for parametrisations of one model."""
    spec = get_spec(model, warn=False)
    data = spec.family.fingerprint(spec.data) if spec is not None else model_hash(model)
    return hashlib.sha256((repr(describe_model(model)) + data).encode()).hexdigest()


def cross_validate(idata: xr.DataTree, model: pm.Model, *, by: str | None = None,
                   method: str = "loo", var_name: str | None = None, exact: bool = True,
                   refit: bool = True, k_threshold: float | None = None, executor=None,
                   sample_kwargs: Mapping | None = None,
                   random_seed: int | None = None) -> xr.Dataset:
    """Leave-one-out or leave-one-group-out elpd of every point, with Pareto k and fallbacks.

    Parameters
    ----------
    idata : xarray.DataTree
        A fit of ``model`` (its ``log_likelihood`` group is used when present, computed
        otherwise).
    model : pymc.Model
        The fitted model: a family's or any PyMC model.
    by : str, optional
        A group dim: ``method="loo"`` then sums the observations' values per group,
        ``method="logo"`` leaves each group out as a whole. Groups are the observations'
        own dim (one observation per group, as in the eight schools) or a dim they reach
        through an integer index (``a[g]``, :func:`pymc_hier.groups.group_indices`).
    method : {"loo", "logo"}, default "loo"
        Leave one observation out, or one group (``by`` required).
    var_name : str, optional
        The observed variable; needed only when there are several.
    exact : bool, default True
        Use the family's exact leave-one-group-out densities where the points are its
        groups (``ModelFamily.exact_logo``); PSIS values are kept beside them.
    refit : bool, default True
        Refit the model without each point whose Pareto ``k`` exceeds ``k_threshold``
        (and that has no exact value); otherwise keep the PSIS value and warn.
    k_threshold : float, optional
        Pareto ``k`` above which PSIS is not trusted; default ArviZ's
        ``min(1 - 1 / log10(S), 0.7)`` for ``S`` draws.
    executor : concurrent.futures.Executor, optional
        Where refits run (a ``ThreadPoolExecutor``, Dask's ``Client.get_executor()``);
        here by default. The model is compiled once with nutpie for all of them.
    sample_kwargs : mapping, optional
        ``draws``, ``tune`` and ``chains`` of each refit; by default those of the fit.
    random_seed : int, optional
        Seed of the refits (each gets its own stream); by default the fit's.

    Returns
    -------
    xarray.Dataset
        Along the points (the observations' dim, or ``by``): ``elpd`` (the estimate of
        ``log p(y_g | y_-g)``), ``source`` (``"exact"``, ``"psis"`` or ``"refit"``),
        ``elpd_psis`` and ``pareto_k`` (the importance-sampling estimate and its
        diagnostic, for every point), ``lppd`` (the within-sample ``log mean p(y_g |
        theta)``). Attrs: ``elpd`` (the sum), ``se``, ``p`` (effective number of
        parameters, ``sum(lppd - elpd)``), ``method``, ``by``, ``var_name``,
        ``n_samples``, ``good_k``, ``n_refits`` and ``model_identity`` (the model as
        written and its data, for :func:`compare_cv`).

    Raises
    ------
    TypeError
        For an ``idata`` or ``model`` of the wrong type.
    ValueError
        For an unknown method, ``method="logo"`` without ``by``, a ``by`` the
        observations do not reach, or a model that does not match ``idata``.

    Warns
    -----
    CrossValidationWarning
        When points with Pareto ``k`` above the threshold keep their PSIS value
        (``refit=False``).
    """
    if not isinstance(idata, xr.DataTree):
        raise TypeError(f"idata: expected an xarray.DataTree, got {type(idata).__name__}")
    if not isinstance(model, pm.Model):
        raise TypeError(f"model: expected a pymc.Model, got {type(model).__name__}")
    if method not in METHODS:
        raise ValueError(f"method: unknown method {method!r} (choose from "
                         f"{', '.join(METHODS)})")
    if method == "logo" and by is None:
        raise ValueError("by: leave-one-group-out (method='logo') needs the group dim")
    if "posterior" not in idata.children:
        raise ValueError("idata: no 'posterior' group")
    check_model_matches(idata, model)
    var_name = _observed(idata, model, var_name)
    ll = _log_lik(idata, model, var_name)
    obs_dim, point_dim, labels = _labels(ll, model, var_name, by)
    obs_labels = ll[obs_dim].values if obs_dim in ll.coords else np.arange(ll.sizes[obs_dim])
    points = _points(model, point_dim, labels, obs_labels)
    flat = ll.transpose(*_SAMPLE_DIMS, obs_dim).values.reshape(-1, ll.sizes[obs_dim])
    n_samples = flat.shape[0]
    good_k = min(1.0 - 1.0 / np.log10(n_samples), 0.7) if n_samples > 10 else 0.7
    threshold = good_k if k_threshold is None else float(k_threshold)

    # the units left out: observations (loo) or groups (logo)
    grouped = method == "logo" and labels is not None
    if grouped:
        members = [labels == g for g in points]
        unit_ll = np.stack([flat[:, m].sum(axis=1) for m in members], axis=1)
        units = points
    else:
        members = [np.arange(flat.shape[1]) == i for i in range(flat.shape[1])]
        unit_ll = flat
        units = np.asarray(obs_labels)
    shape = ll.sizes["chain"], ll.sizes["draw"]
    unit_da = xr.DataArray(unit_ll.reshape(*shape, -1), dims=(*_SAMPLE_DIMS, "_unit"),
                           coords={"_unit": np.arange(len(units))})
    psis, khat = _psis(unit_da, idata["posterior"].to_dataset(), var_name)
    lppd = _lppd(unit_ll)
    elpd = psis.copy()
    source = np.full(len(units), "psis", dtype=object)

    spec = get_spec(model, warn=False)
    family = None if spec is None else spec.family
    unit_dim = point_dim if grouped else obs_dim
    if exact and family is not None and family.exact_logo is not None \
            and unit_dim == family.group_dim_of(spec.data):
        known = family.exact_logo(model, spec)
        if known is not None:
            values = known.sel({unit_dim: list(units)}).values
            ok = ~np.isnan(values)
            elpd[ok], source[ok] = values[ok], "exact"

    bad = np.flatnonzero((khat > threshold) & (source == "psis"))
    n_refits = 0
    if bad.size and refit:
        kwargs = _refit_settings(idata, sample_kwargs)
        seed = resolve_seed(random_seed if random_seed is not None
                            else idata.attrs.get("random_seed"))[0]
        from pymc_hier.workflow.refit import refit_densities

        folds = {int(i): members[i].reshape(ll.sizes[obs_dim]) for i in bad}
        got = refit_densities(model, var_name, folds, sample_kwargs=kwargs,
                              seeds={i: child_seed(seed, 10 + i) for i in folds},
                              executor=executor)
        for i, value in got.items():
            elpd[i], source[i] = value, "refit"
        n_refits = len(got)
    elif bad.size:
        warnings.warn(f"cross_validate: {bad.size} of {len(units)} points have Pareto k above "
                      f"{threshold:.2f} and keep their PSIS value (refit=False); their elpd "
                      "may be biased upwards", CrossValidationWarning, stacklevel=2)

    if not grouped and labels is not None:  # loo summed per group
        index = [np.flatnonzero(labels == g) for g in points]
        agg = {k: np.array([v[i].sum() for i in index]) for k, v in
               (("elpd", elpd), ("elpd_psis", psis), ("lppd", lppd))}
        agg["pareto_k"] = np.array([khat[i].max() for i in index])
        agg["source"] = np.array([_combined(source[i]) for i in index], dtype=object)
    else:
        agg = {"elpd": elpd, "elpd_psis": psis, "lppd": lppd, "pareto_k": khat,
               "source": source}
    return _dataset(agg, point_dim, points, attrs={
        "method": method, "by": by or "", "var_name": var_name, "n_samples": n_samples,
        "good_k": good_k, "k_threshold": threshold, "n_refits": n_refits,
        "model_identity": _identity(model),
        "model": spec.factory if spec is not None else "custom"})


def _combined(sources) -> str:
    kinds = sorted(set(sources))
    return kinds[0] if len(kinds) == 1 else "+".join(kinds)


def _refit_settings(idata: xr.DataTree, sample_kwargs) -> dict:
    out = {k: int(idata.attrs[k]) for k in ("draws", "tune", "chains")
           if isinstance(idata.attrs.get(k), int | np.integer) and int(idata.attrs[k]) > 0}
    out = {"draws": 1000, "tune": 1000, "chains": 4, **out, **dict(sample_kwargs or {})}
    unknown = set(out) - {"draws", "tune", "chains"}
    if unknown:
        raise ValueError(f"sample_kwargs: unknown option(s) {sorted(unknown)} (accepted: "
                         "draws, tune, chains)")
    return out


def _dataset(agg: dict, dim: str, points, attrs: dict) -> xr.Dataset:
    elpd = np.asarray(agg["elpd"], dtype=float)
    n = elpd.size
    finite = np.isfinite(elpd).all()
    se = float(np.sqrt(n * np.var(elpd))) if finite and n > 1 else np.nan
    ds = xr.Dataset(
        {"elpd": (dim, elpd, {"description": "estimate of log p(y_g | y_-g)"}),
         "source": (dim, np.asarray(agg["source"], dtype=str),
                    {"description": "where elpd comes from: exact, psis or refit"}),
         "elpd_psis": (dim, agg["elpd_psis"],
                       {"description": "Pareto-smoothed importance-sampling estimate"}),
         "pareto_k": (dim, agg["pareto_k"], {"description": "Pareto k of the PSIS estimate"}),
         "lppd": (dim, agg["lppd"], {"description": "log mean p(y_g | theta) over the draws"})},
        coords={dim: np.asarray(points)},
        attrs={**attrs, "elpd": float(elpd.sum()), "se": se,
               "p": float(np.sum(agg["lppd"] - elpd)) if finite else np.nan})
    return ds


def to_elpd_data(cv: xr.Dataset):
    """Return a :func:`cross_validate` result as :class:`arviz_stats.utils.ELPDDataLOO`."""
    from arviz_stats.utils import ELPDDataLOO

    if not isinstance(cv, xr.Dataset) or "elpd" not in cv or "pareto_k" not in cv:
        raise TypeError("cv: expected a result of cross_validate")
    return ELPDDataLOO(
        elpd=float(cv.attrs["elpd"]), se=float(cv.attrs["se"]), p=float(cv.attrs["p"]),
        n_samples=int(cv.attrs["n_samples"]), n_data_points=int(cv["elpd"].size),
        scale="log", warning=bool((cv["pareto_k"] > cv.attrs["k_threshold"]).any()
                                  & (cv["source"] == "psis").any()),
        good_k=float(cv.attrs["good_k"]), elpd_i=cv["elpd"], pareto_k=cv["pareto_k"])


def compare_cv(results: Mapping[str, xr.Dataset], *, method: str = "stacking") -> pd.DataFrame:
    """Rank :func:`cross_validate` results by elpd (:func:`arviz_stats.compare`).

    Parameters
    ----------
    results : mapping of str to xarray.Dataset
        Results of :func:`cross_validate` on the same points, by model name.
    method : str, default "stacking"
        How :func:`arviz_stats.compare` weighs the models.

    Returns
    -------
    pandas.DataFrame
        ArviZ's comparison table (``rank``, ``elpd``, ``p``, ``elpd_diff``, ``weight``,
        ``se``, ``dse``, ...), best first.

    Raises
    ------
    TypeError
        For results that are not :func:`cross_validate` Datasets.
    ValueError
        For fewer than two results, or results on different points or methods.

    Warns
    -----
    CrossValidationWarning
        When two results come from the same model as written on the same data
        (parametrisations of one model): they predict alike, and their difference is
        Monte Carlo error, not a difference between models.
    """
    if not isinstance(results, Mapping) or len(results) < 2:
        raise ValueError("results: give at least two cross_validate results by name")
    elpds = {str(name): to_elpd_data(cv) for name, cv in results.items()}
    first = next(iter(results.values()))
    for name, cv in results.items():
        if cv.attrs.get("method") != first.attrs.get("method") or \
                not np.array_equal(cv["elpd"][cv["elpd"].dims[0]].values,
                                   first["elpd"][first["elpd"].dims[0]].values):
            raise ValueError(f"results: {name!r} left out other points than the first result "
                             "(compare results of one method on the same data)")
    seen: dict[str, str] = {}
    for name, cv in results.items():
        ident = cv.attrs.get("model_identity")
        if ident and ident in seen:
            warnings.warn(f"compare_cv: {seen[ident]!r} and {name!r} are the same model as "
                          "written on the same data (parametrisations of one model); their "
                          "elpd differ by Monte Carlo error only", CrossValidationWarning,
                          stacklevel=2)
        elif ident:
            seen[ident] = str(name)
    return azs.compare(elpds, method=method, round_to="none")
