"""The report's section on pooling, cross-validation, prediction and parametrisation.

Each part appears only where its result exists: levels of pooling compared
(:func:`pymc_hier.compare_pooling`, passed as ``report(..., pooling=...)``),
cross-validation (:func:`pymc_hier.cross_validate`, ``cv=...``), predictions (a fit with
a ``predictions`` group, :func:`pymc_hier.predict`) and, where the sampler diverged in a
normal hierarchy or the form was chosen per group (``parametrization="auto"``), which
groups suit the centred form (:func:`pymc_hier.parametrization_advice`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from pymc_hier.plots.hierarchy import plot_shrinkage, plural, summarise_draws
from pymc_hier.plots.pooling import is_pooling_comparison
from pymc_hier.reports import html as H
from pymc_hier.reports.context import ReportContext
from pymc_hier.reports.numbers import fmt_fixed, fmt_khat, format_values

__all__ = ["check_cv", "check_pooling", "workflow_section"]

_LEVEL_WORDS = {"complete": "complete pooling", "partial": "partial pooling",
                "none": "no pooling"}
_SOURCE_WORDS = {"exact": "exact", "psis": "PSIS", "refit": "refitted"}


def check_pooling(pooling) -> None:
    """Raise unless ``pooling`` is a :func:`pymc_hier.compare_pooling` result."""
    if not isinstance(pooling, xr.Dataset):
        raise TypeError(f"pooling: expected the xarray.Dataset of compare_pooling, got "
                        f"{type(pooling).__name__}")
    if not is_pooling_comparison(pooling):
        raise ValueError("pooling: not a compare_pooling result (needs 'pooling' and 'stat' "
                         "dims and an 'effect' attr)")


def check_cv(cv) -> None:
    """Raise unless ``cv`` is a :func:`pymc_hier.cross_validate` result."""
    if not isinstance(cv, xr.Dataset):
        raise TypeError(f"cv: expected the xarray.Dataset of cross_validate, got "
                        f"{type(cv).__name__}")
    if not {"elpd", "source", "pareto_k"} <= set(cv.data_vars) or "method" not in cv.attrs:
        raise ValueError("cv: not a cross_validate result (needs elpd, source and pareto_k "
                         "and a 'method' attr)")


def workflow_section(ctx: ReportContext, pooling: xr.Dataset | None = None,
                     cv: xr.Dataset | None = None) -> str:
    """Write every part whose result exists; empty when none does."""
    parts = [_pooling(ctx, pooling) if pooling is not None else "",
             _cv(cv) if cv is not None else "",
             _predictions(ctx), _advice(ctx)]
    return "\n".join(p for p in parts if p)


def _pooling(ctx: ReportContext, ds: xr.Dataset) -> str:
    levels = [str(v) for v in ds["pooling"].values]
    dim = ds.attrs["group_dim"]
    words = ", ".join(_LEVEL_WORDS.get(lv, lv) for lv in levels)
    rows = []
    for lv in levels:
        row = ds.sel(pooling=lv)
        elpd, se = float(row["elpd_loo"]), float(row["se"])
        diff, dse = float(row["elpd_diff"]), float(row["dse"])
        e, s, d, ds_ = format_values([elpd, se, diff, dse], sig=3)
        rows.append([_LEVEL_WORDS.get(lv, lv), f"{e} ± {s}", f"{d} ± {ds_}",
                     fmt_fixed(float(row["p_loo"]), 1), fmt_fixed(float(row["weight"]), 2),
                     str(row["sampler"].values)])
    best = levels[int(np.argmin(ds["rank"].values))]
    text = (f"<h3>Levels of pooling</h3><p>The same data fitted with {H.esc(words)}. Each "
            f"{H.esc(dim)}'s effect at every level below; leave-one-out cross-validation "
            f"predicts each observation from the others (elpd: higher is better) and ranks "
            f"{H.esc(_LEVEL_WORDS.get(best, best))} first.</p>")
    fig = plot_shrinkage(ds)
    caption = (f"Each {dim}'s own estimate ± 1 standard error (open circles, where the data "
               f"have one) and the posterior mean and {ctx.interval} of its effect at each "
               "level of pooling.")
    header = ["pooling", "elpd_loo ± se", "elpd_diff ± dse", "p_loo", "weight", "sampler"]
    sources = sorted({str(v) for v in np.ravel(ds["elpd_source"].values)})
    note = (f'<p class="note">elpd values: {", ".join(_SOURCE_WORDS.get(s, s) for s in sources)}'
            " leave-one-out densities (exact where the family has them, Pareto-smoothed "
            "importance sampling otherwise, refits where its k was high); the weights are "
            "arviz_stats.compare's stacking weights.</p>")
    return (text + H.figure(H.svg_of_figure(fig), caption, narrow=True,
                            label="levels of pooling")
            + H.table(header, rows, align=["l", "r", "r", "r", "r", "l"]) + note)


def _cv(cv: xr.Dataset) -> str:
    dim = cv["elpd"].dims[0]
    method = "leave-one-group-out" if cv.attrs["method"] == "logo" else "leave-one-out"
    elpd, se = format_values([cv.attrs["elpd"], cv.attrs["se"]], sig=3)
    counts = {s: int((cv["source"] == s).sum()) for s in ("exact", "psis", "refit")}
    how = ", ".join(f"{n} {_SOURCE_WORDS[s]}" for s, n in counts.items() if n)
    high = int(((cv["pareto_k"] > cv.attrs["k_threshold"]) & (cv["source"] == "psis")).sum())
    warn = (f' <span class="flag-bad">{high} PSIS values have Pareto k above '
            f'{cv.attrs["k_threshold"]:.2f}: read them with care.</span>' if high else "")
    text = (f"<h3>Cross-validation</h3><p>{H.esc(method.capitalize())} elpd {elpd} ± {se} "
            f"(standard error), effective number of parameters "
            f"{fmt_fixed(cv.attrs['p'], 1)}; per {H.esc(dim)}: {H.esc(how)}.{warn}</p>")
    values = format_values(np.r_[cv["elpd"].values, cv["elpd_psis"].values], sig=3)
    n = cv.sizes[dim]
    rows = [[str(label), values[k], _SOURCE_WORDS.get(str(cv["source"].values[k]),
                                                       str(cv["source"].values[k])),
             values[n + k], fmt_khat(float(cv["pareto_k"].values[k]))]
            for k, label in enumerate(cv[dim].values)]
    return text + H.folded_table(f"Every {dim}", [dim, "elpd", "from", "PSIS estimate",
                                                  "Pareto k"], rows,
                                 align=["l", "r", "l", "r", "r"])


def _predictions(ctx: ReportContext) -> str:
    idata = ctx.idata
    if "predictions" not in idata.children:
        return ""
    pred = idata["predictions"].to_dataset()
    const = (idata["predictions_constant_data"].to_dataset()
             if "predictions_constant_data" in idata.children else xr.Dataset())
    parts = ["<h3>Predictions</h3>"]
    for name, da in pred.data_vars.items():
        other = [d for d in da.dims if d not in ("chain", "draw")]
        if len(other) != 1:
            continue
        dim = other[0]
        s = summarise_draws(da, ctx.ci_prob)
        scale = float(np.nanmedian(s["sd"]))
        cols = {k: format_values(s[k], scale=scale) for k in ("mean", "sd", "lo", "hi")}
        given = [v for v in const.data_vars if const[v].dims == (dim,)]
        header = [dim, *given, "mean", "sd", ctx.interval]
        labels = da[dim].values
        given_cols = [format_values(const[v].values, sig=4) if const[v].dtype.kind == "f"
                      else [str(x) for x in const[v].values] for v in given]
        rows = []
        for k, label in enumerate(labels):
            rows.append([str(label), *(c[k] for c in given_cols), cols["mean"][k],
                         cols["sd"][k], f"{cols['lo'][k]} to {cols['hi'][k]}"])
        what = da.attrs.get("long_name") or name
        parts.append(f"<p>{H.esc(what[:1].upper() + what[1:])} ({H.esc(name)}) of "
                     f"{len(labels)} {H.esc(plural(dim) if len(labels) != 1 else dim)}: "
                     f"posterior predictive mean and {ctx.interval}.</p>")
        parts.append(H.table(header, rows, align=["l"] * (1 + len(given)) + ["r"] * 3))
    return "\n".join(parts) if len(parts) > 1 else ""


def _advice(ctx: ReportContext) -> str:
    from pymc_hier.workflow.funnel import parametrization_advice

    divergent = ctx.idata["diagnostics"].attrs.get("n_divergent", 0) \
        if "diagnostics" in ctx.idata.children else 0
    auto = ctx.spec is not None and ctx.spec.options.get("parametrization") == "auto"
    if not (divergent or auto):
        return ""
    try:
        advice = parametrization_advice(ctx.idata, ctx.model)
    except ValueError:  # no normal hierarchy
        return ""
    dim = advice["advice"].dims[0]
    centred = [str(v) for v in advice[dim].values[advice["advice"].values == "centered"]]
    scale = advice.attrs["scale"]
    chosen = ""
    if auto:
        picked = ctx.spec.options.get("centered") or []
        chosen = (f" This fit centred {', '.join(picked) if picked else 'no group'} "
                  "(parametrization='auto', chosen before sampling from the exact posterior "
                  f"median of {scale}).")
    which = (f"The {plural(dim)} whose data outweigh the population (a data standard error "
             f"below {scale} for most of {scale}'s posterior) suit the centred form: "
             f"{', '.join(centred)}; the others suit the non-centred form." if centred else
             f"No {dim}'s data outweigh the population (no data standard error lies below "
             f"{scale} for most of {scale}'s posterior): every {dim} suits the non-centred "
             "form.")
    return f"<h3>Parametrisation</h3><p>{H.esc(which + chosen)}</p>"
