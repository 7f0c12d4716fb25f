"""Complete, partial and no pooling fitted on the same data: :func:`compare_pooling`.

A family says how to build each level of pooling and which per-unit effect they share
(``ModelFamily.pooling``, a :class:`~pymc_hier.family.Pooling`): the hierarchical normal
model builds all three (``pooling="complete" | "partial" | "none"``), the decay model
compares one shared rate with a hierarchy of rates (``alpha="shared" | "hierarchical"``).
Each level is fitted (exactly where the family has an exact posterior for it), summarised
per unit, and cross-validated (:func:`pymc_hier.cross_validate`: PSIS-LOO, with exact
or refitted values where importance sampling fails); :func:`pymc_hier.workflow.cv.compare_cv`
ranks them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from pymc_hier.describe import describe_model
from pymc_hier.family import ModelFamily
from pymc_hier.fitting import fit
from pymc_hier.plots.hierarchy import summarise_draws
from pymc_hier.seeds import child_seed, resolve_seed
from pymc_hier.spec import get_spec
from pymc_hier.workflow.cv import compare_cv, cross_validate

__all__ = ["SAMPLERS", "STATS", "compare_pooling"]

#: Accepted values of ``sampler``: ``"auto"`` draws exactly where the family can.
SAMPLERS = ("auto", "exact", "nutpie", "pymc", "numpyro", "blackjax")
#: The summaries along the ``stat`` dim.
STATS = ("mean", "sd", "lower", "upper")
_TABLE = ("rank", "elpd_diff", "dse", "weight")


def _family(family) -> ModelFamily:
    if isinstance(family, ModelFamily):
        return family
    if isinstance(family, str):
        from pymc_hier.registry import get_family

        return get_family(family)
    raise TypeError(f"family: expected a family name or a ModelFamily, got "
                    f"{type(family).__name__}")


def _has_exact(model) -> bool:
    spec = get_spec(model)
    if spec is None or spec.family.exact_posterior is None:
        return False
    try:
        spec.family.exact_posterior(model, spec)
    except ValueError:  # this variant of the family has none
        return False
    return True


def _level_priors(family: ModelFamily, data, priors, options: dict):
    """Return the user's priors that this level has (a preset applies to every level)."""
    if priors is None or isinstance(priors, str):
        return priors
    if not isinstance(priors, Mapping):
        raise TypeError(f"priors: expected a preset name or a mapping, got "
                        f"{type(priors).__name__}")
    own = family.priors_for(None, data, options=family.check_options(options))
    return {k: v for k, v in priors.items() if k in own}


def _summary(da: xr.DataArray, ci_prob: float) -> np.ndarray:
    s = summarise_draws(da, ci_prob)
    return np.stack([s["mean"], s["sd"], s["lo"], s["hi"]], axis=-1)


def compare_pooling(data, family="hierarchical_normal", *, random_seed: int | None,
                    sampler: str = "auto", priors=None, options: Mapping | None = None,
                    levels=None, draws: int = 1000, tune: int = 1000, chains: int = 4,
                    ci_prob: float = 0.9, cv_kwargs: Mapping | None = None,
                    progressbar: bool = False) -> xr.Dataset:
    """Fit complete, partial and no pooling on ``data``; compare them unit by unit and by LOO.

    Parameters
    ----------
    data : object
        The family's data (:class:`~pymc_hier.SchoolsData`, :class:`~pymc_hier.DecayData`).
    family : str or ModelFamily, default "hierarchical_normal"
        A family with levels of pooling (``ModelFamily.pooling``): ``"hierarchical_normal"``
        (and ``"eight_schools"``) compare all three, ``"decay"`` a shared rate (complete)
        with a hierarchy of rates (partial).
    random_seed : int or None
        Required; each level's fit and cross-validation get their own stream.
    sampler : {"auto", "exact", "nutpie", "pymc", "numpyro", "blackjax"}, default "auto"
        ``"auto"``: independent draws from the exact posterior where the family has one for
        the level (every level of the hierarchical normal model, the decay model's shared
        rate), nutpie elsewhere.
    priors : str or mapping, optional
        A preset (every level), or priors by parameter: each level takes those it has.
    options : mapping, optional
        Further options of the family for every level (``{"t0": "known"}``).
    levels : sequence of str, optional
        The levels to fit (default every level the family has).
    draws, tune, chains : int
        Of each fit.
    ci_prob : float, default 0.9
        Probability of the equal-tailed intervals.
    cv_kwargs : mapping, optional
        Passed to :func:`pymc_hier.cross_validate` (``refit``, ``executor``, ...).
    progressbar : bool, default False
        Show the samplers' progress bars.

    Returns
    -------
    xarray.Dataset
        Dims ``pooling`` (the levels, complete to none), the group dim and ``stat``
        (``mean``, ``sd``, ``lower``, ``upper``). Variables: the effect (``theta``,
        ``alpha``) per level and unit (a level that shares one effect repeats it), each
        population parameter per level (NaN where a level has none); ``elpd_loo``, ``se``
        and ``p_loo`` per level, ``elpd_psis`` (the importance-sampling estimate of
        ``elpd_loo``, :func:`arviz_stats.loo`) and ``elpd_i``, ``elpd_source`` and
        ``pareto_k`` per level and observation (:func:`pymc_hier.cross_validate`: exact
        values where the family has them, refits where Pareto k is high); the comparison table of
        :func:`arviz_stats.compare` (``rank``, ``elpd_diff``, ``dse``, ``weight``);
        ``sampler`` per level; and the data's variables along the group dim (``y``,
        ``sigma``) for :func:`pymc_hier.plot_shrinkage`. Attrs: ``family``, ``effect``,
        ``group_dim``, ``ci_prob``, ``random_seed``, ``data_hash``.

    Raises
    ------
    TypeError
        For a family of the wrong type.
    ValueError
        For a family without levels of pooling, unknown levels or sampler, or
        ``sampler="exact"`` for a level without an exact posterior.

    Examples
    --------
    >>> import pymc_hier as ph
    >>> cmp = ph.compare_pooling(ph.EIGHT_SCHOOLS, random_seed=1, draws=200, chains=2)
    >>> list(cmp["pooling"].values)
    ['complete', 'partial', 'none']
    """
    fam = _family(family)
    if fam.pooling is None:
        raise ValueError(f"family: the {fam.name!r} family has no levels of pooling")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler: unknown sampler {sampler!r} (choose from "
                         f"{', '.join(SAMPLERS)})")
    if isinstance(ci_prob, bool) or not isinstance(ci_prob, int | float) \
            or not 0 < ci_prob < 1:
        raise ValueError(f"ci_prob: must lie in (0, 1), got {ci_prob!r}")
    names = fam.pooling.names if levels is None else tuple(levels)
    unknown = sorted(set(names) - set(fam.pooling.names))
    if unknown or len(names) < 2:
        raise ValueError(f"levels: choose at least two of {', '.join(fam.pooling.names)} "
                         f"(got {list(names)})")
    names = tuple(n for n in fam.pooling.names if n in names)
    seed = resolve_seed(random_seed)[0]
    effect = fam.pooling.effect
    dim = fam.group_dim_of(data)
    fits, cvs, used = {}, {}, {}
    for k, level in enumerate(names):
        level_options = {**dict(options or {}), **fam.pooling.levels[level]}
        model = fam(data, priors=_level_priors(fam, data, priors, level_options),
                    **level_options)
        how = sampler
        if sampler == "auto":
            how = "exact" if _has_exact(model) else "nutpie"
        idata = fit(model, draws=draws, tune=tune, chains=chains, sampler=how,
                    random_seed=child_seed(seed, k), progressbar=progressbar)
        fits[level], used[level] = (idata, model), how
        cvs[level] = cross_validate(idata, model, **{"random_seed": child_seed(seed, 100 + k),
                                                     **dict(cv_kwargs or {})})
    return _assemble(fam, data, fits, cvs, used, effect, dim, ci_prob, seed)


