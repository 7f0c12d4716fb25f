"""The predictive-checks section of a report.

Per-unit predictive intervals against the data, and test statistics with their Bayesian
p-values (the interval named, the p-value explained).
"""

from __future__ import annotations

import numpy as np

from pymc_hier.reports import html as H
from pymc_hier.reports.context import ReportContext
from pymc_hier.reports.numbers import fmt_fixed, format_values

__all__ = ["checks_section"]

_MAX_INTERVALS = 2000  # observations drawn one interval each
_READ_P = ("How to read p: it is the share of data sets replicated from the fitted model "
           "whose statistic is at least the observed one. Values near 0 or 1 (below 0.05 or "
           "above 0.95, say) flag a feature of the data the model rarely reproduces; values "
           "in between mean the statistic gives no reason for concern, not that the model "
           "is right.")


def _observed_names(ctx: ReportContext) -> list[str]:
    if "observed_data" not in ctx.idata.children:
        return []
    pred = ctx.idata["posterior_predictive"]
    return [str(n) for n in ctx.idata["observed_data"].data_vars if n in pred.data_vars]


def checks_section(ctx: ReportContext) -> str:
    """Empty when the fit has no ``posterior_predictive`` group."""
    if "posterior_predictive" not in ctx.idata.children:
        return ""
    from pymc_hier.plots.ppc import plot_ppc_intervals
    from pymc_hier.ppc import ppc_table

    parts = []
    for name in _observed_names(ctx):
        y = ctx.idata["observed_data"][name]
        parts.append(f"<h3>{ctx.title(name)}</h3>")
        if y.ndim == 1 and y.size > _MAX_INTERVALS:
            parts.append(f'<p class="note">Predictive intervals are not drawn for '
                         f"{y.size} observations (more than {_MAX_INTERVALS}).</p>")
        elif y.ndim == 1:
            fig = plot_ppc_intervals(ctx.idata, var_name=name, ci_kind="eti",
                                     ci_probs=(ctx.ci_prob, ctx.ci_prob), max_labels=25,
                                     figure_kwargs={"figsize": (7.5, 3.0)})
            unit = ctx.units.text(name)
            for ax in fig.axes:
                desc = ctx.description(name)
                ax.set_ylabel((f"{desc} " if desc else "")
                              + ctx.plain_symbol(name, indices=True)
                              + (f" [{unit}]" if unit else ""))
            parts.append(H.figure(H.svg_of_figure(fig),
                                  f"Each {y.dims[0]}'s observation (black) against the "
                                  f"{ctx.interval} and mean of its posterior predictive "
                                  "distribution.", label=f"predictive intervals of {name}"))
        tab = ppc_table(ctx.idata, var_name=name, ci_prob=ctx.ci_prob)
        parts.append(_stat_table(ctx, tab))
    if not parts:
        return ""
    parts.append(f'<p class="note">{H.esc(_READ_P)}</p>')
    return "\n".join(parts)


def _stat_table(ctx: ReportContext, tab) -> str:
    stats = [str(s) for s in tab["statistic"].values]
    interval = tab["T_rep_interval"].transpose("statistic", "ci_bound").values
    rows = []
    for k, stat in enumerate(stats):
        obs = float(tab["T_obs"].values[k])
        mean = float(tab["T_rep_mean"].values[k])
        lo, hi = (float(v) for v in interval[k])
        t_obs, t_mean, t_lo, t_hi = format_values([obs, mean, lo, hi], sig=3)
        rows.append([stat, t_obs, t_mean, f"{t_lo} to {t_hi}",
                     fmt_fixed(float(tab["p_value"].values[k]), 2)])
    header = ["statistic T", "T(y) observed", "mean of T(y_rep)",
              f"{ctx.interval} of T(y_rep)", "p = P(T(y_rep) ≥ T(y))"]
    if np.ndim(tab["T_obs"].values) != 1:  # grouped tables: not shown here
        return ""
    return H.table(header, rows)
