"""Simulation-based calibration: :func:`sbc`.

Draw parameters and data from the prior predictive, fit each simulated data set, and rank
each reference draw among the posterior draws of its fit: when the sampler targets the
posterior of the model that simulated the data, every rank is uniform (Talts et al. 2018).
:func:`sbc` returns the ranks with two tests of uniformity per parameter (and per group
element where a parameter has a dim): Pearson's chi-square over bins and the ECDF-difference
test with simultaneous bands of Säilynoja, Bürkner and Vehtari (2022)
(:mod:`pymc_hier.numerics.uniformity`); :func:`pymc_hier.plots.sbc.plot_sbc` draws the
ECDF differences.

It builds on the ideas of ``simuk`` (the ArviZ project's SBC package: prior predictive
draws, refits through ``pm.observe``-style conditioning, ranks as counts of draws below the
reference) and adds what it lacks here: refits through a model family (the family's
``with_observed`` puts each simulated data set into its data type and the model is rebuilt,
so data-dependent parametrisations follow the data), the exact samplers of
``fit(sampler="exact")``, ``concurrent.futures`` executors (Dask's
``client.get_executor()`` included), thinning to near-independent draws, per-group ranks,
one compiled nutpie sampler for replicates that differ only in data, and a labelled
:class:`xarray.Dataset` result.

References
----------
Talts, S., Betancourt, M., Simpson, D., Vehtari, A. and Gelman, A. (2018). Validating
Bayesian inference algorithms with simulation-based calibration. arXiv:1804.06788.

Säilynoja, T., Bürkner, P.-C. and Vehtari, A. (2022). Graphical test for discrete
uniformity and its applications in goodness-of-fit evaluation and multiple sample
comparison. *Statistics and Computing* 32, 32.
"""

from __future__ import annotations

import json
import math
import numbers
import warnings
from concurrent.futures import as_completed

import numpy as np
import pymc as pm
import xarray as xr

from pymc_hier.exceptions import SamplingWarning
from pymc_hier.family import ModelFamily
from pymc_hier.numerics.uniformity import chi_square_ranks, default_bins, ecdf_test
from pymc_hier.seeds import child_seed, resolve_seed
from pymc_hier.sensitivity.sbc_fits import Chunk, ModelRecipe, run_chunk
from pymc_hier.spec import get_spec

__all__ = ["SBC_SAMPLERS", "sbc"]

#: Samplers :func:`sbc` accepts (those of :func:`pymc_hier.fit`).
SBC_SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax", "exact")


def _positive_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    return int(value)


def _resolve_model(model_or_family, data) -> pm.Model:
    if isinstance(model_or_family, ModelFamily):
        family = model_or_family
        if data is None:
            if family.example_data is None:
                raise ValueError(f"data: the {family.name!r} family has no example data; "
                                 "pass data=")
            data = family.example_data()
        return family(data)
    if isinstance(model_or_family, pm.Model):
        if data is not None:
            raise ValueError("data: only with a ModelFamily (a model has its data)")
        return model_or_family
    raise TypeError(f"model_or_family: expected a pymc.Model or a ModelFamily, got "
                    f"{type(model_or_family).__name__}")


def _ranked_names(model, spec, prior: xr.Dataset, sampler: str, var_names) -> list[str]:
    """Variables ranked: in the prior draws, and in the fits, less the family's internal."""
    order = {name: i for i, name in enumerate(model.named_vars)}
    available = sorted(prior.data_vars, key=lambda v: order.get(v, len(order)))
    if sampler == "exact":
        if spec is None or spec.family.exact_posterior is None:
            what = "a plain PyMC model" if spec is None else f"the {spec.family.name!r} family"
            raise ValueError(f"sampler: 'exact' needs a model family with an exact "
                             f"posterior, got {what}")
        exact = set(spec.family.exact_posterior(model, spec).variables)
        available = [v for v in available if v in exact]
    if var_names is None:
        internal = set(spec.family.internal_names(spec)) if spec is not None else set()
        names = [v for v in available if v not in internal]
    else:
        names = [var_names] if isinstance(var_names, str) else list(var_names)
        missing = sorted(set(names) - set(available))
        if missing:
            raise ValueError(f"var_names: {missing} cannot be ranked (drawn from the prior "
                             f"and by this sampler: {', '.join(available)})")
    if not names:
        raise ValueError("var_names: no variable to rank")
    return names


