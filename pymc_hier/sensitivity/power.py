"""Power-scaling prior sensitivity that cannot mislead: :func:`prior_sensitivity`.

Power-scaling (Kallioinen et al. 2024, ArviZ's ``psense``) reweights posterior draws as if
the prior (or likelihood) were raised to a power near 1 and measures how far the posterior
moves. What it measures depends on *which* prior densities are scaled. Scaling every free
variable's prior, as a plain call does, scales the sampler's auxiliary variables too
(``theta_scaled``, ``theta_new_tilde`` of a non-centred model; the group effects ``theta``
of a centred one), which are not priors of the model as written: the same model then gets
different sensitivities in different parametrisations (eight schools, tau: 2.23 centred,
0.39 non-centred). Only the priors on the population parameters are the analyst's
choices; priorsense's authors advise scaling only those in hierarchical models.

:func:`prior_sensitivity` therefore scales, by default:

- for a model family's model, the priors of the family's ``population`` parameters
  (``mu`` and ``tau``; the decay rate ``alpha``), whatever the parametrisation;
- for any other model, the *root* priors: free variables whose distribution depends on no
  other free variable (a centred ``theta ~ Normal(mu, tau)`` is conditioned on ``mu`` and
  ``tau`` and is not scaled; a non-centred offset ``z ~ Normal(0, 1)`` is a root and is:
  pass ``prior_var_names`` to choose).

The likelihood power-scaled is the model's own: ``p(y | theta)`` in the centred and
non-centred forms, ``p(y | mu, tau)`` in the marginal one, two different perturbations, so
the likelihood sensitivity of a marginal model differs from the others' by design.

Each scaling's importance weights come with a Pareto k-hat (PSIS): above the threshold
``min(1 - 1 / log10(S), 0.7)`` (Vehtari et al. 2024) the weights are unreliable and the
sensitivity is flagged. A prior whose log density is constant over the draws (Uniform,
Flat) is invisible to power-scaling, which is then blind: a
:class:`~pymc_hier.exceptions.PowerScalingBlindWarning` says so and points to
:func:`pymc_hier.prior_sweep`, which moves the prior's bounds instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from pymc_hier.exceptions import PowerScalingBlindWarning

__all__ = ["PowerScalingBlindWarning", "khat_threshold", "prior_sensitivity",
           "scaled_priors"]

_SAMPLE_DIMS = ("chain", "draw")


def khat_threshold(n_draws: int) -> float:
    """Largest reliable Pareto k-hat for ``n_draws`` draws: ``min(1 - 1/log10(S), 0.7)``."""
    return float(min(1.0 - 1.0 / np.log10(max(n_draws, 11)), 0.7))


def scaled_priors(model) -> list[str]:
    """Return the free variables whose priors :func:`prior_sensitivity` scales by default.

    A family's ``population`` parameters; for any other model the root priors (free
    variables whose distribution depends on no other free variable).
    """
    from pytensor.graph.traversal import ancestors

    from pymc_hier.spec import get_spec

    spec = get_spec(model, warn=False)
    if spec is not None and spec.family.population_names(spec):
        return list(spec.family.population_names(spec))
    free = set(model.free_RVs)
    roots = []
    for rv in model.free_RVs:
        parents = rv.owner.inputs
        if not any(a in free for a in ancestors(parents)):
            roots.append(rv.name)
    return roots


def prior_sensitivity(idata, model, *, var_names: Sequence[str] | None = None,
                      prior_var_names: Sequence[str] | None = None,
                      threshold: float = 0.05, alphas: tuple[float, float] = (0.99, 1.01)):
    """Power-scaling sensitivity of the posterior to the population priors and the likelihood.

    The ``log_prior`` and ``log_likelihood`` groups are computed with PyMC when ``idata``
    lacks them (the input is not modified).

    Parameters
    ----------
    idata : xarray.DataTree
        A fit with a ``posterior`` group.
    model : pymc.Model
        The model that was fitted.
    var_names : sequence of str, optional
        Posterior variables to report. Default: every variable of the posterior except a
        family's internal ones (draws added after sampling, such as ``theta`` of the
        marginal hierarchical normal, are reweighted with the draws they were made from).
    prior_var_names : sequence of str, optional
        Free variables whose priors are power-scaled (jointly). Default:
        :func:`scaled_priors` (see the module docstring).
    threshold : float, default 0.05
        Sensitivity above which a prior (or the likelihood) counts as influential.
    alphas : tuple of float, default (0.99, 1.01)
        The powers either side of 1.

    Returns
    -------
    pandas.DataFrame
        One row per posterior variable (element): ``prior`` and ``likelihood`` sensitivity,
        ``prior_khat`` and ``likelihood_khat`` (the largest Pareto k-hat of the two
        scalings' weights: the same for every row) and a ``diagnosis``: ArviZ's, or
        ``"unreliable: k-hat ..."`` where the weights are, or ``"prior not visible to
        power-scaling"`` where every scaled prior is constant. ``attrs`` record
        ``scaled_priors``, ``blind_priors`` and ``khat_threshold``.

    Raises
    ------
    ValueError
        For ``idata`` without a posterior, or ``prior_var_names`` that are not free
        variables of ``model``.

    Warns
    -----
    PowerScalingBlindWarning
        For scaled priors whose log density is constant over the draws (Uniform, Flat:
        power-scaling cannot see their bounds; sweep them with
        :func:`pymc_hier.prior_sweep`).
    """
    import pymc as pm
    from arviz_stats import psense

    from pymc_hier.spec import get_spec

    if "posterior" not in idata.children:
        raise ValueError("idata: needs a posterior group")
    tree = idata.copy()
    if "log_prior" not in tree.children:
        tree = pm.stats.compute_log_prior(tree, model=model, extend_inferencedata=True,
                                          progressbar=False)
    if "log_likelihood" not in tree.children:
        tree = pm.stats.compute_log_likelihood(tree, model=model, extend_inferencedata=True,
                                               progressbar=False)
    free = [v.name for v in model.free_RVs]
    scaled = list(prior_var_names) if prior_var_names is not None else scaled_priors(model)
    unknown = sorted(set(scaled) - set(free))
    if unknown:
        raise ValueError(f"prior_var_names: {unknown} are not free variables of the model "
                         f"(free: {', '.join(free)})")
    posterior = tree["posterior"]
    spec = get_spec(model, warn=False)
    internal = set(spec.family.internal_names(spec)) if spec is not None else set()
    if var_names is None:
        var_names = [n for n in posterior.data_vars if n not in internal]
    var_names = list(var_names)

    log_prior = tree["log_prior"].to_dataset()
    blind = [n for n in scaled if n in log_prior and _constant(log_prior[n])]
    visible = [n for n in scaled if n in log_prior and n not in blind]
    if blind:
        warnings.warn(
            f"power-scaling cannot see the prior of {', '.join(blind)}: its log density is "
            "constant over the draws (Uniform, Flat), scaling it changes nothing, so the "
            "diagnostic is blind to it and its bounds; sweep it instead "
            f"(pymc_hier.prior_sweep(idata, model, param='{blind[0]}.upper', values=...))",
            PowerScalingBlindWarning, stacklevel=2)
    n_draws = int(np.prod([posterior.sizes[d] for d in _SAMPLE_DIMS]))
    limit = khat_threshold(n_draws)
    lik = psense(tree, var_names=var_names, group="likelihood", alphas=alphas)
    lik_khat = _khat(tree["log_likelihood"].to_dataset(), None, alphas)
    if visible:
        prior = psense(tree, var_names=var_names, group="prior", alphas=alphas,
                       group_var_names=visible)
        prior_khat = _khat(log_prior, visible, alphas)
    else:
        prior = xr.full_like(lik, np.nan)
        prior_khat = np.nan
    table = _frame(prior, lik)
    table["prior_khat"] = prior_khat
    table["likelihood_khat"] = lik_khat
    table["diagnosis"] = [_diagnose(row, threshold, limit, bool(visible))
                          for _, row in table.iterrows()]
    table = table.round({"prior": 3, "likelihood": 3, "prior_khat": 2, "likelihood_khat": 2})
    table.attrs.update(scaled_priors=visible, blind_priors=blind, khat_threshold=limit,
                       threshold=threshold)
    return table


def _constant(da: xr.DataArray) -> bool:
    values = da.values.reshape(da.sizes["chain"] * da.sizes["draw"], -1)
    scale = max(1.0, float(np.nanmax(np.abs(values)))) if values.size else 1.0
    return bool(np.all(np.isfinite(values))
                and np.ptp(values, axis=0).max() <= 1e-12 * scale)


def _khat(log_density: xr.Dataset, names, alphas) -> float:
    """Largest Pareto k-hat of the power-scaling weights ``(alpha - 1) * log density``."""
    ds = log_density if names is None else log_density[list(names)]
    total = ds.to_stacked_array("term", sample_dims=list(_SAMPLE_DIMS)).sum("term")
    khats = []
    for alpha in alphas:
        _, khat = ((alpha - 1.0) * total).azstats.psislw(dim=list(_SAMPLE_DIMS))
        khats.append(float(khat))
    return max(khats)


def _frame(prior: xr.Dataset, lik: xr.Dataset) -> pd.DataFrame:
    from arviz_base import dataset_to_dataframe

    joined = xr.concat([prior, lik], dim="component").assign_coords(
        component=["prior", "likelihood"])
    return dataset_to_dataframe(joined, sample_dims=["component"]).T


def _diagnose(row, threshold, limit, visible) -> str:
    if not visible:
        return "prior not visible to power-scaling"
    worst = max(row["prior_khat"], row["likelihood_khat"])
    if worst > limit:
        return f"unreliable: Pareto k-hat {worst:.2f} > {limit:.2f}"
    if row["prior"] >= threshold and row["likelihood"] >= threshold:
        return "potential prior-data conflict"
    if row["prior"] > threshold > row["likelihood"]:
        return "potential strong prior / weak likelihood"
    return "✓"
