"""Predictive-check figures through arviz-plots, returned as matplotlib figures.

Each function draws with ``backend="matplotlib"`` and labels the axes with the data's own
coordinate names and values (school names, widget ids), so the figure can go straight
into a report. Extra keyword arguments go to the arviz-plots function.
"""

from __future__ import annotations

import arviz_plots as azp
import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator

from pymc_hier.ppc import _predictive, _resolve_stats


def _figure(pc) -> Figure:
    fig = pc.get_viz("figure")
    return fig.item() if isinstance(fig, xr.DataArray) else fig


def _subset(idata: xr.DataTree, group: str, var_name: str | None):
    """Return (tree with only what arviz-plots needs, predictive group name, var_name)."""
    _, y, var_name = _predictive(idata, group, var_name)
    keep = [f"{group}_predictive", "observed_data"]
    if group == "posterior":
        keep += [g for g in ("posterior", "log_likelihood") if g in idata.children]
    tree = xr.DataTree.from_dict({g: idata[g].to_dataset()[[var_name]] if g != "posterior"
                                  else idata[g].to_dataset() for g in keep})
    return tree, f"{group}_predictive", var_name, y


def _value_label(y: xr.DataArray, var_name: str) -> str:
    units = y.attrs.get("units")
    return f"{var_name} [{units}]" if units else var_name


