"""Plot a prior sweep: :func:`plot_sweep`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from pymc_hier.plots.hierarchy import legend_above

__all__ = ["default_sweep_vars", "interval_stats", "plot_sweep"]

_MARKERS = {"reweight": "o", "refit": "s"}
_MAX_LINES = 10


def _x_axis(ds: xr.Dataset) -> tuple[np.ndarray, str, bool]:
    """Return the swept value per setting (a numeric coordinate that varies), else the index."""
    param = str(ds.attrs.get("param", ""))
    names = [param] + [n for n in ds.coords if n != param]
    for name in names:
        if name not in ds.coords or name == "setting":
            continue
        coord = ds.coords[name]
        if coord.dims != ("setting",) or coord.dtype.kind not in "fiu":
            continue
        values = np.asarray(coord.values, dtype=float)
        if np.all(np.isfinite(values)) and len(np.unique(values)) == len(values):
            return values, str(name), True
    return np.arange(ds.sizes["setting"], dtype=float), "setting", False


def default_sweep_vars(ds: xr.Dataset) -> list[str]:
    """Return the variables a sweep plot shows by default: scalars, internal ones left out.

    A sweep that lists its ``population`` parameters (attr) shows those; otherwise every
    variable with dims ``(setting, stat)`` that is not named in its ``internal`` attr.
    """
    scalars = [str(n) for n, v in ds.data_vars.items() if set(v.dims) == {"setting", "stat"}]
    population = _listed(ds.attrs.get("population"))
    if population:
        return [n for n in population if n in ds.data_vars]
    internal = set(_listed(ds.attrs.get("internal")))
    return [n for n in scalars if n not in internal]


def _listed(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(",", " ").split() if v.strip()]
    return [str(v) for v in np.ravel(value)]


def interval_stats(ds: xr.Dataset, ci_prob: float | None = None) -> tuple[str, str] | None:
    """Return the ``stat`` labels of an equal-tailed interval of probability ``ci_prob``.

    By default the widest pair of quantiles the sweep holds; None when it has fewer than
    two.

    Raises
    ------
    ValueError
        When the sweep does not hold the quantiles of the ``ci_prob`` interval.
    """
    stats = [str(s) for s in ds["stat"].values]
    quantiles = {}
    for s in stats:
        if s.startswith("q"):
            try:
                quantiles[round(float(s[1:]), 10)] = s
            except ValueError:
                continue
    if ci_prob is None:
        if len(quantiles) < 2:
            return None
        ordered = sorted(quantiles)
        return quantiles[ordered[0]], quantiles[ordered[-1]]
    lo, hi = round((1 - ci_prob) / 2, 10), round((1 + ci_prob) / 2, 10)
    if lo not in quantiles or hi not in quantiles:
        raise ValueError(f"ci_prob: the sweep has no quantiles {lo:g} and {hi:g} (stats: "
                         f"{', '.join(stats)}); rerun prior_sweep with quantiles=({lo:g}, "
                         f"0.5, {hi:g})")
    return quantiles[lo], quantiles[hi]


def _band_label(interval: tuple[str, str]) -> str:
    try:
        prob = float(interval[1][1:]) - float(interval[0][1:])
        return f"{100 * prob:.3g}% interval"
    except ValueError:
        return f"{interval[0]}–{interval[1]}"


def _element_label(name: str, value) -> str:
    if isinstance(value, tuple):
        value = ", ".join(map(str, value))
    return f"{name}[{value}]"


def plot_sweep(ds: xr.Dataset, var_names: Sequence[str] | None = None, *,
               interval: tuple[str, str] | None = None, ci_prob: float | None = None,
               log_x: bool | None = None, xlabel: str | None = None, labels=None,
               figsize=None):
    """Plot each posterior quantity against the swept hyperparameter.

    Parameters
    ----------
    ds : xarray.Dataset
        The result of :func:`~pymc_hier.prior_sweep`.
    var_names : sequence of str, optional
        Variables to plot, one panel each (vector variables get one line per element).
        By default the scalar ones that are not internal to the parametrisation
        (:func:`default_sweep_vars`).
    interval : (str, str), optional
        The ``stat`` labels of the band's edges.
    ci_prob : float, optional
        Probability of the band (an equal-tailed interval whose quantiles the sweep holds);
        by default the widest pair of quantiles. Ignored when ``interval`` is given.
    log_x : bool, optional
        Logarithmic x axis; by default when all swept values are positive and span more
        than a factor of 10.
    xlabel : str, optional
        Label of the x axis; by default the swept parameter's name.
    labels : mapping of str to str, optional
        Axis label of each variable (``"decay rate α [per day]"``); by default its name and
        ``units`` attr.
    figsize : tuple, optional
        Matplotlib figure size.

    Returns
    -------
    matplotlib.figure.Figure
        Posterior mean (markers: circle reweighted, square refitted; a dotted line marks a
        failed setting) with the interval band, one panel per variable, the swept values as
        the x ticks.

    Raises
    ------
    TypeError
        When ``ds`` is not a Dataset.
    ValueError
        For a Dataset that is not a sweep, unknown variables or interval labels.
    """
    import matplotlib.pyplot as plt

    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds: expected the xarray.Dataset of prior_sweep, got "
                        f"{type(ds).__name__}")
    if "setting" not in ds.dims or "stat" not in ds.dims:
        raise ValueError("ds: not a prior sweep (no 'setting' and 'stat' dims)")
    summarised = [str(n) for n, v in ds.data_vars.items() if "stat" in v.dims]
    if var_names is None:
        var_names = default_sweep_vars(ds)
    elif isinstance(var_names, str):
        var_names = [var_names]
    for name in var_names:
        if name not in summarised:
            raise ValueError(f"var_names: {name!r} is not in the sweep (has: "
                             f"{', '.join(summarised)})")
    if not var_names:
        raise ValueError("var_names: the sweep has no scalar quantity to plot; name some")
    if interval is None:
        interval = interval_stats(ds, ci_prob)
    elif any(s not in ds["stat"].values for s in interval):
        raise ValueError(f"interval: {interval!r} are not stat labels of the sweep "
                         f"({', '.join(ds['stat'].values.tolist())})")
    x, name_x, numeric = _x_axis(ds)
    order = np.argsort(x)
    if log_x is None:
        log_x = bool(numeric and np.all(x > 0) and x.max() / x.min() > 10)
    n = len(var_names)
    fig, axes = plt.subplots(n, 1, figsize=figsize or (6.4, 0.6 + 2.3 * n), squeeze=False,
                             sharex=True, layout="constrained")
    methods = ds["method"].values if "method" in ds else np.full(len(x), "refit")
    failed = (ds["status"].values == "failed") if "status" in ds else np.zeros(len(x), bool)
    band = _band_label(interval) if interval else None
    for ax, name in zip(axes[:, 0], var_names, strict=True):
        da = ds[name]
        extra = [d for d in da.dims if d not in ("setting", "stat")]
        flat = da.stack(_elem=extra) if extra else da.expand_dims(_elem=[name])
        many = flat.sizes["_elem"] > _MAX_LINES
        for j in range(flat.sizes["_elem"]):
            el = flat.isel(_elem=j)
            label = name if not extra else _element_label(name, flat["_elem"].values[j])
            mean = el.sel(stat="mean").values
            (line,) = ax.plot(x[order], mean[order], lw=0.6 if many else 1.2,
                              color="C0" if many else None,
                              label=None if many else (label if extra else "posterior mean"))
            if interval is not None and not many:
                lo, hi = (el.sel(stat=s).values for s in interval)
                ax.fill_between(x[order], lo[order], hi[order], color=line.get_color(),
                                alpha=0.18 if extra else 0.25, lw=0,
                                label=None if extra else band)
            for method, marker in _MARKERS.items():
                sel = (methods == method) & ~failed
                ax.plot(x[sel], mean[sel], marker, color=line.get_color(),
                        ms=2 if many else 5, ls="none")
        for xv in x[failed]:
            ax.axvline(xv, color="0.6", ls=":", lw=1)
        ax.set_ylabel((labels or {}).get(name) or (
            name + (f" [{da.attrs['units']}]" if da.attrs.get("units") else "")))
        ax.grid(color="0.92")
        ax.set_axisbelow(True)
        if not many and (extra or ax is axes[0, 0]):
            legend_above(ax, ncols=4 if extra else 2)
        if log_x:
            ax.set_xscale("log")
    bottom = axes[-1, 0]
    bottom.set_xlabel(xlabel or name_x)
    if numeric:
        bottom.set_xticks(x, [f"{v:g}" for v in x])
        bottom.minorticks_off()
    else:
        bottom.set_xticks(x, ds["setting"].values, rotation=30, ha="right")
    return fig
