"""Per-unit parameters of a hierarchical model: :func:`plot_forest`, :func:`plot_shrinkage`.

Both draw with matplotlib (one call per artist kind, fast for thousands of units), label
their axes with the variables' ``long_name`` and ``units`` attrs, and state their interval
(an equal-tailed interval of probability ``ci_prob``) in the legend.

- :func:`plot_forest`: each unit's posterior mean and interval, sorted, with the true
  values when they are known (simulated data). Up to ``max_rows`` units are drawn as
  labelled rows; more as a caterpillar plot (units along the x axis, by rank).
- :func:`plot_shrinkage`: each group's own estimate ``y_j ± sigma_j`` against its
  posterior effect and the pooled mean, the picture of partial pooling.
  ``pooling=`` adds other estimates per group (no or complete pooling, another model).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

__all__ = ["legend_above", "plot_forest", "plot_shrinkage", "plural", "summarise_draws"]

_SAMPLE_DIMS = ("chain", "draw")
_POSTERIOR = "C0"
_TRUTH = "C3"
_OBSERVED = "0.35"


def plural(word: str) -> str:
    """Return the English plural of a unit's name: ``schools``, ``counties``, ``boxes``.

    A name that is not a plain lower-case word (``obs``, ``x_dim``) is left as it is.
    """
    if not word.isalpha() or not word.islower() or word.endswith("s"):
        return word
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("x", "ch", "sh", "z")):
        return word + "es"
    return word + "s"


def posterior_of(idata) -> xr.Dataset:
    """Return the posterior Dataset of a DataTree (or the Dataset itself)."""
    if isinstance(idata, xr.Dataset):
        return idata
    if isinstance(idata, xr.DataTree):
        if "posterior" not in idata.children:
            raise ValueError("idata: no 'posterior' group")
        return idata["posterior"].to_dataset()
    raise TypeError(f"idata: expected an xarray.DataTree or Dataset, got {type(idata).__name__}")


def _unit_var(post: xr.Dataset, var_name: str, arg: str = "var_name") -> tuple[xr.DataArray, str]:
    if not isinstance(var_name, str):
        raise TypeError(f"{arg}: expected a variable name, got {type(var_name).__name__}")
    if var_name not in post.data_vars:
        raise ValueError(f"{arg}: {var_name!r} is not in the posterior (has: "
                         f"{', '.join(map(str, post.data_vars))})")
    da = post[var_name]
    extra = [d for d in da.dims if d not in _SAMPLE_DIMS]
    if len(extra) != 1 or not set(_SAMPLE_DIMS) <= set(da.dims):
        raise ValueError(f"{arg}: {var_name!r} must have dims (chain, draw, unit), has "
                         f"{da.dims}")
    return da, extra[0]


def _check_prob(ci_prob) -> float:
    if isinstance(ci_prob, bool) or not isinstance(ci_prob, int | float):
        raise TypeError(f"ci_prob: expected a number, got {type(ci_prob).__name__}")
    if not 0 < ci_prob < 1:
        raise ValueError(f"ci_prob: must lie in (0, 1), got {ci_prob!r}")
    return float(ci_prob)


_CHUNK = 4_000_000  # draws summarised at a time (bounds the memory of the quantiles)


def summarise_draws(da: xr.DataArray, ci_prob: float) -> dict[str, np.ndarray]:
    """Mean, sd and equal-tailed interval (``lo``, ``hi``) of draws over chain and draw.

    Arrays are shaped like the variable's other dims, in their order; NaN draws are
    ignored. Elements are summarised in chunks, so that 10^5 groups of 4000 draws need no
    more memory than a few of them.
    """
    other = [d for d in da.dims if d not in _SAMPLE_DIMS]
    shape = [da.sizes[d] for d in other]
    flat = da.transpose(*other, *_SAMPLE_DIMS).values.reshape(-1, da.sizes["chain"]
                                                              * da.sizes["draw"])
    probs = [(1 - ci_prob) / 2, (1 + ci_prob) / 2]
    out = {k: np.empty(flat.shape[0]) for k in ("mean", "sd", "lo", "hi")}
    step = max(1, _CHUNK // max(flat.shape[1], 1))
    for start in range(0, flat.shape[0], step):
        block = np.asarray(flat[start:start + step], dtype=float)
        part = slice(start, start + len(block))
        nan = np.isnan(block).any()
        quantile, mean, std = ((np.nanquantile, np.nanmean, np.nanstd) if nan
                               else (np.quantile, np.mean, np.std))
        out["lo"][part], out["hi"][part] = quantile(block, probs, axis=-1)
        out["mean"][part] = mean(block, axis=-1)
        out["sd"][part] = std(block, axis=-1, ddof=1) if block.shape[1] > 1 else np.nan
    return {k: v.reshape(shape) for k, v in out.items()}


def interval_summary(da: xr.DataArray, ci_prob: float) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
    """Mean and equal-tailed interval bounds over chain and draw (NaN draws ignored)."""
    s = summarise_draws(da, ci_prob)
    return s["mean"], s["lo"], s["hi"]


def axis_label(da: xr.DataArray, fallback: str) -> str:
    """``long name [units]`` of a variable."""
    name = da.attrs.get("long_name") or fallback
    units = da.attrs.get("units")
    return f"{name} [{units}]" if units else str(name)


def _aligned(values, dim: str, coords: np.ndarray, what: str) -> np.ndarray:
    if isinstance(values, xr.DataArray):
        if dim in values.dims:
            values = values.sel({dim: coords})
        return np.asarray(values.values, dtype=float).ravel()
    arr = np.asarray(values, dtype=float).ravel()
    if arr.size != len(coords):
        raise ValueError(f"{what}: expected {len(coords)} values (one per {dim}), got {arr.size}")
    return arr


def _labels(da: xr.DataArray, dim: str) -> np.ndarray:
    return np.asarray(da[dim].values if dim in da.coords else np.arange(da.sizes[dim]))


def _interval_label(ci_prob: float) -> str:
    return f"{100 * ci_prob:g}% interval"


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


def legend_above(ax, ncols: int = 3) -> None:
    """Draw the legend in one row above the axes (never over the data; cheap to place)."""
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=ncols, frameon=False,
              borderaxespad=0.0, fontsize="small", handletextpad=0.4, columnspacing=1.2)


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

    Parameters
    ----------
    idata : xarray.DataTree
        A fit with ``posterior`` (the effects and the mean) and the data groups.
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
        (complete pooling).
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

