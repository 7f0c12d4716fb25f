"""The diagnostics section of a report.

Thresholds checked, rank plots, E-BFMI, and where NUTS diverged in a hierarchy, the funnel
plot (:func:`pymc_hier.plot_funnel`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from pymc_hier.diagnostics import THRESHOLDS, diagnostics_summary, sampling_problems
from pymc_hier.plots.diagnostics import plot_funnel, plot_rank
from pymc_hier.reports import html as H
from pymc_hier.reports.context import ReportContext
from pymc_hier.reports.numbers import DASH, fmt_count, fmt_fixed, fmt_rhat
from pymc_hier.reports.structure import hierarchies

__all__ = ["diagnostics_section", "sampling_status", "sampling_status_line"]


def _diagnostics(ctx: ReportContext) -> xr.DataTree:
    """Return the fit's diagnostics without the parametrisation's internal variables."""
    idata = ctx.idata
    diag = idata["diagnostics"] if "diagnostics" in idata.children \
        else diagnostics_summary(idata)
    internal = set() if ctx.spec is None else set(ctx.family.internal_names(ctx.spec))
    if not internal:
        return diag
    tree = diag.copy()
    for child in ("rhat", "ess_bulk", "ess_tail"):
        if child in tree.children:
            ds = tree[child].to_dataset(inherit=False)
            tree[child] = xr.DataTree(ds.drop_vars([v for v in internal if v in ds]))
    return tree


def _problems(ctx: ReportContext) -> list[str]:
    parametrization = None if ctx.spec is None else ctx.spec.options.get("parametrization")
    return sampling_problems(_diagnostics(ctx), parametrization=parametrization)


def _how(ctx: ReportContext) -> str:
    attrs = ctx.idata.attrs
    post = ctx.idata["posterior"]
    chains, draws = post.sizes.get("chain", 0), post.sizes.get("draw", 0)
    sampler = attrs.get("sampler", "an unrecorded sampler")
    seed = attrs.get("random_seed")
    how = f"{chains} chains × {draws} draws from {sampler}"
    if sampler == "exact":
        how = f"{chains} × {draws} independent draws from the exact posterior"
    return how + (f" (seed {seed})" if seed is not None else "")


def sampling_status(ctx: ReportContext) -> str:
    """One line for the headline: how the draws were made and whether the checks passed."""
    problems = _problems(ctx)
    if problems:
        return (f'<p class="flag-bad">{H.esc(_how(ctx))}: {len(problems)} sampling '
                f'problem{"s" if len(problems) > 1 else ""}; see '
                '<a href="#diagnostics">Diagnostics</a> before trusting these numbers.</p>')
    return (f'<p class="flag-ok">{H.esc(_how(ctx))}: every convergence check passed.</p>')


def sampling_status_line(ctx: ReportContext) -> str:
    """:func:`sampling_status` as plain text, the problems named (the CLI prints it)."""
    problems = _problems(ctx)
    if problems:
        return (f"{_how(ctx)}: {len(problems)} sampling problem{'s' if len(problems) > 1 else ''}"
                f" ({'; '.join(problems)}); see the report's Diagnostics before trusting "
                "these numbers.")
    return f"{_how(ctx)}: every convergence check passed."


def diagnostics_section(ctx: ReportContext) -> str:
    """Write the checks against their thresholds, rank plots, E-BFMI and the funnel plot."""
    diag = _diagnostics(ctx)
    root = diag.to_dataset()
    attrs = root.attrs
    problems = _problems(ctx)
    parts = []
    if problems:
        items = "".join(f"<li>{H.esc(p)}</li>" for p in problems)
        parts.append(f'<p class="flag-bad">Problems found ({len(problems)}):</p>'
                     f'<ul class="flags">{items}</ul>')
    else:
        checks = [f"R-hat ≤ {THRESHOLDS['rhat']:g}",
                  f"bulk and tail ESS ≥ {THRESHOLDS['ess_bulk']:g}"]
        if "n_divergent" in attrs:
            checks.insert(0, "no divergent transitions")
        if "bfmi" in root:
            checks.append(f"E-BFMI ≥ {THRESHOLDS['bfmi']:g}")
        listed = ", ".join(checks[:-1]) + " and " + checks[-1]
        parts.append(f'<p class="flag-ok">Every check passed: {listed}.</p>')
    n_div = attrs.get("n_divergent")
    rows = [
        ("draws", _how(ctx), ""),
        ("divergent transitions", DASH if n_div is None else str(int(n_div)),
         f"≤ {THRESHOLDS['divergences']}"),
        ("largest R-hat", fmt_rhat(attrs.get("max_rhat", np.nan)), f"≤ {THRESHOLDS['rhat']:g}"),
        ("smallest bulk ESS", fmt_count(attrs.get("min_ess_bulk", np.nan)),
         f"≥ {THRESHOLDS['ess_bulk']:g}"),
        ("smallest tail ESS", fmt_count(attrs.get("min_ess_tail", np.nan)),
         f"≥ {THRESHOLDS['ess_tail']:g}"),
    ]
    if "bfmi" in root:
        bfmi = ", ".join(fmt_fixed(v, 2) for v in root["bfmi"].values)
        rows.append(("E-BFMI per chain", bfmi, f"≥ {THRESHOLDS['bfmi']:g}"))
    parts.append(H.table(["check", "value", "threshold"], rows, align=["l", "l", "l"]))
    skipped = _not_diagnosed(ctx)
    if skipped:
        parts.append('<p class="note">Not diagnosed: '
                     + ", ".join(ctx.symbol(n) for n in skipped)
                     + ", drawn exactly given the sampled parameters after sampling.</p>")
    names = [n for n in ctx.population if n in ctx.posterior]
    if names and ctx.posterior.sizes.get("chain", 1) > 1:
        fig = plot_rank(xr.DataTree.from_dict({"posterior": ctx.posterior[names]}), names,
                        figsize=(min(3.6 * len(names), 10.0), 2.6))
        titles = {n: ctx.plain_symbol(n) + (f" ({ctx.description(n)})"
                                           if ctx.description(n) else "") for n in names}
        for ax in fig.axes:
            if ax.get_title() in titles:
                ax.set_title(titles[ax.get_title()])
        parts.append(H.figure(H.svg_of_figure(fig),
                              "Rank plots: for each chain, the ECDF of its draws' fractional "
                              "ranks (over all chains) minus the uniform CDF; chains exploring "
                              "the same distribution stay near zero. p: the multi-chain "
                              "uniformity test of arviz-plots (below 0.01: the chains "
                              "disagree; marked points deviate most).", narrow=True,
                              label="rank plots"))
    parts.append(_funnel(ctx, n_div))
    return "\n".join(p for p in parts if p)


def _not_diagnosed(ctx: ReportContext) -> list[str]:
    from pymc_hier.diagnostics import SKIP_ATTR

    post = ctx.idata["posterior"]
    return [n for n in ctx.per_unit + ctx.population
            if n in post.data_vars and post[n].attrs.get(SKIP_ATTR) == "skip"]


def _funnel(ctx: ReportContext, n_div) -> str:
    if not n_div:
        return ""
    found = [h for h in hierarchies(ctx.gen)
             if h.effect in ctx.posterior and h.scale in ctx.posterior]
    if not found or "sample_stats" not in ctx.idata.children:
        return ""
    h = found[0]
    tree = xr.DataTree.from_dict({"posterior": ctx.posterior[[h.effect, h.scale]],
                                  "sample_stats": ctx.idata["sample_stats"].to_dataset()})
    fig = plot_funnel(tree, effect=h.effect, scale=h.scale)
    scale = ctx.plain_symbol(h.scale)
    fig.axes[0].set_ylabel(f"log {scale}")
    return ("<h3>Where the sampler diverged</h3>"
            + H.figure(H.svg_of_figure(fig),
                       f"Draws of the least informed group's effect against log {scale}; "
                       "divergent transitions in red. Divergences gathered in the narrow neck "
                       "(small scale) are the funnel of a centred hierarchy: reparametrize "
                       "(non-centred) rather than trust these draws.", narrow=True,
                       label="funnel plot"))
