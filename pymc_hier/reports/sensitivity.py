"""The prior-sensitivity section of a report.

The parameters a reader cares about against the swept hyperparameter, as a table (k-hat
``–`` where nothing was reweighted) and a figure.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from pymc_hier.plots.sweep import default_sweep_vars, interval_stats, plot_sweep
from pymc_hier.reports import html as H
from pymc_hier.reports.context import ReportContext
from pymc_hier.reports.numbers import DASH, fmt_count, fmt_khat, format_values

__all__ = ["check_sweep", "sensitivity_section"]

_METHOD_WORDS = {"reweight": "reweighted", "refit": "refitted"}


def check_sweep(sweep) -> None:
    """Raise unless ``sweep`` looks like the result of :func:`pymc_hier.prior_sweep`.

    Raises
    ------
    TypeError
        When it is not an :class:`xarray.Dataset`.
    ValueError
        When it has no ``setting`` and ``stat`` dims or no ``param`` attr.
    """
    if not isinstance(sweep, xr.Dataset):
        raise TypeError(f"sweep: expected the xarray.Dataset of prior_sweep, got "
                        f"{type(sweep).__name__}")
    if "setting" not in sweep.dims or "stat" not in sweep.dims or "param" not in sweep.attrs:
        raise ValueError("sweep: not a prior sweep (needs 'setting' and 'stat' dims and a "
                         "'param' attr, as prior_sweep writes)")


def _param_words(ctx: ReportContext, param: str) -> str:
    """``β of τ's prior (HalfCauchy)`` or ``largest initial amount N₀,ₘₐₓ``."""
    gen = ctx.gen
    if "." in param:
        var, _, key = param.partition(".")
        if var in gen:
            node = gen[var]
            return f"{key} of the {node.dist} prior of {node.symbol.unicode()}"
        return f"{key} of the prior of {var}"
    if param in gen:
        node = gen[param]
        return f"{node.description} {node.symbol.unicode()}".strip()
    return param


def _vars(ctx: ReportContext, sweep: xr.Dataset, var_names) -> list[str]:
    """Return the population parameters (and ``var_names``) the sweep holds."""
    wanted = [n for n in (*ctx.population, *(var_names or ())) if n in sweep.data_vars
              and "stat" in sweep[n].dims]
    return list(dict.fromkeys(wanted)) or default_sweep_vars(sweep)


def _display(ctx: ReportContext, sweep: xr.Dataset, names: list[str]) -> xr.Dataset:
    out = sweep.copy()
    for name in names:
        out[name] = ctx.units.convert(name, sweep[name])
    return out


def sensitivity_section(ctx: ReportContext, sweep: xr.Dataset, var_names=None) -> str:
    """Table and figure of the sweep, in the report's units and interval."""
    names = _vars(ctx, sweep, var_names)
    param = str(sweep.attrs.get("param", ""))
    shown = _display(ctx, sweep, names)
    note = ""
    try:
        interval = interval_stats(sweep, ctx.ci_prob)
        band = ctx.interval
    except ValueError:
        interval = interval_stats(sweep)
        band = "interval between the sweep's outer quantiles"
        if interval is not None:
            note = (f" This sweep holds no {ctx.interval}; its band is the "
                    f"{interval[0][1:]}–{interval[1][1:]} quantile range.")
    words = _param_words(ctx, param)
    x = _swept_values(sweep, param)
    if sweep.attrs.get("sampler") == "exact" and set(map(str, sweep["method"].values)) == {
            "refit"}:
        how = (" Each setting was drawn afresh from the model's exact posterior "
               "(independent draws); nothing was reweighted.")
    else:
        how = (" Settings whose importance weights are reliable (Pareto k-hat below "
               f"{float(sweep.attrs.get('khat_threshold', 0.7)):g}) were reweighted from the "
               "fit above; the others were refitted.")
    parts = [f"<p>The prior was changed one setting at a time: {H.esc(words)} "
             f"(<code>{H.esc(param)}</code>) took the values "
             f"{H.esc(', '.join(f'{v:g}' for v in x) if x is not None else 'listed below')}."
             + how + H.esc(note) + "</p>"]
    parts.append(_table(ctx, sweep, shown, names, interval, band))
    if names:
        labels = {n: _axis_label(ctx, n) for n in names}
        fig = plot_sweep(shown, names, interval=interval, xlabel=words, labels=labels)
        parts.append(H.figure(H.svg_of_figure(fig),
                              f"Posterior mean (line, markers: circle reweighted, square "
                              f"refitted) and {band} (band) against the swept value.",
                              narrow=True, label="prior sweep"))
    return "\n".join(parts)


def _axis_label(ctx: ReportContext, name: str) -> str:
    sym = ctx.plain_symbol(name)
    unit = ctx.units.text(name)
    return f"{sym} [{unit}]" if unit else sym


def _swept_values(sweep: xr.Dataset, param: str):
    if param in sweep.coords and sweep[param].dims == ("setting",):
        try:
            return np.asarray(sweep[param].values, dtype=float)
        except (TypeError, ValueError):
            return None
    return None


def _table(ctx: ReportContext, sweep: xr.Dataset, shown: xr.Dataset, names: list[str],
           interval, band: str) -> str:
    x = _swept_values(sweep, str(sweep.attrs.get("param", "")))
    settings = [f"{v:g}" for v in x] if x is not None \
        else [str(s) for s in sweep["setting"].values]
    n = len(settings)
    methods = sweep["method"].values if "method" in sweep else np.full(n, "refit")
    status = sweep["status"].values if "status" in sweep else np.full(n, "ok")
    khat = sweep["pareto_k"].values if "pareto_k" in sweep else np.full(n, np.nan)
    ess_w = sweep["ess_weights"].values if "ess_weights" in sweep else np.full(n, np.nan)
    header = ["value", "method", "k-hat", "ESS of weights"]
    for name in names:
        sym = ctx.plain_symbol(name)
        header += [f"{sym} mean", f"{sym} {band}"]
    cols = {}
    for name in names:
        da = shown[name]
        scale = float(np.nanmedian(da.sel(stat="sd").values)) if "sd" in da["stat"] else None
        mean = format_values(da.sel(stat="mean").values, scale=scale)
        if interval is not None:
            lo = format_values(da.sel(stat=interval[0]).values, scale=scale)
            hi = format_values(da.sel(stat=interval[1]).values, scale=scale)
            cols[name] = (mean, [f"{a} to {b}" for a, b in zip(lo, hi, strict=True)])
        else:
            cols[name] = (mean, [DASH] * n)
    rows = []
    for k in range(n):
        method = "failed" if status[k] == "failed" else _METHOD_WORDS.get(str(methods[k]),
                                                                         str(methods[k]))
        reweighted = str(methods[k]) == "reweight" and np.isfinite(khat[k])
        row = [settings[k], method, fmt_khat(khat[k]),
               fmt_count(ess_w[k]) if reweighted else DASH]
        for name in names:
            row += [cols[name][0][k], cols[name][1][k]]
        rows.append(row)
    table = H.table(header, rows, align=["l", "l"] + ["r"] * (len(header) - 2))
    return table + ('<p class="note">k-hat “–”: nothing was reweighted (the fit itself). '
                    "ESS of weights: effective number of draws after reweighting.</p>")
