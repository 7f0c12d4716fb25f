"""The hierarchical normal model (eight schools and meta-analysis): two factories.

Each group ``j`` reports an estimate ``y_j`` with a known standard error ``sigma_j``::

    y_j     ~ Normal(theta_j, sigma_j)       (sigma_j fixed: pm.Data "sigma")
    theta_j ~ Normal(mu, tau)                (theta_new: a new, unseen group)
    mu, tau ~ a preset or user priors

``tau`` is sampled through a map fitted to the quantiles of its exact marginal posterior
(:func:`tau_map`), where that posterior exists, except in the centered form, which shows
the funnel as written. Three parametrizations of the same model (option
``parametrization``), and a scalable marginal form:

``"noncentered"`` (default)
    ``theta_j = mu + tau * sigma_j / r_j * theta_scaled_j`` with
    ``theta_scaled_j ~ Normal(0, r_j / sigma_j)`` and ``r_j = sqrt(sigma_j**2 + tau**2)``.
    It implies ``theta_j ~ Normal(mu, tau)`` exactly. Like the textbook form it removes the
    funnel at small tau (``theta_scaled`` has prior scale 1 there); unlike it, the scale
    ``tau * sigma_j / r_j`` equals the conditional posterior sd of ``theta_j``, so the
    *inverted* funnel at large tau (where the data pin ``theta_j`` and the textbook
    ``theta_tilde_j`` has width ``sigma_j / tau``) is gone too: no divergences at nutpie's
    default settings for either prior preset, and about 1.5x (default priors) to 2x (BDA's
    flat priors) the ESS of tau per draw of the textbook form.
``"noncentered_standard"``
    The textbook (and Stan's) program: ``theta = mu + tau * theta_tilde`` with
    ``theta_tilde ~ Normal(0, 1)``. On eight schools nutpie's defaults give a few
    divergences per 4000 draws in the large-tau tail (``target_accept=0.9`` removes them).
``"centered"``
    ``theta ~ Normal(mu, tau)`` sampled directly, offered for teaching: the funnel between
    ``tau`` and ``theta`` makes NUTS diverge on weak data.

The new group's effect ``theta_new = mu + tau * theta_new_tilde`` (``theta_new_tilde ~
Normal(0, 1)``; sampled directly in the centered form) is part of every form.

``"auto"``
    Each group in the form that suits it: centred where its data outweigh the population
    (``sigma_j`` below a typical ``tau``, the exact posterior median;
    :func:`~pymc_hier.normal.problem.centered_groups`), non-centred elsewhere (scaled as
    in ``"noncentered"``). The groups chosen are recorded in the option ``centered`` (and
    so in a fit's provenance); passing ``centered=[names]`` chooses them by hand.
    ``theta_raw`` is the sampler's vector: ``theta_j`` itself for centred groups,
    ``theta_scaled_j`` for the others. On data mixing precise and vague groups it samples
    without divergences at two to four times the bulk ESS per draw of ``"noncentered"``
    (tests/test_parametrization.py).

``"marginal"`` (for many groups: 10**5 and more)
    ``theta`` is integrated out analytically: ``y_j ~ Normal(mu, sqrt(sigma_j**2 + tau**2))``.
    NUTS samples only ``mu`` and ``tau`` (two dimensions whatever J, so the trees stay
    shallow and a gradient costs O(J) with small constants). The family's post-processing
    (called by :func:`pymc_hier.fit`) then draws ``theta`` from its exact normal conditional
    given each draw of ``(mu, tau)`` and ``theta_new ~ Normal(mu, tau)``, so the posterior
    has the same variables as the other forms. Storing ``theta`` takes chains x draws x J
    x 8 bytes (3.2 GB for 10**5 groups x 4000 draws); option ``theta_storage="float32"``
    halves that and ``"none"`` skips it (draws are generated in bounded blocks either way).
    The model itself has no ``theta``: its posterior predictive replicates ``y`` for *new*
    effects (``y_rep_j ~ Normal(mu, sqrt(sigma_j**2 + tau**2))``, the "mixed" predictive of
    Gelman, Meng and Stern 1996), not for the fitted ``theta_j``.
Levels of pooling (option ``pooling``) for comparing with the hierarchy
(:func:`pymc_hier.compare_pooling`):

``"partial"`` (default)
    The hierarchy above.
``"complete"``
    One effect for every group: ``theta_j = mu`` (``tau = 0``), ``mu`` with its prior.
``"none"``
    Independent effects ``theta_j ~`` prior ``"theta"`` (by default the prior on ``mu``
    ten times wider: :func:`~pymc_hier.normal.problem.no_pooling_prior`); no ``mu``, no
    ``tau`` and no ``theta_new``.

``parametrization`` and ``theta_storage`` apply to partial pooling only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from pymc_hier.exceptions import PriorDominatedWarning
from pymc_hier.normal.data import SchoolsData
from pymc_hier.normal.kernels import THETA_STORAGE
from pymc_hier.normal.problem import (
    AUTO,
    PARAMETRIZATIONS,
    POOLING,
    SCALABLE_PARAMETRIZATIONS,
    check_proper,
    is_flat,
)
from pymc_hier.quantile_map import QuantileTransform, quantile_map
from pymc_hier.spec import prior_variable

__all__ = ["build", "tau_map"]

#: Grid of the exact posterior of tau the sampler's map follows (coarser than the exact
#: reference's 4001 nodes: the map only chooses coordinates).
MAP_GRID = 1001


def tau_map(data: SchoolsData, priors):
    """Arguments of the :class:`~pymc_hier.quantile_map.QuantileTransform` of ``tau``, or None.

    ``tau`` is sampled through a map that follows the quantiles of its exact marginal
    posterior (:func:`pymc_hier.hierarchical_normal_posterior`, the same in every
    parametrization), so NUTS meets a near standard normal: the long tails of ``log tau``
    (towards 0 where the data cannot tell small scales apart, towards infinity under a
    heavy-tailed prior) made the marginal form diverge. None where the exact posterior does
    not apply (a prior on ``mu`` that is neither Normal nor Flat, a prior on ``tau`` with a
    bounded support): ``tau`` is then sampled on PyMC's default log scale.
    """
    from pymc_hier.normal.exact import hierarchical_normal_posterior

    lower, upper = priors["tau"].support()
    if np.ndim(lower) or np.ndim(upper) or lower != 0 or upper != np.inf:
        return None
    try:
        post = hierarchical_normal_posterior(data, priors=dict(priors), grid_size=MAP_GRID)
    except ValueError:
        return None

    def log_density(x):
        with np.errstate(divide="ignore"):
            return np.log(post.pdf(x, var="tau"))

    return quantile_map(lambda q: post.quantile(q, var="tau"), log_density, post)


def build(data: SchoolsData, *, priors, parametrization: str = "noncentered",
          theta_storage: str = "float64", pooling: str = "partial",
          centered=None) -> pm.Model:
    """Build the hierarchical normal model's PyMC graph (no spec; the factories add it).

    Parameters
    ----------
    data : SchoolsData
        Estimates and standard errors.
    priors : mapping
        ``{"mu": Prior, "tau": Prior}`` (``{"mu"}`` for complete pooling, ``{"theta"}``
        for none), resolved.
    parametrization, theta_storage, pooling, centered
        See :func:`pymc_hier.hierarchical_normal_model`.

    Returns
    -------
    pymc.Model
    """
    if pooling not in POOLING:
        raise ValueError(f"pooling: unknown value {pooling!r} (accepted: "
                         f"{', '.join(map(repr, POOLING))})")
    if pooling != "partial":
        if theta_storage != "float64":
            raise ValueError(f"theta_storage: only applies to partial pooling with "
                             f"parametrization='marginal' (got pooling={pooling!r})")
        return _build_pooled(data, priors, pooling)
    accepted = PARAMETRIZATIONS + SCALABLE_PARAMETRIZATIONS + (AUTO,)
    if parametrization not in accepted:
        raise ValueError(f"parametrization: unknown value {parametrization!r} (accepted: "
                         f"{', '.join(map(repr, accepted))})")
    if theta_storage not in THETA_STORAGE:
        raise ValueError(f"theta_storage: unknown value {theta_storage!r} (accepted: "
                         f"{', '.join(map(repr, THETA_STORAGE))})")
    marginal = parametrization in SCALABLE_PARAMETRIZATIONS
    if theta_storage != "float64" and not marginal:
        raise ValueError(f"theta_storage: only applies to parametrization='marginal' "
                         f"(got parametrization={parametrization!r})")
    n = data.n_groups
    check_proper(n, mu_flat=is_flat(priors["mu"]), tau_flat=is_flat(priors["tau"]))
    if n == 1:
        warnings.warn(
            "a single group cannot inform the between-group scale tau: its posterior is "
            "prior-dominated (with a flat prior on mu it equals the prior exactly)",
            PriorDominatedWarning, stacklevel=4,
        )
    dim = data.dim
    tau_kwargs = {}
    # the centered form is sampled as written (tau on a log scale): it is there to show the
    # funnel
    pilot = None if parametrization == "centered" else tau_map(data, priors)
    if pilot is not None:
        tau_kwargs = {"transform": QuantileTransform(*pilot), "default_transform": None}
    with pm.Model(coords={dim: list(data.names)}) as model:
        # sigma has y's length, fixed: its static shape spares the log density a run-time
        # shape check (SpecifyShape: 1.4 s of Numba compile on first use)
        sigma = pm.Data("sigma", np.asarray(data.sigma), dims=dim,
                        shape=(data.n_groups,))
        mu = prior_variable("mu", priors["mu"])
        tau = prior_variable("tau", priors["tau"], **tau_kwargs)
        if marginal:
            pm.Normal("y", mu, pm.math.sqrt(sigma**2 + tau**2), observed=np.asarray(data.y),
                      dims=dim)
        elif parametrization == "centered":
            theta = pm.Normal("theta", mu, tau, dims=dim)
            pm.Normal("theta_new", mu, tau)
        elif parametrization == AUTO:
            chosen = _centered_mask(data, centered)
            # one vector: theta_j itself where centred, the scaled non-centred coordinate
            # of "noncentered" elsewhere (ratio = r_j / sigma_j)
            ratio = pm.math.sqrt(sigma**2 + tau**2) / sigma
            raw = pm.Normal("theta_raw", chosen * mu, chosen * tau + (1.0 - chosen) * ratio,
                            dims=dim)
            theta = pm.Deterministic(
                "theta", chosen * raw + (1.0 - chosen) * (mu + tau / ratio * raw), dims=dim)
            theta_new_tilde = pm.Normal("theta_new_tilde", 0.0, 1.0)
            pm.Deterministic("theta_new", mu + tau * theta_new_tilde)
        else:
            if parametrization == "noncentered":
                ratio = pm.math.sqrt(sigma**2 + tau**2) / sigma  # r_j / sigma_j >= 1
                raw = pm.Normal("theta_scaled", 0.0, ratio, dims=dim)
                theta = pm.Deterministic("theta", mu + tau / ratio * raw, dims=dim)
            else:
                raw = pm.Normal("theta_tilde", 0.0, 1.0, dims=dim)
                theta = pm.Deterministic("theta", mu + tau * raw, dims=dim)
            theta_new_tilde = pm.Normal("theta_new_tilde", 0.0, 1.0)
            pm.Deterministic("theta_new", mu + tau * theta_new_tilde)
        if not marginal:
            pm.Normal("y", theta, sigma, observed=np.asarray(data.y), dims=dim)
    return model




def _centered_mask(data: SchoolsData, centered) -> np.ndarray:
    if centered is None:
        raise ValueError("centered: parametrization='auto' needs the groups to centre (the "
                         "family chooses them; build through hierarchical_normal_model)")
    if isinstance(centered, str) or not all(isinstance(c, str) for c in centered):
        raise ValueError(f"centered: expected a list of group names, got {centered!r}")
    unknown = sorted(set(centered) - set(data.names))
    if unknown:
        raise ValueError(f"centered: {unknown} are not groups of the data")
    return np.isin(np.asarray(data.names), list(centered)).astype(float)


def _build_pooled(data: SchoolsData, priors, pooling: str) -> pm.Model:
    """Complete pooling (``theta_j = mu``) or none (independent ``theta_j``)."""
    dim = data.dim
    with pm.Model(coords={dim: list(data.names)}) as model:
        sigma = pm.Data("sigma", np.asarray(data.sigma), dims=dim, shape=(data.n_groups,))
        if pooling == "complete":
            mu = prior_variable("mu", priors["mu"])
            theta = pm.Deterministic("theta", mu * pt.ones(data.n_groups), dims=dim)
            pm.Deterministic("theta_new", mu)
        else:
            theta = prior_variable("theta", priors["theta"], dims=dim)
        pm.Normal("y", theta, sigma, observed=np.asarray(data.y), dims=dim)
    return model