def sbc(model_or_family, *, n_sims: int, draws: int = 99, sampler: str = "nutpie",
        executor=None, random_seed: int | None, data=None, var_names=None,
        simulate_from: pm.Model | None = None, chains: int = 2, tune: int = 1000,
        mcmc_draws: int | None = None,
        chunksize: int | None = None, prob: float = 0.95, bins: int | None = None,
        progressbar: bool = True, **sampler_kwargs) -> xr.Dataset:
    """Simulation-based calibration of a model and a sampler.

    For each of ``n_sims`` replicates, parameters and data are drawn from the prior
    predictive, the model is fitted to the simulated data and the rank of each reference
    parameter among ``draws`` (near-)independent posterior draws is recorded. With a
    calibrated sampler the ranks are uniform on ``0 .. draws``.

    Parameters
    ----------
    model_or_family : pymc.Model or ModelFamily
        The model (built by a family, or any PyMC model with observed variables), or a
        family, whose model is then built on ``data``. A family's model is rebuilt on each
        simulated data set through the family (its ``with_observed``); a plain model is
        copied with its observed values replaced.
    n_sims : int
        Number of replicates.
    draws : int, default 99
        Posterior draws each rank is taken among (ranks take ``draws + 1`` values).
    sampler : {"nutpie", "pymc", "numpyro", "blackjax", "exact"}, default "nutpie"
        As for :func:`pymc_hier.fit`; ``"exact"`` draws independently from the family's
        exact posterior (the reference the MCMC samplers are checked against).
    executor : concurrent.futures.Executor, optional
        Runs the replicates in chunks (``executor.submit``): a ``ThreadPoolExecutor``,
        ``ProcessPoolExecutor`` or Dask's ``client.get_executor()``. Process pools and Dask
        pickle the chunks: a family must then be registered
        (:func:`pymc_hier.register_family`). Default: in this thread.
    random_seed : int or None
        Required (``None`` draws a seed, recorded all the same). Seeds the prior predictive
        draws and, independently, each replicate's fit and ranks: results do not depend on
        the executor or the chunks.
    data : optional
        With a family: the data whose design (times, standard errors, groups) the
        simulations keep; default the family's ``example_data()``.
    var_names : str or sequence of str, optional
        Variables to rank. Default: every variable drawn from the prior that the fits
        return, except the family's internal ones (``theta_scaled``); variables a family
        integrates out and draws after sampling (``N0`` of ``n0="marginal"``) are not drawn
        from the prior and so not ranked.
    simulate_from : pymc.Model, optional
        The model the parameters and data are drawn from (default: the fitted one). A model
        that differs from the fitted one (a prior's scale halved) checks that the tests
        can fail: its ranks are not uniform.
    chains, tune : int, default 2 and 1000
        MCMC chains and tuning steps per replicate (ignored with ``"exact"``).
    mcmc_draws : int, optional
        MCMC draws per chain; default ``max(100, ceil(8 * draws / chains))``. The draws
        are thinned to about their effective sample size (the smaller of the bulk and tail
        ESS over the ranked variables) before ``draws`` of them are chosen; a replicate whose
        ESS falls short of ``draws`` is ranked among less thinned draws and counted in the
        ``thin_short`` attr.
    chunksize : int, optional
        Replicates per task: a chunk compiles a nutpie sampler once and reuses it for every
        replicate whose model differs only in data. Default: all of them without an
        executor, else ``ceil(n_sims / 16)``.
    prob : float, default 0.95
        Simultaneous coverage of the ECDF bands.
    bins : int, optional
        Bins of the chi-square test (default about 10 ranks expected per bin).
    progressbar : bool, default True
        Show a tqdm progress bar over the replicates.
    **sampler_kwargs
        Passed to the MCMC sampler (``target_accept``, ...).

    Returns
    -------
    xarray.Dataset
        Dims ``simulation`` and ``parameter`` (one entry per scalar, or per group element:
        ``"t0[3]"``; coords ``variable`` and ``element`` say which) and ``ecdf_point``:

        - ``rank`` (simulation, parameter): ranks in ``0 .. draws`` (-1 for a failed fit);
        - ``reference`` (simulation, parameter): the prior draws;
        - ``chi2``, ``chi2_pvalue``, ``ecdf_pvalue`` (parameter): the uniformity tests;
        - ``ecdf_difference`` (parameter, ecdf_point), ``ecdf_lower``/``ecdf_upper``
          (ecdf_point): ECDF minus the uniform CDF and its simultaneous band;
        - ``divergences``, ``max_rhat``, ``min_ess``, ``thin`` and ``error``
          (simulation): each fit's diagnostics (``max_rhat``/``min_ess`` NaN for exact
          draws) and error message ("" when it succeeded);
        - ``simulated_<name>`` (simulation, ...): the data each replicate was fitted to,
          per observed variable (a family's ``with_observed`` turns one into data).

        Attrs record the settings, the seed, ``n_failed``, ``thin_short``, the smallest
        p-values and the number of tests (compare the smallest p-value with ``alpha /
        n_tests`` for a family-wise level ``alpha``).

    Raises
    ------
    TypeError
        For a wrong type of ``model_or_family`` or of a count.
    ValueError
        For an unknown sampler, a bad count, ``"exact"`` without an exact posterior, a
        model without observed variables, or variables that cannot be ranked.

    Warns
    -----
    SamplingWarning
        When fits failed (their replicates are left out of the tests, which biases them) or
        had divergences.

    Examples
    --------
    >>> import pymc_hier as ph
    >>> result = ph.sbc(ph.eight_schools_model(), n_sims=20, draws=19, sampler="exact",
    ...                 random_seed=1, progressbar=False)
    >>> result["rank"].sizes["simulation"], int(result["rank"].max()) <= 19
    (20, True)
    """
    model = _resolve_model(model_or_family, data)
    if sampler not in SBC_SAMPLERS:
        raise ValueError(f"sampler: unknown sampler {sampler!r} (choose from "
                         f"{', '.join(SBC_SAMPLERS)})")
    n_sims = _positive_int("n_sims", n_sims, 2)
    draws = _positive_int("draws", draws)
    chains = _positive_int("chains", chains)
    tune = _positive_int("tune", tune, 0)
    if mcmc_draws is None:
        mcmc_draws = max(100, math.ceil(8 * draws / chains))
    mcmc_draws = _positive_int("mcmc_draws", mcmc_draws)
    if not model.observed_RVs:
        raise ValueError("model_or_family: the model has no observed variables to simulate")
    seed, seed_source = resolve_seed(random_seed)
    spec = get_spec(model)
    source = model if simulate_from is None else simulate_from
    if not isinstance(source, pm.Model):
        raise TypeError(f"simulate_from: expected a pymc.Model, got {type(source).__name__}")
    observed_names = [rv.name for rv in model.observed_RVs]
    if sorted(rv.name for rv in source.observed_RVs) != sorted(observed_names):
        raise ValueError(f"simulate_from: must simulate the fitted model's observed variables "
                         f"({', '.join(observed_names)})")

    from pymc_hier.ppc import prior_draws_of

    prior = prior_draws_of(source, n_sims, random_seed=child_seed(seed, 0))
    references = prior["prior"].to_dataset().isel(chain=0)
    simulated = prior["prior_predictive"].to_dataset().isel(chain=0)
    references = references[[v for v in references.data_vars if v in model.named_vars]]
    names = _ranked_names(model, spec, references, sampler, var_names)
    recipe = ModelRecipe.of(model)

    if chunksize is None:
        chunksize = n_sims if executor is None else max(1, math.ceil(n_sims / 16))
    chunksize = _positive_int("chunksize", chunksize)
    chunks = []
    for start in range(0, n_sims, chunksize):
        index = list(range(start, min(start + chunksize, n_sims)))
        chunks.append(Chunk(
            recipe=recipe, index=index,
            observed=[{k: simulated[k].isel(draw=i).values for k in observed_names}
                      for i in index],
            references=[{k: references[k].isel(draw=i).values for k in names}
                        for i in index],
            seeds=[child_seed(seed, 1 + i) for i in index], var_names=names,
            sampler=sampler, draws=draws,
            mcmc={"draws": mcmc_draws, "tune": tune, "chains": chains},
            sampler_kwargs=sampler_kwargs))
    rows = _run(chunks, executor, n_sims, progressbar)

    result = _assemble(rows, references, names, draws, prob, bins)
    for name in observed_names:   # the simulated data: any replicate can be refitted by hand
        da = simulated[name].rename(draw="simulation").drop_vars("simulation")
        result[f"simulated_{name}"] = da.assign_attrs(
            description=f"the simulated {name} each replicate was fitted to")
    result.attrs.update({
        "description": "simulation-based calibration: ranks of prior draws among posterior "
                       "draws of fits to data simulated from them",
        "sampler": sampler, "n_sims": n_sims, "n_draws": draws, "random_seed": seed,
        "random_seed_source": seed_source,
        "chains": chains if sampler != "exact" else 1,
        "tune": tune if sampler != "exact" else 0,
        "mcmc_draws": mcmc_draws if sampler != "exact" else 0,
        "sampler_kwargs": json.dumps(sampler_kwargs, sort_keys=True, default=repr),
        "family": spec.family.name if spec is not None else "",
        "factory": spec.factory if spec is not None else "custom",
        "variables": json.dumps(names),
        "simulated_from": "the fitted model" if simulate_from is None else "another model",
    })
    _warn(result)
    return result


