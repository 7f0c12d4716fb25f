"""The per-unit section of a report.

A sorted forest plot of each per-unit parameter (with the truth when known), the shrinkage
plot of a normal hierarchy, and every unit's numbers, folded.
"""

from __future__ import annotations

import numpy as np

from pymc_hier.plots.hierarchy import plot_forest, plot_shrinkage, plural
from pymc_hier.reports import html as H
from pymc_hier.reports.context import ReportContext
from pymc_hier.reports.estimates import convergence
from pymc_hier.reports.numbers import Markup, fmt_count, fmt_rhat, format_values
from pymc_hier.reports.structure import hierarchies

__all__ = ["per_unit_section"]

_SHRINKAGE_ROWS = 40  # groups drawn as rows; more as a scatter


def _coverage(ctx: ReportContext, name: str, lo, hi, dim: str) -> str:
    true = ctx.truth.get(name)
    if true is None:
        return ""
    true = np.ravel(true)
    inside = int(np.sum((true >= lo) & (true <= hi)))
    n = true.size
    expect = ctx.ci_prob * n
    sd = np.sqrt(n * ctx.ci_prob * (1 - ctx.ci_prob))
    return (f"The true value lies inside its {ctx.interval} for {inside} of {n} {plural(dim)} "
            f"(about {expect:.0f} ± {2 * sd:.0f} expected if the intervals are calibrated).")


def _table(ctx: ReportContext, name: str, dim: str, s: dict) -> str:
    da = ctx.posterior[name]
    labels = [str(v) for v in (da[dim].values if dim in da.coords else range(da.sizes[dim]))]
    scale = float(np.nanmedian(s["sd"]))
    true = ctx.truth.get(name)
    cols = {k: format_values(s[k], scale=scale) for k in ("mean", "sd", "lo", "hi")}
    tv = format_values(np.ravel(true), scale=scale) if true is not None else None
    rhat, ess = convergence(ctx, name)
    rhat = np.broadcast_to(rhat, s["mean"].shape)
    ess = np.broadcast_to(ess, s["mean"].shape)
    header = [dim, "mean", "sd", ctx.interval] + (["true value"] if tv else []) \
        + ["R-hat", "ESS"]
    rows = []
    for k, lab in enumerate(labels):
        row = [lab, cols["mean"][k], cols["sd"][k], f"{cols['lo'][k]} to {cols['hi'][k]}"]
        if tv:
            row.append(tv[k])
        rows.append(row + [fmt_rhat(rhat[k]), fmt_count(ess[k])])
    unit = ctx.units.text(name)
    caption = f"{name} in {unit}" if unit else None
    note = ""
    if np.all(np.isnan(rhat)):
        note = ('<p class="note">R-hat and ESS: not computed for these draws, which are '
                "drawn exactly given the sampled parameters (whose diagnostics are checked)."
                "</p>")
    return H.folded_table(f"Every {dim}", header, rows, note=note, caption=caption)


def _heading(ctx: ReportContext, name: str) -> str:
    unit = ctx.units.text(name)
    return f"<h3>{ctx.title(name)}{' (' + H.esc(unit) + ')' if unit else ''}</h3>"


def per_unit_section(ctx: ReportContext) -> str:
    """Figures and folded tables of every per-unit parameter; empty when there are none."""
    if not ctx.per_unit:
        return ""
    parts = []
    shrink = {h.effect: h for h in hierarchies(ctx.gen) if h.observed is not None}
    for name in ctx.per_unit:
        dim = ctx.group_dim(name)
        s = ctx.summary(name)
        parts.append(_heading(ctx, name))
        fig = plot_forest(ctx.posterior, name, truth=ctx.truth.get(name), ci_prob=ctx.ci_prob)
        what = ctx.what(name)
        caption = (f"Posterior mean and {ctx.interval} of each {dim}'s {what}, sorted by "
                   "posterior mean" + ("; crosses: the true values." if name in ctx.truth
                                       else "."))
        parts.append(H.figure(H.svg_of_figure(fig), caption, narrow=True,
                              label=f"forest plot of {name}"))
        cover = _coverage(ctx, name, s["lo"], s["hi"], dim)
        if cover:
            parts.append(f"<p>{H.esc(cover)}</p>")
        if name in shrink:
            parts.append(_shrinkage(ctx, shrink[name], dim))
        parts.append(_table(ctx, name, dim, s))
    return "\n".join(parts)


def _shrinkage(ctx: ReportContext, h, dim: str) -> str:
    groups = [g for g in ("observed_data", "constant_data") if g in ctx.idata.children]
    values = {}
    for role in (h.observed, h.sigma):
        for g in groups:
            if role in ctx.idata[g].data_vars:
                values[role] = ctx.units.convert(role, ctx.idata[g][role])
                break
    if len(values) < 2 or h.mean not in ctx.posterior:
        return ""
    sym = {k: ctx.symbol(k) for k in (h.effect, h.observed, h.sigma, h.mean)}
    rows = ctx.posterior.sizes[dim] <= _SHRINKAGE_ROWS
    text = Markup(
        f"<p>Partial pooling: each {H.esc(dim)}'s own estimate {sym[h.observed]} ± "
        f"{sym[h.sigma]}{' (open circles)' if rows else ''} is pulled towards the pooled "
        f"mean {sym[h.mean]} (dashed line) in its posterior {sym[h.effect]}"
        f"{' (filled)' if rows else ''}, the more so the larger its standard error.</p>")
    caption = (f"Own estimates ± 1 standard error against posterior means and "
               f"{ctx.interval}s; the band is the pooled mean's {ctx.interval}." if rows else
               f"Posterior mean and {ctx.interval} of each {dim}'s effect against its own "
               "estimate; on the diagonal nothing would be pooled.")
    fig = plot_shrinkage(ctx.posterior, effect=h.effect, observed=values[h.observed],
                         sigma=values[h.sigma], mean=h.mean, ci_prob=ctx.ci_prob,
                         max_rows=_SHRINKAGE_ROWS)
    return text + H.figure(H.svg_of_figure(fig), caption, narrow=True,
                           label="shrinkage plot")
