"""Per-unit parameters of a hierarchical model: :func:`plot_forest`, :func:`plot_shrinkage`.

Both draw with matplotlib (one call per artist kind, fast for thousands of units), label
their axes with the variables' ``long_name`` and ``units`` attrs, and state their interval
(an equal-tailed interval of probability ``ci_prob``) in the legend.

- :func:`plot_forest`: each unit's posterior mean and interval, sorted, with the true
  values when they are known (simulated data). Up to ``max_rows`` units are drawn as
  labelled rows; more as a caterpillar plot (units along the x axis, by rank).
- :func:`plot_shrinkage`: each group's own estimate ``y_j ± sigma_j`` against its
  posterior effect and the pooled mean, the picture of partial pooling.
  ``pooling=`` adds other estimates per group (no or complete pooling, another model); a
  :func:`pymc_hier.compare_pooling` result draws every level side by side
  (:mod:`pymc_hier.plots.pooling`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from pymc_hier.plots.common import aligned as _aligned
from pymc_hier.plots.common import (
    axis_label,
    interval_summary,
    legend_above,
    plural,
    posterior_of,
    summarise_draws,
)
from pymc_hier.plots.common import check_prob as _check_prob
from pymc_hier.plots.common import interval_label as _interval_label
from pymc_hier.plots.common import unit_labels as _labels
from pymc_hier.plots.common import unit_var as _unit_var
from pymc_hier.plots.pooling import is_pooling_comparison, level_estimates, plot_pooling

__all__ = ["legend_above", "plot_forest", "plot_shrinkage", "plural", "summarise_draws"]

_SAMPLE_DIMS = ("chain", "draw")
_POSTERIOR = "C0"
_TRUTH = "C3"
_OBSERVED = "0.35"


def plot_forest(idata, var_name: str, *, truth=None, sort: bool = True, ci_prob: float = 0.9,
                max_rows: int = 40, max_points: int = 2000, ax=None, figsize=None) -> Figure:
    """Posterior mean and interval of every unit's parameter, sorted, with the truth.

    Parameters
    ----------
    idata : xarray.DataTree or xarray.Dataset
        A fit (its ``posterior`` group is used) or a posterior Dataset.
    var_name : str
        A variable with dims ``(chain, draw, unit)``.
    truth : array_like or xarray.DataArray, optional
        The true value of each unit (simulated data), drawn as red crosses; a DataArray is
        aligned by the unit coordinate.
    sort : bool, default True
        Order the units by posterior mean (in data order otherwise).
    ci_prob : float, default 0.9
        Probability of the equal-tailed interval drawn.
    max_rows : int, default 40
        Up to this many units, one labelled row each; more are drawn as a caterpillar plot
        (units along the x axis by rank, unlabelled).
    max_points : int, default 2000
        Most units a caterpillar plot draws: beyond, evenly spaced ranks (the x label says
        so).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure by default.
    figsize : tuple, optional
        Size of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        For an ``idata`` that is neither a DataTree nor a Dataset.
    ValueError
        For a variable that is missing or not one value per unit, or ``truth`` of the wrong
        length.
    """
    import matplotlib.pyplot as plt

    post = posterior_of(idata)
    da, dim = _unit_var(post, var_name)
    ci_prob = _check_prob(ci_prob)
    labels = _labels(da, dim)
    mean, lo, hi = interval_summary(da, ci_prob)
    true = None if truth is None else _aligned(truth, dim, labels, "truth")
    order = np.argsort(mean, kind="stable") if sort else np.arange(len(mean))
    n = len(order)
    rows = n <= max_rows
    if ax is None:
        size = figsize or ((6.4, 0.9 + 0.24 * n) if rows else (7.5, 3.4))
        fig, ax = plt.subplots(figsize=size, layout="constrained")
    else:
        fig = ax.figure
    pos = np.arange(n)
    label = axis_label(da, var_name)
    band = _interval_label(ci_prob)
    if rows:
        ax.hlines(pos, lo[order], hi[order], color=_POSTERIOR, lw=2, label=band)
        ax.plot(mean[order], pos, "o", color=_POSTERIOR, ms=4, label="posterior mean")
        if true is not None:
            ax.plot(true[order], pos, "x", color=_TRUTH, ms=6, mew=1.5, label="true value")
        ax.set_yticks(pos, [str(v) for v in labels[order]])
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlabel(label)
        ax.set_ylabel(dim)
        ax.grid(axis="x", color="0.9")
    else:
        shown = np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(int))
        sel = order[shown]
        ax.vlines(shown + 1, lo[sel], hi[sel], color=_POSTERIOR, lw=1, alpha=0.7, label=band)
        ax.plot(shown + 1, mean[sel], "o", color=_POSTERIOR, ms=2, label="posterior mean")
        if true is not None:
            ax.plot(shown + 1, true[sel], "x", color=_TRUTH, ms=3, mew=0.8, label="true value")
        ax.set_xlim(0, n + 1)
        how = "by rank of its posterior mean" if sort else "in data order"
        thinned = f", {len(shown)} evenly spaced ranks shown" if len(shown) < n else ""
        ax.set_xlabel(f"{dim}, {how} ({n} {plural(dim)}{thinned})")
        ax.set_ylabel(label)
        ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)
    legend_above(ax)
    return fig


def _data_values(idata, name_or_values, groups: Sequence[str], dim: str, coords, what: str):
    if isinstance(name_or_values, str):
        if not isinstance(idata, xr.DataTree):
            raise TypeError(f"{what}: a name needs idata to be a DataTree with "
                            f"{' or '.join(groups)}; pass the values instead")
        for group in groups:
            if group in idata.children and name_or_values in idata[group].data_vars:
                return _aligned(idata[group][name_or_values], dim, coords, what)
        raise ValueError(f"{what}: {name_or_values!r} is in none of the groups "
                         f"{', '.join(groups)}")
    return _aligned(name_or_values, dim, coords, what)


def plot_shrinkage(idata, *, effect: str = "theta", observed="y", sigma="sigma",
                   mean: str | None = "mu", pooling: xr.Dataset | None = None,
                   ci_prob: float = 0.9, sort: bool = True, max_rows: int = 40,
                   max_points: int = 2000, ax=None, figsize=None) -> Figure:
    """Each group's own estimate against its posterior effect: partial pooling at a glance.

    Every group is a row (sorted by its own estimate): an open marker with a grey bar for
    the data, ``y_j ± sigma_j``; a filled one with the posterior interval of its effect;
    an arrow from the first to the second; a vertical line and band for the posterior of
    the pooled mean. With more than ``max_rows`` groups it becomes a scatter of posterior
    mean against the group's own estimate (the diagonal: no pooling).

    Given a :func:`pymc_hier.compare_pooling` result instead of a fit, every group is a row
    with its own estimate ``y_j ± sigma_j`` and the posterior mean and interval of its
    effect with no, partial and complete pooling (:func:`pymc_hier.plots.pooling.plot_pooling`).

    Parameters
    ----------
    idata : xarray.DataTree or xarray.Dataset
        A fit with ``posterior`` (the effects and the mean) and the data groups, or a
        :func:`pymc_hier.compare_pooling` result.
    effect : str, default "theta"
        The posterior variable of the group effects, dims ``(chain, draw, group)``.
    observed : str or array_like, default "y"
        Each group's own estimate: a variable of ``observed_data`` (or ``constant_data``),
        or the values.
    sigma : str or array_like, default "sigma"
        Their standard errors: a variable of ``constant_data`` (or ``observed_data``), or
        the values.
    mean : str or None, default "mu"
        The posterior variable of the population mean; None draws no pooled mean.
    pooling : xarray.Dataset, optional
        Other estimates to compare, one data variable each (its ``long_name`` attr or name
        labels it): with the group dim, one marker per group; scalar, a vertical line
        (complete pooling). A :func:`pymc_hier.compare_pooling` result adds the means of
        its levels other than partial pooling.
    ci_prob : float, default 0.9
        Probability of the equal-tailed intervals.
    sort : bool, default True
        Order the groups by their own estimate.
    max_rows : int, default 40
        Most groups drawn as rows.
    max_points : int, default 2000
        Most groups a scatter draws: beyond, groups at evenly spaced ranks of their own
        estimate (the x label says so).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    figsize : tuple, optional
        Size of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        For arguments of the wrong type.
    ValueError
        For missing variables or values that are not one per group.
    """
    import matplotlib.pyplot as plt

    if is_pooling_comparison(idata):
        return plot_pooling(idata, observed=observed if isinstance(observed, str) else None,
                            sigma=sigma if isinstance(sigma, str) else None, sort=sort,
                            max_rows=max_rows, ax=ax, figsize=figsize)
    if is_pooling_comparison(pooling):
        pooling = level_estimates(pooling)
    post = posterior_of(idata)
    da, dim = _unit_var(post, effect, "effect")
    ci_prob = _check_prob(ci_prob)
    labels = _labels(da, dim)
    y = _data_values(idata, observed, ("observed_data", "constant_data"), dim, labels,
                     "observed")
    se = _data_values(idata, sigma, ("constant_data", "observed_data"), dim, labels, "sigma")
    if pooling is not None and not isinstance(pooling, xr.Dataset):
        raise TypeError(f"pooling: expected an xarray.Dataset, got {type(pooling).__name__}")
    post_mean, lo, hi = interval_summary(da, ci_prob)
    order = np.argsort(y, kind="stable") if sort else np.arange(len(y))
    n = len(order)
    rows = n <= max_rows
    if ax is None:
        size = figsize or ((6.4, 1.2 + 0.36 * n) if rows else (6.4, 5.0))
        fig, ax = plt.subplots(figsize=size, layout="constrained")
    else:
        fig = ax.figure
    band = _interval_label(ci_prob)
    value_label = axis_label(da, effect)
    if mean is not None:
        m_mean, m_lo, m_hi = interval_summary(_scalar(post, mean), ci_prob)
        span = ax.axvspan if rows else ax.axhspan
        line = ax.axvline if rows else ax.axhline
        span(float(m_lo), float(m_hi), color="0.85", lw=0, zorder=0,
             label=f"pooled mean, {band}")
        line(float(m_mean), color="0.4", lw=1, ls="--", zorder=1, label="pooled mean")
    if rows:
        pos = np.arange(n)
        ax.hlines(pos + 0.15, (y - se)[order], (y + se)[order], color=_OBSERVED, lw=1)
        ax.plot(y[order], pos + 0.15, "o", mfc="white", mec=_OBSERVED, ms=6,
                label="own estimate ± 1 s.e.")
        ax.hlines(pos - 0.15, lo[order], hi[order], color=_POSTERIOR, lw=2.5)
        ax.plot(post_mean[order], pos - 0.15, "o", color=_POSTERIOR, ms=6,
                label=f"posterior mean, {band}")
        for k, j in enumerate(order):
            ax.annotate("", xy=(post_mean[j], k - 0.1), xytext=(y[j], k + 0.1),
                        arrowprops={"arrowstyle": "->", "color": "0.55", "lw": 0.8})
        _pooling_rows(ax, pooling, dim, labels, order, pos)
        ax.set_yticks(pos, [str(v) for v in labels[order]])
        ax.set_ylim(n - 0.5, -0.6)
        ax.set_xlabel(value_label)
        ax.set_ylabel(dim)
    else:
        by_y = np.argsort(y, kind="stable")
        sel = by_y[np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(int))]
        ax.errorbar(y[sel], post_mean[sel], yerr=[(post_mean - lo)[sel], (hi - post_mean)[sel]],
                    fmt="o", ms=3, color=_POSTERIOR, elinewidth=0.6,
                    label=f"posterior mean, {band}")
        limits = [np.nanmin(np.r_[y, lo]), np.nanmax(np.r_[y, hi])]
        ax.plot(limits, limits, color=_OBSERVED, lw=0.8, label="no pooling (y = x)")
        thinned = (f" ({len(sel)} of {n} {plural(dim)}, evenly spaced by it)" if len(sel) < n
                   else "")
        ax.set_xlabel(f"own estimate of each {dim}{thinned}")
        ax.set_ylabel(value_label)
    ax.grid(color="0.92")
    ax.set_axisbelow(True)
    legend_above(ax, ncols=2)
    return fig


def _scalar(post: xr.Dataset, name: str) -> xr.DataArray:
    if name not in post.data_vars:
        raise ValueError(f"mean: {name!r} is not in the posterior")
    da = post[name]
    if set(da.dims) != set(_SAMPLE_DIMS):
        raise ValueError(f"mean: {name!r} must be a scalar parameter, has dims {da.dims}")
    return da


def _pooling_rows(ax, pooling: xr.Dataset | None, dim: str, labels, order, pos) -> None:
    if pooling is None:
        return
    markers = "sD^v<>"
    for k, (name, da) in enumerate(pooling.data_vars.items()):
        label = da.attrs.get("long_name") or str(name)
        color = f"C{k + 4}"
        if da.ndim == 0:
            ax.axvline(float(da), color=color, lw=1, ls=":", label=label)
            continue
        values = _aligned(da, dim, labels, f"pooling[{name!r}]")
        ax.plot(values[order], pos, markers[k % len(markers)], color=color, ms=5,
                mfc="none", label=label)