def _run(chunks, executor, total, progressbar) -> list[dict]:
    from tqdm.auto import tqdm

    rows: list[dict] = []
    bar = tqdm(total=total, desc="sbc", unit="fit", disable=not progressbar)
    try:
        if executor is None:
            for chunk in chunks:
                rows.extend(chunk(callback=bar.update))
            return rows
        futures = {executor.submit(run_chunk, chunk): chunk for chunk in chunks}
        for fut in as_completed(futures):
            try:
                got = fut.result()
            except Exception as err:  # noqa: BLE001 - a lost task: its replicates failed
                got = [{"index": i, "error": f"{type(err).__name__}: {err}"}
                       for i in futures[fut].index]
            rows.extend(got)
            bar.update(len(got))
    finally:
        bar.close()
    return rows


def _labels(da: xr.DataArray) -> list[str]:
    """``"t0[3]"`` labels of a variable's elements (the bare name for a scalar)."""
    if da.ndim == 0:
        return [da.name]
    coords = [np.asarray(da[d].values) if d in da.coords else np.arange(da.sizes[d])
              for d in da.dims]
    grids = np.meshgrid(*coords, indexing="ij")
    return [f"{da.name}[{','.join(str(g.flat[i]) for g in grids)}]"
            for i in range(grids[0].size)]


