"""The hierarchical normal model (eight schools and meta-analysis): two factories.

Each group ``j`` reports an estimate ``y_j`` with a known standard error ``sigma_j``::

    y_j     ~ Normal(theta_j, sigma_j)       (sigma_j fixed: pm.Data "sigma")
    theta_j ~ Normal(mu, tau)                (theta_new: a new, unseen group)
    mu, tau ~ a preset or user priors

Three parametrizations of the same model (option ``parametrization``), and a scalable
marginal form:

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

``"marginal"`` (for many groups: 10**5 and more)
    ``theta`` is integrated out analytically: ``y_j ~ Normal(mu, sqrt(sigma_j**2 + tau**2))``.
    NUTS samples only ``mu`` and ``tau`` (two dimensions whatever J, so the trees stay
    shallow and a gradient costs O(J) with small constants). :func:`postprocess_posterior`
    (called by :func:`pymc_hier.fit`) then draws ``theta`` from its exact normal conditional
    given each draw of ``(mu, tau)`` and ``theta_new ~ Normal(mu, tau)``, so the posterior
    has the same variables as the other forms. Storing ``theta`` takes chains x draws x J
    x 8 bytes (3.2 GB for 10**5 groups x 4000 draws); option ``theta_storage="float32"``
    halves that and ``"none"`` skips it (draws are generated in bounded blocks either way).
    The model itself has no ``theta``: its posterior predictive replicates ``y`` for *new*
    effects (``y_rep_j ~ Normal(mu, sqrt(sigma_j**2 + tau**2))``, the "mixed" predictive of
    Gelman, Meng and Stern 1996), not for the fitted ``theta_j``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pymc as pm

from pymc_hier.diagnostics import SKIP_ATTR
from pymc_hier.exceptions import PriorDominatedWarning
from pymc_hier.family import (
    ModelSpec,
    current_priors,
    finish_model,
    get_spec,
    prior_variable,
)
from pymc_hier.normal.data import EIGHT_SCHOOLS
from pymc_hier.normal.exact import hierarchical_normal_posterior
from pymc_hier.normal.kernels import THETA_STORAGE, draw_theta
from pymc_hier.normal.problem import (
    PARAMETRIZATIONS,
    SCALABLE_PARAMETRIZATIONS,
    as_schools_data,
    check_proper,
    is_flat,
    resolve_schools_priors,
)

__all__ = [
    "eight_schools_model",
    "exact_posterior",
    "exact_variables",
    "hierarchical_normal_model",
    "postprocess_posterior",
]

def hierarchical_normal_model(data, *, priors=None, pgm=None, hyper_data: bool = False,
                              parametrization: str = "noncentered",
                              theta_storage: str = "float64") -> pm.Model:
    """Build the hierarchical normal model for groups with known standard errors.

    Parameters
    ----------
    data : SchoolsData or mapping or DataFrame or Dataset
        Estimates ``y`` and standard errors ``sigma``, one per group (see
        :func:`as_schools_data`). The group dimension is ``data.dim``.
    priors : str or mapping, optional
        A preset name, ``"default"`` (mu ~ Normal(0, 5), tau ~ HalfCauchy(5)) or ``"bda"``
        (p(mu, tau) ∝ 1), or a mapping of :class:`~pymc_hier.Prior` by parameter (``mu``,
        ``tau``) merged into the default preset.
    pgm : str or path, optional
        Path prefix to export the model's PGM to.
    hyper_data : bool, default False
        Register prior hyperparameters as ``pm.Data`` (for prior sweeps).
    parametrization : {"noncentered", "noncentered_standard", "centered", "marginal"}
        ``"noncentered"`` (default) samples ``theta_scaled``, effects rescaled by their
        conditional posterior sd; ``"noncentered_standard"`` samples the textbook
        ``theta_tilde ~ Normal(0, 1)``; ``"centered"`` samples ``theta`` directly and is
        offered for teaching: its funnel makes NUTS diverge on weak data. All three define
        the same posterior (see the module docstring). ``"marginal"`` integrates ``theta``
        out and samples only ``mu`` and ``tau`` (for 10**5 groups and more); ``theta`` and
        ``theta_new`` are then drawn exactly by :func:`postprocess_posterior`.
    theta_storage : {"float64", "float32", "none"}
        With ``parametrization="marginal"`` only: dtype of the ``theta`` draws added after
        sampling, or ``"none"`` to add only ``theta_new`` (chains x draws x groups values
        otherwise).

    Returns
    -------
    pymc.Model
        With free variables ``mu``, ``tau`` and the effects, deterministic or free
        ``theta`` (dim ``data.dim``) and ``theta_new``, fixed data ``sigma`` and observed
        ``y``; the marginal form has only ``mu`` and ``tau`` (``theta`` and ``theta_new``
        come from :func:`postprocess_posterior`).

    Raises
    ------
    ValueError
        For invalid data, an unknown preset, parametrization or theta_storage (or
        theta_storage set without ``parametrization="marginal"``), a tau prior that allows
        tau <= 0, or flat priors that give an improper posterior for this many groups.

    Warns
    -----
    PriorDominatedWarning
        With a single group: the data then say (almost) nothing about tau.

    Examples
    --------
    >>> from pymc_hier import EIGHT_SCHOOLS, hierarchical_normal_model
    >>> model = hierarchical_normal_model(EIGHT_SCHOOLS, priors="bda")
    >>> sorted(v.name for v in model.free_RVs)
    ['mu', 'tau', 'theta_new_tilde', 'theta_scaled']
    """
    factory = "hierarchical_normal_model"
    return _build(data, factory=factory, priors=priors, pgm=pgm, hyper_data=hyper_data,
                  parametrization=parametrization, theta_storage=theta_storage)


def eight_schools_model(data=EIGHT_SCHOOLS, *, priors=None, pgm=None,
                        hyper_data: bool = False,
                        parametrization: str = "noncentered",
                        theta_storage: str = "float64") -> pm.Model:
    """Build the eight-schools model (BDA section 5.5); see :func:`hierarchical_normal_model`.

    Parameters
    ----------
    data : SchoolsData, default EIGHT_SCHOOLS
        The table of estimated coaching effects and standard errors.
    priors, pgm, hyper_data, parametrization, theta_storage
        As for :func:`hierarchical_normal_model`.

    Returns
    -------
    pymc.Model
    """
    return _build(data, factory="eight_schools_model", priors=priors, pgm=pgm,
                  hyper_data=hyper_data, parametrization=parametrization,
                  theta_storage=theta_storage)


def _build(data, *, factory, priors, pgm, hyper_data, parametrization,
           theta_storage) -> pm.Model:
    data = as_schools_data(data)
    accepted = PARAMETRIZATIONS + SCALABLE_PARAMETRIZATIONS
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
    priors = resolve_schools_priors(priors, factory=factory)
    n = data.n_groups
    check_proper(n, mu_flat=is_flat(priors["mu"]), tau_flat=is_flat(priors["tau"]))
    if n == 1:
        warnings.warn(
            "a single group cannot inform the between-group scale tau: its posterior is "
            "prior-dominated (with a flat prior on mu it equals the prior exactly)",
            PriorDominatedWarning, stacklevel=3,
        )
    dim = data.dim
    with pm.Model(coords={dim: list(data.names)}) as model:
        sigma = pm.Data("sigma", np.asarray(data.sigma), dims=dim)
        mu = prior_variable("mu", priors["mu"], hyper_data=hyper_data)
        tau = prior_variable("tau", priors["tau"], hyper_data=hyper_data)
        if marginal:
            pm.Normal("y", mu, pm.math.sqrt(sigma**2 + tau**2), observed=np.asarray(data.y),
                      dims=dim)
        elif parametrization == "centered":
            theta = pm.Normal("theta", mu, tau, dims=dim)
            pm.Normal("theta_new", mu, tau)
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
    options = {"parametrization": parametrization, "hyper_data": bool(hyper_data)}
    if marginal:
        options["theta_storage"] = theta_storage
    spec = ModelSpec(factory=factory, options=options,
                     priors=MappingProxyType(priors), data=data)
    return finish_model(model, spec, pgm=pgm)


def exact_posterior(model: pm.Model, *, hyper: Mapping | None = None, **kwargs):
    """Return the exact posterior of a model built here (``fit(sampler="exact")``).

    Every parametrization has the same posterior; the model's current prior
    hyperparameters are used (``pm.set_data`` may have changed them).

    Parameters
    ----------
    model : pymc.Model
        Built by :func:`hierarchical_normal_model` or :func:`eight_schools_model`.
    hyper : mapping, optional
        Values of the model's prior hyperparameters held as ``pm.Data`` (``"tau__beta"``)
        to use instead of the current ones; the model is not modified.
    **kwargs
        Passed to :func:`pymc_hier.exact.hierarchical_normal_posterior` (``grid_size``).

    Returns
    -------
    pymc_hier.exact.HierarchicalNormalPosterior
    """
    spec = get_spec(model)
    return hierarchical_normal_posterior(spec.data, priors=current_priors(model, spec, hyper),
                                         **kwargs)


def exact_variables(model: pm.Model) -> tuple[str, ...]:
    """Posterior variables of :func:`exact_posterior`'s draws."""
    return ("mu", "tau", "theta", "theta_new")