def plot_ppc_dist(idata: xr.DataTree, *, group: str = "posterior", var_name: str | None = None,
                  num_samples: int = 50, **kwargs) -> Figure:
    """Densities of predictive draws against the observations' density.

    Parameters
    ----------
    idata : xarray.DataTree
        With ``observed_data`` and ``{group}_predictive``.
    group : {"posterior", "prior"}, default "posterior"
        Which predictive distribution.
    var_name : str, optional
        The observed variable; needed only when there are several.
    num_samples : int, default 50
        Number of predictive draws shown.
    **kwargs
        Passed to :func:`arviz_plots.plot_ppc_dist`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    tree, pred, var_name, y = _subset(idata, group, var_name)
    pc = azp.plot_ppc_dist(tree, group=pred, num_samples=num_samples, backend="matplotlib",
                           **kwargs)
    fig = _figure(pc)
    for ax in fig.axes:
        ax.set_xlabel(_value_label(y, var_name))
    return fig


def plot_ppc_tstat(idata: xr.DataTree, *, stat: str = "mean", group: str = "posterior",
                   var_name: str | None = None, by: str | tuple[str, str] | None = None,
                   max_groups: int = 24, **kwargs) -> Figure:
    """Distribution of a test statistic over predictive draws, with its observed value.

    With ``by``, one panel per group (bayesplot's ``ppc_stat_grouped``): the statistic of
    the group's observations in each predictive draw, its observed value and its
    Bayesian p-value, each panel titled with the group's own name.

    Parameters
    ----------
    idata : xarray.DataTree
        With ``observed_data`` and ``{group}_predictive``.
    stat : str or callable, default "mean"
        A name from :data:`pymc_hier.ppc.STATISTICS` or a callable ``f(x, axis=-1)``,
        computed exactly as :func:`pymc_hier.ppc_table` does.
    group : {"posterior", "prior"}, default "posterior"
        Which predictive distribution.
    var_name : str, optional
        The observed variable; needed only when there are several.
    by : str or (str, str), optional
        Groups of observations, as :func:`pymc_hier.ppc_table` takes them (a coordinate
        such as ``"school"`` or ``"county"``, or ``("county", "g")``).
    max_groups : int, default 24
        With ``by``: most panels drawn; beyond, the groups whose p-values are most extreme
        (the title says so).
    **kwargs
        Passed to :func:`arviz_plots.plot_ppc_tstat` (without ``by``) or to
        :meth:`matplotlib.axes.Axes.hist` (with ``by``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if by is not None:
        return _grouped_tstat(idata, stat, group, var_name, by, max_groups, **kwargs)
    ((name, fn),) = _resolve_stats([stat]).items()
    tree, pred, var_name, y = _subset(idata, group, var_name)

    def t_stat(x):
        return fn(np.ravel(x), axis=-1)

    t_stat.__name__ = name
    pc = azp.plot_ppc_tstat(tree, group=pred, t_stat=t_stat, backend="matplotlib", **kwargs)
    fig = _figure(pc)
    for ax in fig.axes:
        ax.set_xlabel(f"T = {name}({_value_label(y, var_name)})")
    return fig


def plot_ppc_pit(idata: xr.DataTree, *, loo: bool = False, group: str = "posterior",
                 var_name: str | None = None, **kwargs) -> Figure:
    """PIT (or LOO-PIT) ECDF difference plot with its simultaneous envelope.

    Parameters
    ----------
    idata : xarray.DataTree
        With ``observed_data``, ``{group}_predictive`` and, for ``loo=True``,
        ``posterior`` and ``log_likelihood``.
    loo : bool, default False
        Use :func:`arviz_plots.plot_loo_pit` (leave-one-out PIT).
    group : {"posterior", "prior"}, default "posterior"
        Which predictive distribution (``loo`` needs ``"posterior"``).
    var_name : str, optional
        The observed variable; needed only when there are several.
    **kwargs
        Passed to :func:`arviz_plots.plot_ppc_pit` or :func:`arviz_plots.plot_loo_pit`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    tree, pred, var_name, _ = _subset(idata, group, var_name)
    if loo:
        if group != "posterior" or "log_likelihood" not in tree.children:
            raise ValueError("loo: LOO-PIT needs group='posterior' and a 'log_likelihood' "
                             "group (sample_predictive(..., log_likelihood=True))")
        pc = azp.plot_loo_pit(tree, var_names=[var_name], backend="matplotlib", **kwargs)
    else:
        pc = azp.plot_ppc_pit(tree, group=pred, backend="matplotlib", **kwargs)
    fig = _figure(pc)
    for ax in fig.axes:
        ax.set_xlabel(f"{'LOO-PIT' if loo else 'PIT'} of {var_name}")
        ax.set_ylabel("ECDF difference")
    return fig


def plot_ppc_intervals(idata: xr.DataTree, *, group: str = "posterior",
                       var_name: str | None = None, by: str | tuple[str, str] | None = None,
                       stat="mean", max_labels: int = 40, **kwargs) -> Figure:
    """Predictive intervals per observation, or per group, with the observed values.

    Without ``by`` the x axis is the observations' dimension, ticked with its coordinate
    values (school names, widget ids; at most ``max_labels`` of them, evenly spaced). With
    ``by`` (a group of many observations, as :func:`pymc_hier.ppc_table` takes it: a
    coordinate such as ``"county"``, or ``("county", "g")``) each group gets the interval
    of a test statistic of its observations over predictive draws, its predictive mean
    and the observed value of the statistic.

    Parameters
    ----------
    idata : xarray.DataTree
        With ``observed_data`` and ``{group}_predictive``.
    group : {"posterior", "prior"}, default "posterior"
        Which predictive distribution.
    var_name : str, optional
        The observed variable; needed only when there are several.
    by : str or (str, str), optional
        Group the observations (see :func:`pymc_hier.ppc_table`).
    stat : str or callable, default "mean"
        With ``by``: the statistic of each group's observations (a name from
        :data:`pymc_hier.ppc.STATISTICS` or ``f(x, axis=-1)``).
    max_labels : int, default 40
        Most tick labels drawn on the x axis.
    **kwargs
        Passed to :func:`arviz_plots.plot_ppc_interval` (without ``by``) or to
        :meth:`matplotlib.axes.Axes.errorbar` (with ``by``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if by is not None:
        return _group_intervals(idata, group, var_name, by, stat, max_labels, **kwargs)
    tree, pred, var_name, y = _subset(idata, group, var_name)
    if y.ndim != 1:
        raise ValueError(f"var_name: interval plots need one observation dim; {var_name!r} "
                         f"has dims {y.dims}")
    dim = y.dims[0]
    pc = azp.plot_ppc_interval(tree, group=pred, backend="matplotlib",
                               visuals={"xlabel": {"text": dim}, **kwargs.pop("visuals", {})},
                               **kwargs)
    fig = _figure(pc)
    labels = [str(v) for v in (y[dim].values if dim in y.coords else range(y.sizes[dim]))]
    for ax in fig.axes:
        _label_ticks(ax, labels, max_labels)
        ax.set_xlabel(dim)
        ax.set_ylabel(_value_label(y, var_name))
    return fig


def _label_ticks(ax, labels, max_labels: int) -> None:
    step = max(1, int(np.ceil(len(labels) / max_labels)))
    ticks = np.arange(0, len(labels), step)
    shown = [labels[i] for i in ticks]
    # upright labels while they fit side by side (about 10 characters per inch of axes)
    width = ax.get_position().width * ax.figure.get_figwidth()
    upright = step == 1 and sum(len(t) + 1 for t in shown) <= 10 * width
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels(shown, rotation=0 if upright else 90)


def _group_intervals(idata, group, var_name, by, stat, max_labels, **kwargs) -> Figure:
    """Per group: interval and mean of T(y_rep) over predictive draws, and T(y)."""
    import matplotlib.pyplot as plt

    from pymc_hier.ppc import ppc_table

    ((name, fn),) = _resolve_stats([stat]).items()
    tab = ppc_table(idata, stats={name: fn}, by=by, group=group, var_name=var_name)
    dim = tab.attrs["by"]
    row = tab.sel(statistic=name)
    labels = [str(v) for v in row[dim].values]
    x = np.arange(len(labels))
    lo, hi = (row["T_rep_interval"].sel(ci_bound=b).values for b in ("lower", "upper"))
    mean = row["T_rep_mean"].values
    fig, ax = plt.subplots(figsize=(max(6.0, 0.25 * len(labels)), 4.0))
    ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt="o", mfc="none", capsize=0,
                label=f"{group} predictive mean and {tab.attrs['ci_prob']:g} interval",
                **kwargs)
    ax.plot(x, row["T_obs"].values, "o", color="k", ms=4, label="observed")
    _label_ticks(ax, labels, max_labels)
    ax.set_xlabel(dim)
    _, y, var_name = _predictive(idata, group, var_name)
    ax.set_ylabel(f"{name}({_value_label(y, var_name)}) per {dim}")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False,
              fontsize="small")
    fig.tight_layout()
    return fig