def _assemble(rows, references, names, n_draws, prob, bins) -> xr.Dataset:
    rows = sorted(rows, key=lambda r: r["index"])
    n = len(rows)
    labels, variables, elements, ref_cols, rank_cols = [], [], [], [], []
    for name in names:
        da = references[name].isel(draw=0, drop=True).rename(name)
        labs = _labels(da)
        labels += labs
        variables += [name] * len(labs)
        elements += [lab[len(name) + 1:-1] if lab != name else "" for lab in labs]
        ref_cols.append(references[name].values.reshape(n, -1))
        rank_cols.append(np.stack([
            np.asarray(r["ranks"][name]).reshape(-1) if "ranks" in r
            else np.full(len(labs), -1) for r in rows]))
    rank = np.concatenate(rank_cols, axis=1).astype(np.int64)
    ok = np.array(["ranks" in r for r in rows])
    coords = {"simulation": np.arange(n), "parameter": labels,
              "variable": ("parameter", variables), "element": ("parameter", elements)}
    ds = xr.Dataset(coords=coords)
    ds["rank"] = (("simulation", "parameter"), rank,
                  {"description": f"rank of the reference among {n_draws} posterior draws "
                                  "(-1: the fit failed)"})
    ds["reference"] = (("simulation", "parameter"), np.concatenate(ref_cols, axis=1),
                       {"description": "parameter drawn from the prior"})
    for key, fill, what in (("divergences", -1, "divergent transitions after tuning"),
                            ("max_rhat", np.nan, "largest R-hat of the ranked variables"),
                            ("min_ess", np.nan, "smallest bulk/tail ESS of the ranked "
                                                "variables"),
                            ("thin", np.nan, "posterior draws per draw ranked")):
        ds[key] = ("simulation", np.array([r.get(key, fill) for r in rows]),
                   {"description": what})
    ds["error"] = ("simulation", np.array([r.get("error", "") for r in rows], dtype=object),
                   {"description": "why the fit failed ('' if it did not)"})
    good = rank[ok]
    n_tests = len(labels)
    if len(good) >= 2:
        bins = default_bins(len(good), n_draws) if bins is None else bins
        chi2, chi2_p = chi_square_ranks(good, n_draws, bins=bins)
        test = ecdf_test(good, n_draws, prob=prob)
        ds["chi2"] = ("parameter", chi2, {"description": f"Pearson chi-square over {bins} "
                                                         "bins of ranks"})
        ds["chi2_pvalue"] = ("parameter", chi2_p, {"description": f"chi-square p-value, "
                                                                  f"{bins - 1} df"})
        ds["ecdf_pvalue"] = ("parameter", test.pvalue, {
            "description": "ECDF-difference test (Säilynoja et al. 2022): probability under "
                           "uniformity of a smallest pointwise tail probability as small"})
        ds = ds.assign_coords(ecdf_point=test.points)
        ds["ecdf_difference"] = (("parameter", "ecdf_point"), test.difference,
                                 {"description": "ECDF of the fractional ranks minus the "
                                                 "uniform CDF"})
        ds["ecdf_lower"] = ("ecdf_point", test.lower, {"description": f"simultaneous "
                                                                     f"{prob:.0%} band"})
        ds["ecdf_upper"] = ("ecdf_point", test.upper, {"description": f"simultaneous "
                                                                     f"{prob:.0%} band"})
        ds.attrs.update(bins=int(bins), prob=float(prob), ecdf_gamma=test.gamma,
                        min_chi2_pvalue=float(np.min(chi2_p)),
                        min_ecdf_pvalue=float(np.min(test.pvalue)))
    short = np.asarray(ds["thin"].values, dtype=float)
    ds.attrs.update(n_failed=int((~ok).sum()), n_tests=n_tests,
                    n_divergent_fits=int((ds["divergences"].values > 0).sum()),
                    thin_short=int(np.sum(np.isfinite(ds["min_ess"].values)
                                          & (ds["min_ess"].values < n_draws))),
                    max_thin=float(np.nanmax(short)) if np.isfinite(short).any() else np.nan)
    return ds


def _warn(result: xr.Dataset) -> None:
    failed = result.attrs["n_failed"]
    if failed:
        first = next(e for e in result["error"].values if e)
        warnings.warn(f"sbc: {failed} of {result.attrs['n_sims']} fits failed and are left "
                      f"out of the tests, which biases them (first error: {first})",
                      SamplingWarning, stacklevel=3)
    divergent = result.attrs["n_divergent_fits"]
    if divergent:
        warnings.warn(f"sbc: {divergent} of {result.attrs['n_sims']} fits had divergent "
                      f"transitions ({int(result['divergences'].clip(0).sum())} in all)",
                      SamplingWarning, stacklevel=3)
