"""Widgets of different materials: one decay rate per widget, ``alpha="hierarchical"``.

The lecture's model gives every widget one rate (``alpha="shared"``: complete pooling).
If widgets may be made of different materials, each gets its own rate, drawn from a
population of rates::

    mu_alpha  ~ prior                         (the typical, median rate; alpha's prior)
    tau_alpha ~ HalfNormal(1)                 (spread of the log rates)
    log alpha_i ~ Normal(log mu_alpha, tau_alpha)
    N̂1_i ~ Normal(N0_i exp(-alpha_i (t1_i - t0_i)), sigma_i)

sampled non-centred (one measurement per widget informs its own rate weakly), ``mu_alpha``
on the dimensionless log scale of the shared rate
(:class:`~pymc_hier.decay.transforms.ScaledLogTransform`).

**The cliff.** A widget measured at ``y_i`` well above its noise cannot have decayed by more
than ``d_i = log(N0_max / y_i)`` (its initial amount is at most ``N0_max``): its likelihood
in the decay ``alpha_i (t1_i - t0_i)`` falls off a cliff there, a normal tail of width
``w_i = sigma_i / (y_i d_i)`` in ``log`` decay, a thousandth of the prior's width for the
lecture's most precise widgets. Plain non-centred coordinates ``z_i`` hit that wall and NUTS
diverges (3-12% of transitions on the lecture's data). Each widget's coordinate
``z_i`` is therefore mapped to its log decay ``l_i`` through ``l_i = c_i + s(m_i +
tau_alpha z_i - c_i)`` (``c_i = log d_i``, ``m_i = log mu_alpha + log(t1_i - t0_i)``) with

    s(x) = k x - (1 - k) h softplus(-x / h),   k = min(1, w / tau_alpha),  h = 3 w

the identity below the cliff and a slope ``k`` past it (bending over ``h``, a few tail
widths: :data:`CLIFF_BEND`), so the tail is about one unit wide in ``z_i`` too; a
potential adds ``log Normal(l_i | m_i, tau_alpha) + log |dl_i / dz_i| - log Normal(z_i |
0, 1)``, so ``log alpha_i ~ Normal(log mu_alpha, tau_alpha)`` exactly.
Widgets without a sharp cliff (``y_i < 3 sigma_i``) keep ``k = 1``, plain non-centred.
``N0`` and ``t0`` are handled as for the shared rate (``n0="marginal"`` integrates ``N0``
out and :func:`postprocess` draws it exactly afterwards); ``t0="marginal"``, which
integrates ``t0`` for one shared rate, is not offered. There is no exact posterior: the
rates make it ``W + 2``-dimensional.

:func:`pymc_hier.compare_pooling` compares the two (``DECAY.pooling``) by leave-one-out
cross-validation: do the widgets share one material?
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from pymc_hier.decay.data import DecayData
from pymc_hier.decay.draws import n0_given_t0
from pymc_hier.decay.edges import ProbitIntervalTransform
from pymc_hier.decay.model import _widget_likelihood
from pymc_hier.decay.problem import (
    N0_OPTIONS,
    check_alpha_prior,
    check_consistent,
    check_option,
    time_scale,
)
from pymc_hier.decay.transforms import ScaledLogTransform
from pymc_hier.diagnostics import SKIP_ATTR
from pymc_hier.generative import Node, Symbol
from pymc_hier.priors import Prior
from pymc_hier.spec import ModelSpec, prior_variable

__all__ = ["ALPHA_OPTIONS", "HIERARCHICAL_T0", "TAU_PRIOR", "adapt_priors",
           "build_hierarchical", "cliffs", "postprocess_hierarchical", "rate_nodes"]

#: Accepted values of the ``alpha`` option: one rate (the lecture) or one per widget.
ALPHA_OPTIONS = ("shared", "hierarchical")
#: ``t0`` options of the hierarchical rate.
HIERARCHICAL_T0 = ("latent", "known")
#: Width, in tails ``w_i``, of the bend of the cliff map. Measured on the lecture's data
#: (3 seeds, t0 known, nutpie defaults): 1 leaves 10-19 divergences per 4000 draws, 3 none
#: at a smallest bulk ESS of 750-1030, 10 none at 100-150.
CLIFF_BEND = 3.0
#: Default prior of the spread of the log rates: rates within a factor e of each other
#: are typical, a factor e**2 possible.
TAU_PRIOR = Prior("HalfNormal", sigma=1.0)


def adapt_priors(defaults: dict, options) -> dict:
    """Return the priors of ``options`` (the family's ``adapt_priors``).

    With ``alpha="hierarchical"``: ``mu_alpha`` (the shared rate's prior) and ``tau_alpha``.
    """
    if options.get("alpha", "shared") != "hierarchical":
        return dict(defaults)
    return {"mu_alpha": defaults["alpha"], "tau_alpha": TAU_PRIOR}


def build_hierarchical(data: DecayData, *, priors, t0: str = "latent",
                       n0: str = "marginal") -> pm.Model:
    """Build the decay model with one rate per widget (see the module docstring).

    Parameters
    ----------
    data : DecayData
        The widgets.
    priors : mapping
        ``{"mu_alpha": Prior, "tau_alpha": Prior}``, resolved.
    t0 : {"latent", "known"}
        As for :func:`pymc_hier.decay_model`.
    n0 : {"marginal", "latent"}
        As for :func:`pymc_hier.decay_model`.

    Returns
    -------
    pymc.Model
        Free ``mu_alpha``, ``tau_alpha``, ``alpha_z`` (and ``t0``, ``N1`` as the options
        say); deterministic ``alpha`` (dim ``widget``); observed ``n_measured``.
    """
    if t0 not in HIERARCHICAL_T0:
        raise ValueError(f"t0: with alpha='hierarchical' use one of "
                         f"{', '.join(map(repr, HIERARCHICAL_T0))} ('marginal' integrates t0 "
                         f"for one shared rate), got {t0!r}")
    check_option("n0", n0, N0_OPTIONS)
    if t0 == "known" and not data.has_t0:
        raise ValueError("t0: 'known' needs exact manufacture times, but data.t0 is None "
                         "(use t0='latent' to infer them within their days)")
    lower, upper = check_alpha_prior(priors["mu_alpha"])
    spread = priors["tau_alpha"]
    if not spread.support()[0] >= 0:
        raise ValueError(f"priors['tau_alpha']: a spread needs a prior on tau_alpha >= 0, got "
                         f"{spread!r}")
    check_consistent(data)
    mu_kwargs = {}
    if lower == 0 and upper == np.inf:
        mu_kwargs = {"transform": ScaledLogTransform(time_scale(data)),
                     "default_transform": None}
    y = np.asarray(data.n_measured, dtype=float)
    with pm.Model(coords={"widget": np.asarray(data.widget)}) as model:
        t_measured = pm.Data("t_measured", data.t_measured, dims="widget")
        sigma = pm.Data("sigma", data.sigma, dims="widget")
        n0_max = pm.Data("n0_max", data.n0_max)
        mu = prior_variable("mu_alpha", priors["mu_alpha"], **mu_kwargs)
        tau = prior_variable("tau_alpha", spread)
        if t0 == "known":
            t_made = pm.Data("t0", data.t0, dims="widget")
        else:
            start = pm.Data("day_start", data.day_start, dims="widget")
            end = pm.Data("day_end", data.day_end, dims="widget")
            t_made = pm.Uniform("t0", lower=start, upper=end, dims="widget",
                                transform=ProbitIntervalTransform(),
                                default_transform=None)
        z = pm.Normal("alpha_z", 0.0, 1.0, dims="widget")
        dt = t_measured - t_made
        log_decay = _log_decay(z, mu, tau, dt, *cliffs(y, np.asarray(data.sigma, dtype=float),
                                                       data.n0_max))
        pm.Deterministic("alpha", pt.exp(log_decay) / dt, dims="widget")
        _widget_likelihood(n0, pt.exp(log_decay), n0_max, sigma, y)
    return model


def cliffs(y, sigma, n0_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each widget's cliff ``c_i``, tail width ``w_i`` and data width ``v_i``.

    ``c_i`` is the cliff in log decay, ``w_i`` the tail's width past it and ``v_i`` the
    data's width below it.

    Below its cliff a widget's likelihood grows like ``exp(d)`` (the initial amount needed
    grows with the decay ``d``): it falls by ``e`` within about ``v_i = 1 / d_i`` in log
    decay. Widgets measured within three standard deviations of 0 (or above ``n0_max``)
    have no sharp cliff: ``w_i = v_i = inf`` (the map is then plain non-centred).
    """
    y, sigma = np.asarray(y, dtype=float), np.asarray(sigma, dtype=float)
    sharp = (y > 3.0 * sigma) & (y < n0_max)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(sharp, np.log(n0_max / y), 1.0)
        c = np.where(sharp, np.log(d), 0.0)
        w = np.where(sharp, sigma / (y * d), np.inf)
        v = np.where(sharp, 1.0 / d, np.inf)
    return c, w, v


def _log_decay(z, mu, tau, dt, c, w, v):
    """Log decay of every widget from its coordinate ``z`` (the cliff map, with its potential).

    Adds the potential ``alpha_cliff`` that makes ``log alpha_i ~ Normal(log mu, tau)``.
    """
    m = pt.log(mu) + pt.log(dt)
    finite = np.isfinite(w)
    w_safe, v_safe = np.where(finite, w, 1.0), np.where(finite, v, 1.0)
    # the conditional sd given the population, as in the normal family's "noncentered"
    scale = pt.switch(finite, tau * v_safe / pt.sqrt(v_safe**2 + tau**2), tau)
    x = m + scale * z - c
    k = pt.switch(finite, pt.minimum(1.0, w_safe / scale), 1.0)
    h = CLIFF_BEND * w_safe
    s = k * x - (1.0 - k) * h * pt.softplus(-x / h)
    slope = k + (1.0 - k) * pt.sigmoid(-x / h)
    log_decay = c + s
    correction = (pm.logp(pm.Normal.dist(m, tau), log_decay) + pt.log(scale * slope)
                  - pm.logp(pm.Normal.dist(0.0, 1.0), z))
    pm.Potential("alpha_cliff", correction.sum())
    return log_decay


def rate_nodes(spec: ModelSpec, params) -> list[Node]:
    """Return the generative description's nodes of the rates (``params`` formats a prior)."""
    unit = spec.data.time_unit
    mu, tau = spec.priors["mu_alpha"], spec.priors["tau_alpha"]
    return [
        Node("mu_alpha", "latent", Symbol("μ", ("α",)), dist=mu.dist, params=params(mu),
             description="typical decay rate", unit=f"1/{unit}"),
        Node("tau_alpha", "latent", Symbol("τ", ("α",)), dist=tau.dist, params=params(tau),
             description="spread of the log rates"),
        Node("alpha", "latent", Symbol("α"), dist="LogNormal",
             params=(("mu", "log(mu_alpha)"), ("sigma", "tau_alpha")), dims=("widget",),
             description="decay rate", unit=f"1/{unit}"),
    ]


def postprocess_hierarchical(post: xr.Dataset, model: pm.Model, spec: ModelSpec, *,
                             rng: np.random.Generator) -> xr.Dataset:
    """Add exact ``N0`` draws given each widget's rate and ``t0`` (``n0="marginal"``)."""
    if spec.options["n0"] != "marginal" or "N0" in post:
        return post
    alpha = post["alpha"].transpose("chain", "draw", "widget")
    t1 = np.asarray(model["t_measured"].get_value(), dtype=float)
    sigma = np.asarray(model["sigma"].get_value(), dtype=float)
    if "t0" in post:
        t_made = post["t0"].transpose("chain", "draw", "widget").values
    else:
        t_made = np.asarray(model["t0"].get_value(), dtype=float)
    decay = alpha.values * (t1 - t_made)
    n0 = n0_given_t0(np.asarray(spec.data.n_measured, dtype=float), sigma, decay,
                     float(np.log(model["n0_max"].get_value())), rng)
    post["N0"] = xr.DataArray(
        n0, dims=alpha.dims, coords=alpha.coords,
        attrs={"method": "exact conditional draw given alpha_i, t0 and the measurement "
                         "(n0='marginal')", SKIP_ATTR: "skip"})
    return post
