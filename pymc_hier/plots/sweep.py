"""Plot a prior sweep: :func:`plot_sweep`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

__all__ = ["plot_sweep"]

_MARKERS = {"reweight": "o", "refit": "s"}


def _x_axis(ds: xr.Dataset) -> tuple[np.ndarray, str, bool]:
    """Return the swept value per setting (a numeric coordinate that varies), else the index."""
    numeric = [(name, coord.values) for name, coord in ds.coords.items()
               if name != "setting" and coord.dims == ("setting",) and coord.dtype.kind == "f"
               and np.all(np.isfinite(coord.values))]
    for name, values in numeric:
        if len(np.unique(values)) == len(values):
            return values, name, True
    return np.arange(ds.sizes["setting"]), "setting", False


def plot_sweep(ds: xr.Dataset, var_names: Sequence[str] | None = None, *,
               interval: tuple[str, str] | None = None, log_x: bool | None = None,
               figsize=None):
    """Plot each posterior quantity against the swept hyperparameter.

    Parameters
    ----------
    ds : xarray.Dataset
        The result of :func:`~pymc_hier.prior_sweep`.
    var_names : sequence of str, optional
        Variables to plot (one panel each; vector variables get one line per element).
        All summarised variables by default.
    interval : (str, str), optional
        The ``stat`` labels of the band's edges; the lowest and highest quantile by
        default.
    log_x : bool, optional
        Logarithmic x axis; by default when all swept values are positive and span more
        than a factor of 10.
    figsize : tuple, optional
        Matplotlib figure size.

    Returns
    -------
    matplotlib.figure.Figure
        Posterior mean (markers: circle reweighted, square refitted, cross failed) with the
        interval band, one panel per variable.
    """
    import matplotlib.pyplot as plt

    summarised = [n for n, v in ds.data_vars.items() if "stat" in v.dims]
    if var_names is None:
        var_names = summarised
    elif isinstance(var_names, str):
        var_names = [var_names]
    for name in var_names:
        if name not in summarised:
            raise ValueError(f"var_names: {name!r} is not in the sweep (has: "
                             f"{', '.join(summarised)})")
    q_stats = [s for s in ds["stat"].values.tolist() if s.startswith("q")]
    if interval is None:
        interval = (q_stats[0], q_stats[-1]) if len(q_stats) >= 2 else None
    elif any(s not in ds["stat"].values for s in interval):
        raise ValueError(f"interval: {interval!r} are not stat labels of the sweep "
                         f"({', '.join(ds['stat'].values.tolist())})")
    x, xlabel, numeric = _x_axis(ds)
    order = np.argsort(x)
    if log_x is None:
        log_x = numeric and np.all(x > 0) and x.max() / x.min() > 10
    n = len(var_names)
    fig, axes = plt.subplots(n, 1, figsize=figsize or (6, 2.6 * n), squeeze=False,
                             sharex=True, layout="constrained")
    methods = ds["method"].values
    failed = ds["status"].values == "failed"
    for ax, name in zip(axes[:, 0], var_names, strict=True):
        da = ds[name]
        extra = [d for d in da.dims if d not in ("setting", "stat")]
        flat = da.stack(_elem=extra) if extra else da.expand_dims(_elem=[name])
        for j in range(flat.sizes["_elem"]):
            el = flat.isel(_elem=j)
            label = name if not extra else f"{name}[{flat['_elem'].values[j]}]"
            mean = el.sel(stat="mean").values
            (line,) = ax.plot(x[order], mean[order], lw=1, label=label)
            if interval is not None:
                lo, hi = (el.sel(stat=s).values for s in interval)
                ax.fill_between(x[order], lo[order], hi[order], color=line.get_color(),
                                alpha=0.15, lw=0)
            for method, marker in _MARKERS.items():
                sel = (methods == method) & ~failed
                ax.plot(x[sel], mean[sel], marker, color=line.get_color(), ms=4, ls="none")
        if failed.any():
            for xv in x[failed]:
                ax.axvline(xv, color="0.6", ls=":", lw=1)
        ax.set_ylabel(name + (f" [{da.attrs['units']}]" if "units" in da.attrs else ""))
        if extra and flat.sizes["_elem"] <= 10:
            ax.legend(fontsize="x-small", ncols=2)
        if log_x:
            ax.set_xscale("log")
    axes[-1, 0].set_xlabel(xlabel)
    if not numeric:
        axes[-1, 0].set_xticks(x, ds["setting"].values, rotation=30, ha="right")
    band = f"band: {interval[0]}–{interval[1]}; " if interval else ""
    fig.suptitle(f"prior sweep of {ds.attrs.get('param', '')} ({band}o reweighted, "
                 "s refitted)", fontsize="small")
    return fig
