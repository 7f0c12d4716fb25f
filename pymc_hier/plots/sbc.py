"""The figure of a simulation-based calibration: ECDF differences with simultaneous bands."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

__all__ = ["plot_sbc"]


def plot_sbc(result: xr.Dataset, *, var_names=None, ncols: int = 3) -> Figure:
    """ECDF of each parameter's fractional ranks minus the uniform CDF, with its band.

    One panel per variable of an :func:`pymc_hier.sbc` result; a variable with a dim draws
    one line per element. The shaded band holds the whole difference of a calibrated
    parameter with probability ``result.attrs["prob"]`` (simultaneously over the points);
    lines that leave it are drawn in red. Titles give the smallest p-values of the ECDF and
    chi-square tests.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`pymc_hier.sbc`.
    var_names : str or sequence of str, optional
        Variables to draw (default: all).
    ncols : int, default 3
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if "ecdf_difference" not in result:
        raise ValueError("result: no ECDF differences (fewer than 2 successful fits?)")
    names = json.loads(result.attrs["variables"])
    if var_names is not None:
        wanted = [var_names] if isinstance(var_names, str) else list(var_names)
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise ValueError(f"var_names: {unknown} are not in the result ({names})")
        names = wanted
    import matplotlib.pyplot as plt

    ncols = max(1, min(int(ncols), len(names)))
    nrows = -(-len(names) // ncols)
    # a pyplot figure, as the other plots: notebooks and sphinx-gallery show it
    fig = plt.figure(figsize=(3.6 * ncols, 2.9 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    x = np.concatenate([[0.0], result["ecdf_point"].values, [1.0]])
    lower = np.concatenate([[0.0], result["ecdf_lower"].values, [0.0]])
    upper = np.concatenate([[0.0], result["ecdf_upper"].values, [0.0]])
    for ax, name in zip(axes.flat, names, strict=False):
        sub = result.sel(parameter=result["variable"] == name)
        ax.fill_between(x, lower, upper, step="post", color="0.85", linewidth=0)
        ax.axhline(0.0, color="0.4", linewidth=0.8)
        for label in sub["parameter"].values:
            y = np.concatenate([[0.0], sub["ecdf_difference"].sel(parameter=label).values,
                                [0.0]])
            outside = np.any((y < lower - 1e-12) | (y > upper + 1e-12))
            ax.step(x, y, where="post", linewidth=1.4 if outside else 0.9,
                    color="tab:red" if outside else "tab:blue",
                    alpha=1.0 if outside or sub.sizes["parameter"] == 1 else 0.5)
        p_ecdf = float(sub["ecdf_pvalue"].min())
        p_chi2 = float(sub["chi2_pvalue"].min())
        count = sub.sizes["parameter"]
        what = name if count == 1 else f"{name} ({count} elements, smallest p)"
        ax.set_title(f"{what}\nECDF p = {p_ecdf:.3g}, χ² p = {p_chi2:.3g}", fontsize=9)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("fractional rank")
    for ax in axes[:, 0]:
        ax.set_ylabel("ECDF − uniform")
    attrs = result.attrs
    sep = "; " if ncols > 1 else "\n"  # one narrow panel: the title on two lines
    fig.suptitle(f"SBC: {attrs['n_sims'] - attrs['n_failed']} fits, ranks among "
                 f"{attrs['n_draws']} draws ({attrs['sampler']}){sep}band: simultaneous "
                 f"{attrs['prob']:.0%}", fontsize=10)
    return fig