def _grouped_tstat(idata, stat, group, var_name, by, max_groups, **kwargs) -> Figure:
    """One panel per group: T(y_rep) over predictive draws, T(y) and the p-value."""
    import matplotlib.pyplot as plt

    from pymc_hier.ppc import tstat_draws

    if isinstance(max_groups, bool) or not isinstance(max_groups, int) or max_groups < 1:
        raise ValueError(f"max_groups: expected a positive integer, got {max_groups!r}")
    t = tstat_draws(idata, stat=stat, by=by, group=group, var_name=var_name)
    dim, name = t.attrs["by"], t.attrs["statistic"]
    t_rep = t["T_rep"].stack(sample=("chain", "draw")).transpose(dim, "sample").values
    t_obs = t["T_obs"].values
    p = (t_rep >= t_obs[:, None]).mean(axis=1)
    labels = [str(v) for v in t[dim].values]
    shown = np.arange(len(labels))
    if len(labels) > max_groups:  # the most surprising groups, in their own order
        shown = np.sort(np.argsort(-np.abs(p - 0.5), kind="stable")[:max_groups])
    ncols = min(4, shown.size)
    nrows = int(np.ceil(shown.size / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.4 * ncols, 1.9 * nrows + 0.5),
                             squeeze=False, layout="constrained")
    _, y, var_name = _predictive(idata, group, var_name)
    for ax, k in zip(axes.flat, shown, strict=False):
        ax.hist(t_rep[k], bins=30, color="C0", alpha=0.6, **kwargs)
        ax.axvline(t_obs[k], color="k", lw=1.5)
        ax.set_title(f"{labels[k]}  (p = {p[k]:.2f})", fontsize="small")
        ax.set_yticks([])
    for ax in axes.flat[shown.size:]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(f"{name}({_value_label(y, var_name)})", fontsize="small")
    cut = (f"; the {shown.size} of {len(labels)} {dim} groups with the most extreme p"
           if shown.size < len(labels) else "")
    fig.suptitle(f"{name} per {dim}: {group} predictive draws (bars) and the data "
                 f"(line){cut}", fontsize="small")
    return fig
