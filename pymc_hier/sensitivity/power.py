"""Power-scaling prior sensitivity in one call: :func:`prior_sensitivity`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from pymc_hier.exceptions import PowerScalingBlindWarning

__all__ = ["PowerScalingBlindWarning", "prior_sensitivity"]


def prior_sensitivity(idata, model, *, var_names: Sequence[str] | None = None,
                      threshold: float = 0.05):
    """Power-scaling prior and likelihood sensitivity (ArviZ ``psense_summary``).

    The ``log_prior`` and ``log_likelihood`` groups are computed with PyMC when ``idata``
    lacks them (the input is not modified).

    Parameters
    ----------
    idata : xarray.DataTree
        A fit with a ``posterior`` group.
    model : pm.Model
        The model that was fitted.
    var_names : sequence of str, optional
        Posterior variables to report; the model's free and deterministic variables found
        in the posterior by default.
    threshold : float, default 0.05
        Sensitivity above which a prior (or likelihood) counts as influential.

    Returns
    -------
    pandas.DataFrame
        One row per variable (element): ``prior`` and ``likelihood`` sensitivity and a
        ``diagnosis``.

    Warns
    -----
    PowerScalingBlindWarning
        For free variables whose prior log-density is constant over the draws (a Uniform
        prior: power-scaling it changes nothing, so the diagnostic is blind to its bounds), and
        for posterior variables that are not model variables (e.g. draws of a marginalised
        parameter added after sampling), whose prior power-scaling cannot reach.
    """
    import pymc as pm
    from arviz_stats import psense_summary

    tree = idata.copy()
    if "posterior" not in tree.children:
        raise ValueError("idata: needs a posterior group")
    if "log_prior" not in tree.children:
        tree = pm.stats.compute_log_prior(tree, model=model, extend_inferencedata=True,
                                    progressbar=False)
    if "log_likelihood" not in tree.children:
        tree = pm.stats.compute_log_likelihood(tree, model=model, extend_inferencedata=True,
                                         progressbar=False)
    posterior = tree["posterior"]
    known = [v.name for v in model.free_RVs] + [v.name for v in model.deterministics]
    if var_names is None:
        var_names = [n for n in known if n in posterior.data_vars]
    blind, visible = [], []
    log_prior = tree["log_prior"]
    for rv in model.free_RVs:
        if rv.name not in log_prior.data_vars:
            continue
        lp = log_prior[rv.name].values
        flat = lp.reshape(lp.shape[0] * lp.shape[1], -1)
        if np.all(np.isfinite(lp)) and np.ptp(flat, axis=0).max() <= 1e-12 * max(
                1.0, float(np.abs(flat).max())):
            blind.append(rv.name)
        else:
            visible.append(rv.name)
    unseen = [f"{n} (constant log prior, e.g. Uniform)" for n in blind]
    unseen += [f"{n} (not a model variable)" for n in posterior.data_vars if n not in known]
    if unseen:
        warnings.warn(
            "power-scaling cannot see the prior of " + ", ".join(unseen) + ": scaling a "
            "constant or absent log-density changes nothing, so the diagnostic is blind to "
            "these priors and their bounds (sweep them with prior_sweep instead)",
            PowerScalingBlindWarning, stacklevel=2,
        )
    if not visible:
        return _likelihood_only(tree, list(var_names))
    return psense_summary(tree, var_names=list(var_names), threshold=threshold,
                          prior_var_names=visible)


def _likelihood_only(tree, var_names):
    """Likelihood sensitivity alone, for models whose priors power-scaling cannot see."""
    import pandas as pd
    from arviz_base import dataset_to_dataframe
    from arviz_stats import psense

    lik = psense(tree, var_names=var_names, group="likelihood")
    df = dataset_to_dataframe(lik.expand_dims(component=["likelihood"]),
                              sample_dims=["component"]).T
    out = pd.DataFrame({"prior": np.nan, "likelihood": df["likelihood"]}, index=df.index)
    out["diagnosis"] = "prior not visible to power-scaling"
    return out.round(3)
