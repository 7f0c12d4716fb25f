"""Levels of pooling side by side, per group: :func:`plot_pooling`.

What :func:`pymc_hier.plot_shrinkage` draws for a :func:`pymc_hier.compare_pooling`
result.

Each group is a row: its own estimate ``y_j ± sigma_j`` (when the data have one), then the
posterior mean and interval of its effect without pooling, with partial pooling and with
complete pooling, one marker each. Partial pooling lands between the other two: how far
towards complete pooling is the group's shrinkage.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from pymc_hier.plots.common import interval_label, legend_above, plural

__all__ = ["is_pooling_comparison", "level_estimates", "plot_pooling"]

_LEVELS = {"none": ("no pooling", "s", "C1"), "partial": ("partial pooling", "o", "C0"),
           "complete": ("complete pooling", "D", "C2")}
_OBSERVED = "0.35"


def is_pooling_comparison(ds) -> bool:
    """Whether ``ds`` is a :func:`pymc_hier.compare_pooling` result."""
    return isinstance(ds, xr.Dataset) and "pooling" in ds.dims and "stat" in ds.dims \
        and ds.attrs.get("effect") in ds.data_vars


def level_estimates(ds: xr.Dataset, *, skip=("partial",)) -> xr.Dataset:
    """Posterior means of the effect at each level but ``skip``, one variable each.

    The shape :func:`pymc_hier.plot_shrinkage` takes as ``pooling=``: a level whose effect
    is the same in every group (complete pooling) becomes a scalar (a vertical line).
    """
    effect = ds.attrs["effect"]
    out = {}
    for level in ds["pooling"].values:
        if level in skip:
            continue
        mean = ds[effect].sel(pooling=level, stat="mean")
        if np.allclose(mean.values, mean.values[0]):
            mean = mean.isel({mean.dims[0]: 0}, drop=True)
        label = _LEVELS.get(str(level), (str(level),))[0]
        out[f"{level}_pooling"] = mean.drop_vars(["pooling", "stat"],
                                                 errors="ignore").assign_attrs(long_name=label)
    return xr.Dataset(out)


def plot_pooling(ds: xr.Dataset, *, observed: str | None = "y", sigma: str | None = "sigma",
                 sort: bool = True, max_rows: int = 40, ax=None, figsize=None) -> Figure:
    """Each group's estimate at every level of pooling (see the module docstring).

    Parameters
    ----------
    ds : xarray.Dataset
        A :func:`pymc_hier.compare_pooling` result.
    observed, sigma : str or None
        Its variables holding each group's own estimate and standard error; None (or
        absent) draws none.
    sort : bool, default True
        Order the groups by their own estimate (else by the no-pooling or partial-pooling
        mean).
    max_rows : int, default 40
        Most groups drawn as rows; more are drawn as a scatter of partial- against
        no-pooling means.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    figsize : tuple, optional
        Size of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    effect, dim = ds.attrs["effect"], ds.attrs["group_dim"]
    labels = np.asarray(ds[dim].values)
    n = labels.size
    levels = [str(v) for v in ds["pooling"].values]
    has_own = all(v is not None and v in ds.data_vars for v in (observed, sigma))
    key = (ds[observed].values if has_own else
           ds[effect].sel(pooling="none" if "none" in levels else levels[-1],
                          stat="mean").values)
    order = np.argsort(key, kind="stable") if sort else np.arange(n)
    rows = n <= max_rows
    if ax is None:
        size = figsize or ((6.4, 1.2 + 0.42 * n) if rows else (6.4, 5.0))
        fig, ax = plt.subplots(figsize=size, layout="constrained")
    else:
        fig = ax.figure
    band = interval_label(float(ds.attrs.get("ci_prob", 0.9)))
    label = ds[effect].attrs.get("long_name") or effect
    if not rows:
        _scatter(ax, ds, effect, levels, key, has_own, dim)
        legend_above(ax, ncols=2)
        return fig
    pos = np.arange(n)
    shown = (["own"] if has_own else []) + [lv for lv in ("none", "partial", "complete")
                                            if lv in levels]
    offsets = np.linspace(0.3, -0.3, len(shown)) if len(shown) > 1 else np.zeros(1)
    for what, off in zip(shown, offsets, strict=True):
        if what == "own":
            y, s = ds[observed].values, ds[sigma].values
            ax.hlines(pos + off, (y - s)[order], (y + s)[order], color=_OBSERVED, lw=1)
            ax.plot(y[order], pos + off, "o", mfc="white", mec=_OBSERVED, ms=6,
                    label="own estimate ± 1 s.e.")
            continue
        name, marker, color = _LEVELS.get(what, (what, "v", "C4"))
        values = ds[effect].sel(pooling=what)
        mean, lo, hi = (values.sel(stat=k).values for k in ("mean", "lower", "upper"))
        ax.hlines(pos + off, lo[order], hi[order], color=color, lw=2, alpha=0.8)
        ax.plot(mean[order], pos + off, marker, color=color, ms=5, label=f"{name}, {band}")
    ax.set_yticks(pos, [str(v) for v in labels[order]])
    ax.set_ylim(n - 0.5, -0.6)
    ax.set_xlabel(label)
    ax.set_ylabel(dim)
    ax.grid(axis="x", color="0.92")
    ax.set_axisbelow(True)
    legend_above(ax, ncols=2)
    return fig


def _scatter(ax, ds, effect, levels, key, has_own, dim) -> None:
    partial = ds[effect].sel(pooling="partial" if "partial" in levels else levels[0])
    mean, lo, hi = (partial.sel(stat=k).values for k in ("mean", "lower", "upper"))
    ax.errorbar(key, mean, yerr=[mean - lo, hi - mean], fmt="o", ms=3, color="C0",
                elinewidth=0.6, label="partial pooling")
    limits = [np.nanmin(np.r_[key, lo]), np.nanmax(np.r_[key, hi])]
    ax.plot(limits, limits, color=_OBSERVED, lw=0.8, label="no pooling (y = x)")
    if "complete" in levels:
        ax.axhline(float(ds[effect].sel(pooling="complete", stat="mean").mean()), color="C2",
                   lw=1, ls=":", label="complete pooling")
    what = "own estimate" if has_own else "no-pooling mean"
    ax.set_xlabel(f"{what} of each {dim} ({key.size} {plural(dim)})")
    ax.set_ylabel(ds[effect].attrs.get("long_name") or effect)