def postprocess_posterior(idata, model: pm.Model, *, random_seed):
    """Add exact ``theta`` and ``theta_new`` draws to a fit of the marginal form.

    Called by :func:`pymc_hier.fit` after sampling. For ``parametrization="marginal"`` it
    draws, for every posterior draw of ``(mu, tau)``, ``theta_j`` from its normal
    conditional given ``mu``, ``tau`` and ``y_j`` (unless ``theta_storage="none"``) and
    ``theta_new ~ Normal(mu, tau)``; the other forms already carry them and are returned
    unchanged.

    Parameters
    ----------
    idata : xarray.DataTree
        The sampler's result, with ``mu`` and ``tau`` in its ``posterior`` group.
    model : pymc.Model
        The model that was fitted (built by this module's factories).
    random_seed : int or numpy.random.Generator
        Seed of the conditional draws.

    Returns
    -------
    xarray.DataTree
        ``idata`` with ``theta`` (dims chain, draw, group dim; dtype ``theta_storage``)
        and ``theta_new`` added to its ``posterior``. ``theta`` is left out of
        :func:`pymc_hier.fit`'s diagnostics (attr ``pymc_hier_diagnostics="skip"``): its
        draws are exact given ``(mu, tau)``, whose R-hat and ESS are checked.
    """
    import xarray as xr

    spec = get_spec(model)
    if spec is None or spec.options.get("parametrization") not in SCALABLE_PARAMETRIZATIONS:
        return idata
    rng = np.random.default_rng(random_seed)
    post = idata["posterior"].to_dataset()
    mu, tau = post["mu"], post["tau"]
    data = spec.data
    sigma = np.asarray(model["sigma"].get_value(), dtype=float)
    storage = spec.options.get("theta_storage", "float64")
    note = "exact conditional draw given mu, tau and y (parametrization='marginal')"
    theta_new = mu + tau * rng.standard_normal(mu.shape)
    post["theta_new"] = theta_new.assign_attrs(method="Normal(mu, tau) given each draw")
    if storage != "none":
        values = draw_theta(mu.values, tau.values, np.asarray(data.y, dtype=float), sigma,
                            rng=rng, dtype=storage)
        post["theta"] = xr.DataArray(values, dims=(*mu.dims, data.dim),
                                     coords={**mu.coords, data.dim: list(data.names)},
                                     attrs={"method": note, SKIP_ATTR: "skip"})
    idata["posterior"] = xr.DataTree(post)
    return idata
