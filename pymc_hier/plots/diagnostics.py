"""Sampling diagnostics as figures: :func:`plot_funnel`, :func:`plot_rank`.

- :func:`plot_funnel`: the draws of a group effect against the log of the population
  scale, divergent transitions marked: where a centred hierarchy's funnel stops NUTS.
- :func:`plot_rank`: rank plots of chosen parameters (:func:`arviz_plots.plot_rank`), one
  matplotlib figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from pymc_hier.plots.common import axis_label, legend_above, posterior_of
from pymc_hier.plots.common import unit_var as _unit_var

__all__ = ["plot_funnel", "plot_rank"]

_DIVERGENT = "C3"


def _divergent(idata, shape: tuple[int, int]) -> np.ndarray:
    if isinstance(idata, xr.DataTree) and "sample_stats" in idata.children \
            and "diverging" in idata["sample_stats"].data_vars:
        div = np.asarray(idata["sample_stats"]["diverging"].values, dtype=bool)
        if div.shape == shape:
            return div
    return np.zeros(shape, dtype=bool)


def plot_funnel(idata: xr.DataTree, *, effect: str = "theta", scale: str = "tau",
                coords: Sequence | None = None, sigma="sigma", figsize=None) -> Figure:
    """Draws of group effects against ``log(scale)``, divergent transitions in red.

    In a centred hierarchical model the posterior of ``(theta_j, log tau)`` narrows into a
    funnel as ``tau`` shrinks; NUTS cannot adapt one step size to both its mouth and its
    neck, and the divergences gather in the neck. Divergent draws spread at random
    instead point at another cause. Where the group's data standard error ``sigma_j`` is
    known, a dashed line marks ``tau = sigma_j``: above it the group's data outweigh the
    population (the centred form suits it), below it the population dominates (the
    non-centred form does; :func:`pymc_hier.parametrization_advice`).

    Parameters
    ----------
    idata : xarray.DataTree
        A fit with ``posterior`` and (for the divergences) ``sample_stats.diverging``.
    effect : str, default "theta"
        The group effects, dims ``(chain, draw, group)``.
    scale : str, default "tau"
        The population scale, a positive scalar parameter.
    coords : sequence, optional
        Labels of the groups to draw, one panel each; by default the group whose effect has
        the widest posterior (the least informed one, where the funnel is deepest).
    sigma : str or array_like or None, default "sigma"
        Each group's data standard error: a variable of ``constant_data`` (skipped when
        absent) or the values, one per group; None draws no line.
    figsize : tuple, optional
        Matplotlib figure size.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        When ``idata`` is not a DataTree.
    ValueError
        For missing variables, a scale that is not positive, or unknown group labels.
    """
    import matplotlib.pyplot as plt

    if not isinstance(idata, xr.DataTree):
        raise TypeError(f"idata: expected an xarray.DataTree, got {type(idata).__name__}")
    post = posterior_of(idata)
    da, dim = _unit_var(post, effect, "effect")
    if scale not in post.data_vars or set(post[scale].dims) != {"chain", "draw"}:
        raise ValueError(f"scale: {scale!r} must be a scalar parameter of the posterior")
    tau = post[scale].transpose("chain", "draw").values
    if not np.all(tau > 0):
        raise ValueError(f"scale: {scale!r} must be positive to take its log")
    labels = np.asarray(da[dim].values if dim in da.coords else np.arange(da.sizes[dim]))
    if coords is None:
        sd = da.std(("chain", "draw")).values
        chosen = [labels[int(np.nanargmax(sd))]]
    else:
        chosen = list(coords) if not isinstance(coords, str) else [coords]
        unknown = [c for c in chosen if c not in labels.tolist()]
        if unknown:
            raise ValueError(f"coords: {unknown} are not labels of {dim!r}")
    div = _divergent(idata, tau.shape)
    log_tau = np.log(tau)
    se = _sigma(idata, sigma, dim, labels)
    n = len(chosen)
    fig, axes = plt.subplots(1, n, figsize=figsize or (min(4.2 * n, 12), 3.6), sharey=True,
                             squeeze=False, layout="constrained")
    for ax, label in zip(axes[0], chosen, strict=True):
        x = da.sel({dim: label}).transpose("chain", "draw").values
        ax.plot(x[~div], log_tau[~div], ".", ms=2, color="0.6", alpha=0.5,
                label="draws", rasterized=False)
        if div.any():
            ax.plot(x[div], log_tau[div], "o", ms=3.5, color=_DIVERGENT,
                    label=f"divergent ({int(div.sum())})")
        if se is not None:
            k = labels.tolist().index(label)
            ax.axhline(np.log(se[k]), color="0.3", lw=0.8, ls="--",
                       label=f"{scale} = σ of its data ({se[k]:.3g})")
        ax.set_xlabel(f"{axis_label(da, effect)}, {dim} {label}")
        legend_above(ax, ncols=2)
    axes[0, 0].set_ylabel(f"log {scale}")
    return fig


def _sigma(idata: xr.DataTree, sigma, dim: str, labels: np.ndarray) -> np.ndarray | None:
    if sigma is None:
        return None
    if isinstance(sigma, str):
        if "constant_data" not in idata.children or sigma not in idata["constant_data"]:
            return None
        da = idata["constant_data"][sigma]
        if da.dims != (dim,):
            return None
        values = da.sel({dim: labels}).values if dim in da.coords else da.values
    else:
        values = np.asarray(sigma, dtype=float).ravel()
    if values.size != labels.size or not np.all(np.asarray(values, dtype=float) > 0):
        raise ValueError(f"sigma: expected {labels.size} positive values, one per {dim}")
    return np.asarray(values, dtype=float)


def plot_rank(idata: xr.DataTree, var_names: Sequence[str], *, figsize=None) -> Figure:
    """Rank plots of ``var_names`` (:func:`arviz_plots.plot_rank`), as one figure.

    For each chain, the ECDF of its draws' fractional ranks (over all chains) minus the
    uniform CDF, with the multi-chain uniformity test's p-value: chains that explore the
    same distribution stay near zero.

    Parameters
    ----------
    idata : xarray.DataTree
        A fit with a ``posterior`` group.
    var_names : sequence of str
        Variables to draw (scalars read best).
    figsize : tuple, optional
        Matplotlib figure size.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz_plots as azp

    from pymc_hier.plots.ppc import _figure

    post = posterior_of(idata)
    names = [var_names] if isinstance(var_names, str) else list(var_names)
    missing = [v for v in names if v not in post.data_vars]
    if missing:
        raise ValueError(f"var_names: {missing} are not in the posterior")
    tree = xr.DataTree.from_dict({"posterior": post[names]})
    kwargs = {} if figsize is None else {"figure_kwargs": {"figsize": figsize}}
    pc = azp.plot_rank(tree, var_names=names, backend="matplotlib", **kwargs)
    return _figure(pc)
