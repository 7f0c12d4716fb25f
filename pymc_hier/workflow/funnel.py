"""Which groups suit the centred form: :func:`parametrization_advice`.

In a normal hierarchy ``theta_j ~ Normal(mu, tau)`` with data ``y_j ~ Normal(theta_j,
sigma_j)``, a group whose standard error is below the population scale (``sigma_j <
tau``) has its effect pinned by its own data: sampled non-centred, its standardised
coordinate ``(theta_j - mu) / tau`` has width about ``sigma_j / tau`` (an inverted funnel),
while sampled centred it has none. Where ``sigma_j > tau`` the prior dominates and the
centred form has the funnel between ``theta_j`` and ``log tau`` that stops NUTS (see
:func:`pymc_hier.plot_funnel`). ``tau`` is unknown, so the advice weighs it by its
posterior: ``P(tau > sigma_j | y)``, centred where that is above one half
(:func:`pymc_hier.normal.problem.centered_groups` at the posterior median, the rule
``hierarchical_normal_model(parametrization="auto")`` applies before sampling).

The hierarchy is read off the model's description (:func:`pymc_hier.describe_model`), so
any PyMC model with one is advised; where the data are not one estimate per group with a
known standard error (many observations per group), each group's data standard error is
estimated from the fit: ``1 / sigma_j**2 = 1 / sd(theta_j | y)**2 - 1 / tau**2``.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import xarray as xr

from pymc_hier.describe import describe_model
from pymc_hier.reports.structure import hierarchies

__all__ = ["parametrization_advice"]

_SAMPLE_DIMS = ("chain", "draw")


def _data_sigma(idata: xr.DataTree, name: str | None, dim: str) -> xr.DataArray | None:
    if name is None:
        return None
    for group in ("constant_data", "observed_data"):
        if group in idata.children and name in idata[group].data_vars:
            da = idata[group][name]
            if da.dims == (dim,):
                return da
    return None


def parametrization_advice(idata: xr.DataTree, model: pm.Model) -> xr.Dataset:
    """Advise, group by group, the centred or the non-centred form (module docstring).

    Parameters
    ----------
    idata : xarray.DataTree
        A fit of ``model`` (any parametrisation, exact draws included).
    model : pymc.Model
        A model with a normal hierarchy ``theta_j ~ Normal(mu, tau)``.

    Returns
    -------
    xarray.Dataset
        Along the group dim: ``sigma`` (each group's data standard error, known or
        estimated), ``p_tau_above_sigma`` (``P(tau > sigma_j | y)``) and ``advice``
        (``"centered"`` or ``"noncentered"``); attrs ``effect``, ``scale``,
        ``tau_median``, ``sigma_source`` (``"data"`` or ``"estimated"``) and ``rule``.

    Raises
    ------
    ValueError
        When the model has no normal hierarchy, or its effects or scale are not in the
        posterior.

    Examples
    --------
    >>> import pymc_hier as ph
    >>> model = ph.eight_schools_model()
    >>> idata = ph.fit(model, sampler="exact", random_seed=1, draws=200, chains=2)
    >>> ph.parametrization_advice(idata, model)["advice"].values.tolist().count("centered")
    0
    """
    if not isinstance(idata, xr.DataTree) or "posterior" not in idata.children:
        raise TypeError("idata: expected a fit (an xarray.DataTree with a posterior)")
    if not isinstance(model, pm.Model):
        raise TypeError(f"model: expected a pymc.Model, got {type(model).__name__}")
    found = hierarchies(describe_model(model))
    post = idata["posterior"].to_dataset()
    found = [h for h in found if h.effect in post and h.scale in post]
    if not found:
        raise ValueError("model: no normal hierarchy theta_j ~ Normal(mu, tau) whose effects "
                         "and scale are in the posterior")
    h = found[0]
    theta, tau = post[h.effect], post[h.scale]
    dim = next(d for d in theta.dims if d not in _SAMPLE_DIMS)
    sigma = _data_sigma(idata, h.sigma, dim)
    source = "data"
    if sigma is None:
        source = "estimated"
        sd = theta.std(_SAMPLE_DIMS)
        tau_med = float(tau.median())
        with np.errstate(divide="ignore", invalid="ignore"):
            prec = 1.0 / sd**2 - 1.0 / tau_med**2
            sigma = xr.where(prec > 0, 1.0 / np.sqrt(prec), np.inf)
    sigma = sigma.astype(float)
    draws = tau.values.reshape(-1)
    p_above = xr.DataArray((draws[:, None] > sigma.values[None, :]).mean(axis=0),
                           dims=(dim,), coords={dim: theta[dim].values})
    advice = xr.where(p_above > 0.5, "centered", "noncentered")
    return xr.Dataset(
        {"sigma": sigma.drop_vars([c for c in sigma.coords if c != dim])
            .assign_attrs(description="standard error of the group's data"),
         "p_tau_above_sigma": p_above.assign_attrs(
             description=f"posterior probability that {h.scale} exceeds sigma_j"),
         "advice": advice.assign_attrs(description="the form that suits the group")},
        attrs={"effect": h.effect, "scale": h.scale, "tau_median": float(np.median(draws)),
               "sigma_source": source,
               "rule": f"centred where P({h.scale} > sigma_j | y) > 0.5: the group's data "
                       "outweigh the population"})
