"""MCMC diagnostics computed with ArviZ: :func:`diagnostics_summary`, :class:`SamplingWarning`.

:func:`pymc_hier.fit` attaches the summary as a ``diagnostics`` group and warns through
:func:`check_sampling` whenever a threshold of :data:`THRESHOLDS` is crossed.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from types import MappingProxyType

import arviz_stats as azs
import numpy as np
import xarray as xr

from pymc_hier.exceptions import SamplingWarning

#: Default thresholds: R-hat above, bulk/tail ESS below, divergences above, E-BFMI below.
THRESHOLDS = MappingProxyType(
    {"rhat": 1.01, "ess_bulk": 400.0, "ess_tail": 400.0, "divergences": 0, "bfmi": 0.3}
)
_MAX_NAMED = 6  # parameters named per problem in a warning
#: Variable attr: ``"skip"`` leaves the variable out of the diagnostics (draws made after
#: sampling from an exact conditional of diagnosed parameters, e.g. ``theta`` of the
#: marginal hierarchical normal model: 10**5 of them would take minutes and only repeat
#: what R-hat and ESS of ``mu`` and ``tau`` say).
SKIP_ATTR = "pymc_hier_diagnostics"


def diagnostics_summary(idata: xr.DataTree, *, group: str = "posterior") -> xr.DataTree:
    """Compute R-hat, bulk and tail ESS per parameter and divergences and E-BFMI per chain.

    Parameters
    ----------
    idata : xarray.DataTree
        MCMC output with a ``posterior`` group and, for divergences and E-BFMI, a
        ``sample_stats`` group holding ``diverging`` and ``energy``.
    group : str, default "posterior"
        Group whose variables are checked, except those whose attr :data:`SKIP_ATTR` is
        ``"skip"``.

    Returns
    -------
    xarray.DataTree
        Root dataset with ``divergences`` and ``bfmi`` along ``chain`` (absent when the
        sampler did not report them) and attrs ``max_rhat``, ``min_ess_bulk``,
        ``min_ess_tail``, ``n_divergent``, ``min_bfmi`` and ``n_draws``; children ``rhat``,
        ``ess_bulk`` and ``ess_tail`` hold one value per parameter element, labelled like
        the posterior.
    """
    if group not in idata.children:
        raise ValueError(f"idata: no {group!r} group to diagnose (groups: {list(idata.children)})")
    post = idata[group].to_dataset()
    post = post[[v for v in post.data_vars if {"chain", "draw"} <= set(post[v].dims)
                 and post[v].attrs.get(SKIP_ATTR) != "skip"]]
    if not post.data_vars:
        raise ValueError(f"idata: the {group!r} group has no variables with chain and draw dims")
    rhat = azs.rhat(post)
    ess_bulk = azs.ess(post, method="bulk")
    ess_tail = azs.ess(post, method="tail")
    root = xr.Dataset(coords={"chain": post["chain"].values})
    attrs = {
        "n_chains": int(post.sizes["chain"]),
        "n_draws": int(post.sizes["draw"]),
        "max_rhat": _extreme(rhat, np.nanmax),
        "min_ess_bulk": _extreme(ess_bulk, np.nanmin),
        "min_ess_tail": _extreme(ess_tail, np.nanmin),
    }
    stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata.children else None
    if stats is not None and "diverging" in stats:
        div = stats["diverging"].astype(bool).sum("draw").astype("int64")
        root["divergences"] = div.assign_attrs(description="divergent transitions after tuning")
        attrs["n_divergent"] = int(div.sum())
    if stats is not None and "energy" in stats:
        bfmi = azs.bfmi(stats["energy"])
        root["bfmi"] = bfmi.rename("bfmi").assign_attrs(description="energy Bayesian fraction "
                                                         "of missing information")
        attrs["min_bfmi"] = float(np.nanmin(bfmi.values))
    root.attrs = {**attrs, **{f"threshold_{k}": v for k, v in THRESHOLDS.items()}}
    tree = xr.DataTree(root)
    for name, ds in (("rhat", rhat), ("ess_bulk", ess_bulk), ("ess_tail", ess_tail)):
        tree[name] = xr.DataTree(ds.assign_attrs({}))
    return tree


def _extreme(ds: xr.Dataset, fn) -> float:
    values = [np.asarray(ds[v].values, dtype=float).ravel() for v in ds.data_vars]
    flat = np.concatenate(values) if values else np.array([np.nan])
    if np.all(np.isnan(flat)):
        return float("nan")
    return float(fn(flat))


def _offenders(ds: xr.Dataset, bad) -> list[tuple[str, float]]:
    """Return ``("theta[A]", value)`` for every element of ``ds`` where ``bad`` holds."""
    found = []
    for name, da in ds.data_vars.items():
        values = np.asarray(da.values, dtype=float)
        mask = bad(values)
        if da.ndim == 0:
            if mask:
                found.append((str(name), float(values)))
            continue
        labels = [da[d].values if d in da.coords else np.arange(da.sizes[d]) for d in da.dims]
        for idx in np.argwhere(mask):
            inner = ", ".join(str(lab[i]) for lab, i in zip(labels, idx, strict=True))
            found.append((f"{name}[{inner}]", float(values[tuple(idx)])))
    return found


def _name_some(items: list[tuple[str, float]], *, worst_first, fmt: str) -> str:
    items = sorted(items, key=lambda kv: kv[1], reverse=worst_first)
    shown = ", ".join(f"{lab} ({val:{fmt}})" for lab, val in items[:_MAX_NAMED])
    more = len(items) - _MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


def sampling_problems(diagnostics: xr.DataTree, *, thresholds: Mapping | None = None,
                      parametrization: str | None = None) -> list[str]:
    """List the thresholds crossed in a :func:`diagnostics_summary`, one message each.

    Parameters
    ----------
    diagnostics : xarray.DataTree
        Output of :func:`diagnostics_summary`.
    thresholds : mapping, optional
        Overrides for :data:`THRESHOLDS` (same keys).
    parametrization : str, optional
        The model's ``parametrization`` option; with ``"centered"`` the divergence message
        explains the funnel and recommends ``parametrization="noncentered"``.

    Returns
    -------
    list of str
        Empty when every check passes.
    """
    limits = dict(THRESHOLDS)
    for key, value in (thresholds or {}).items():
        if key not in limits:
            raise ValueError(f"thresholds: unknown key {key!r} (known: {', '.join(limits)})")
        limits[key] = value
    problems = []
    rhat = diagnostics["rhat"].to_dataset(inherit=False)
    rhat_bad = _offenders(rhat, lambda x: x > limits["rhat"])
    if rhat_bad:
        problems.append(f"R-hat > {limits['rhat']:g} for "
                        + _name_some(rhat_bad, worst_first=True, fmt=".3f"))
    for kind in ("ess_bulk", "ess_tail"):
        ess = diagnostics[kind].to_dataset(inherit=False)
        bad = _offenders(ess, lambda x, k=kind: x < limits[k])
        if bad:
            problems.append(f"{kind.replace('ess_', '')} ESS < {limits[kind]:g} for "
                            + _name_some(bad, worst_first=False, fmt=".0f"))
    root = diagnostics.to_dataset()
    if "divergences" in root:
        n_div = int(root["divergences"].sum())
        total = int(root.attrs["n_draws"]) * int(root.attrs["n_chains"])
        if n_div > limits["divergences"]:
            msg = (f"{n_div} divergent transitions (> {limits['divergences']}) in {total} "
                   f"draws ({100 * n_div / total:.2g}%): the sampler could not follow the "
                   f"posterior's curvature, so the draws may be biased")
            if parametrization == "centered":
                msg += ("; the model uses parametrization='centered', whose funnel between "
                        "the population scale and the group effects causes exactly this: "
                        "refit with parametrization='noncentered'")
            else:
                msg += "; raise target_accept or reparametrize the model"
            problems.append(msg)
    if "bfmi" in root:
        low = [(f"chain {int(c)}", float(v)) for c, v in
               zip(root["chain"].values, root["bfmi"].values, strict=True) if v < limits["bfmi"]]
        if low:
            problems.append(f"E-BFMI < {limits['bfmi']:g} for "
                            + _name_some(low, worst_first=False, fmt=".3f"))
    return problems


def check_sampling(idata: xr.DataTree, *, thresholds: Mapping | None = None,
                   parametrization: str | None = None, context: str = "") -> list[str]:
    """Warn with a :class:`SamplingWarning` listing every crossed threshold; return them.

    Uses the ``diagnostics`` group when present, else computes :func:`diagnostics_summary`.

    Parameters
    ----------
    idata : xarray.DataTree
        MCMC output.
    thresholds : mapping, optional
        Overrides for :data:`THRESHOLDS`.
    parametrization : str, optional
        See :func:`sampling_problems`.
    context : str, optional
        Prefix for the warning (e.g. which model and sampler).

    Returns
    -------
    list of str
        The problems found (empty when none; then nothing is warned).
    """
    diag = idata["diagnostics"] if "diagnostics" in idata.children else diagnostics_summary(idata)
    problems = sampling_problems(diag, thresholds=thresholds, parametrization=parametrization)
    if problems:
        head = f"{context}: " if context else ""
        warnings.warn(head + "sampling problems: " + "; ".join(problems) + ".",
                      SamplingWarning, stacklevel=3)
    return problems