def _assemble(fam, data, fits, cvs, used, effect, dim, ci_prob, seed) -> xr.Dataset:
    names = list(fits)
    first_idata, first_model = fits[names[0]]
    units = np.asarray(first_model.coords[dim])
    effect_values = np.full((len(names), units.size, len(STATS)), np.nan)
    population: dict[str, np.ndarray] = {}
    for i, level in enumerate(names):
        idata, model = fits[level]
        spec = get_spec(model)
        post = idata["posterior"].to_dataset()
        da = post[effect]
        if dim not in da.dims:  # one effect shared by every unit
            da = da.expand_dims({dim: units}, axis=-1)
        effect_values[i] = _summary(da.transpose("chain", "draw", dim), ci_prob)
        for p in fam.population_names(spec):
            if p in post and set(post[p].dims) == {"chain", "draw"}:
                population.setdefault(p, np.full((len(names), len(STATS)), np.nan))
                population[p][i] = _summary(post[p], ci_prob)
    table = compare_cv(cvs)
    stat = {"stat": list(STATS)}
    gen = describe_model(fits["partial" if "partial" in fits else names[0]][1])
    long_name = gen[effect].description if effect in gen and gen[effect].description \
        else effect
    ds = xr.Dataset(
        {effect: (("pooling", dim, "stat"), effect_values,
                  {"long_name": long_name,
                   "description": f"posterior of each {dim}'s {effect} at each level of "
                                  "pooling"})},
        coords={"pooling": names, dim: units, **stat})
    for p, values in population.items():
        ds[p] = (("pooling", "stat"), values, {"description": "population parameter"})
    ds["elpd_loo"] = ("pooling", [cvs[n].attrs["elpd"] for n in names],
                      {"description": "expected log pointwise predictive density (LOO)"})
    ds["elpd_psis"] = ("pooling", [float(cvs[n]["elpd_psis"].sum()) for n in names],
                       {"description": "PSIS-LOO estimate of elpd_loo (arviz_stats.loo)"})
    ds["se"] = ("pooling", [cvs[n].attrs["se"] for n in names],
                {"description": "standard error of elpd_loo"})
    ds["p_loo"] = ("pooling", [cvs[n].attrs["p"] for n in names],
                   {"description": "effective number of parameters"})
    for var, out in (("elpd", "elpd_i"), ("source", "elpd_source"), ("pareto_k", "pareto_k")):
        ds[out] = xr.concat([cvs[n][var] for n in names],
                            dim="pooling").assign_coords(pooling=names)
    for col in _TABLE:
        ds[col] = ("pooling", table.loc[names, col].to_numpy(dtype=float),
                   {"description": f"arviz_stats.compare: {col}"})
    ds["sampler"] = ("pooling", [used[n] for n in names])
    data_ds = fam.data_to_dataset(data)
    for name, var in data_ds.data_vars.items():
        if var.dims == (dim,) and name not in ds:
            ds[name] = var
    ds.attrs = {"family": fam.name, "effect": effect, "group_dim": dim, "ci_prob": ci_prob,
                "random_seed": seed, "data_hash": fam.fingerprint(data),
                "description": "complete, partial and no pooling compared"}
    return ds
