"""Helpers shared by the figures of per-unit parameters: draws summarised, axes labelled.

Every figure labels its axes with the variables' ``long_name`` and ``units`` attrs and
states its interval (equal-tailed, probability ``ci_prob``) in a legend above the axes.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["aligned", "axis_label", "check_prob", "interval_label", "interval_summary",
           "legend_above", "plural", "posterior_of", "summarise_draws", "unit_labels",
           "unit_var"]

_SAMPLE_DIMS = ("chain", "draw")


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


def unit_var(post: xr.Dataset, var_name: str, arg: str = "var_name") -> tuple[xr.DataArray, str]:
    """Return a per-unit variable (dims chain, draw, unit) and its unit dim, or raise."""
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


def check_prob(ci_prob) -> float:
    """Return ``ci_prob`` as a float in (0, 1), or raise."""
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


def aligned(values, dim: str, coords: np.ndarray, what: str) -> np.ndarray:
    """Values one per unit, aligned with ``coords`` (a DataArray by label), as floats."""
    if isinstance(values, xr.DataArray):
        if dim in values.dims:
            values = values.sel({dim: coords})
        return np.asarray(values.values, dtype=float).ravel()
    arr = np.asarray(values, dtype=float).ravel()
    if arr.size != len(coords):
        raise ValueError(f"{what}: expected {len(coords)} values (one per {dim}), got {arr.size}")
    return arr


def unit_labels(da: xr.DataArray, dim: str) -> np.ndarray:
    """Return the labels of ``dim`` (positions where it has no coordinate)."""
    return np.asarray(da[dim].values if dim in da.coords else np.arange(da.sizes[dim]))


def interval_label(ci_prob: float) -> str:
    """``"90% interval"``."""
    return f"{100 * ci_prob:g}% interval"


def legend_above(ax, ncols: int = 3) -> None:
    """Draw the legend in one row above the axes (never over the data; cheap to place)."""
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=ncols, frameon=False,
              borderaxespad=0.0, fontsize="small", handletextpad=0.4, columnspacing=1.2)
