"""The hierarchical normal problem without PyMC: data forms, prior presets, propriety.

Shared by the model (:mod:`pymc_hier.normal.model`) and the exact posterior
(:mod:`pymc_hier.normal.exact`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from pymc_hier.normal.data import SchoolsData
from pymc_hier.priors import Prior, resolve_priors

__all__ = [
    "AUTO",
    "PARAMETRIZATIONS",
    "POOLING",
    "PRIOR_PRESETS",
    "SCALABLE_PARAMETRIZATIONS",
    "as_schools_data",
    "centered_groups",
    "check_proper",
    "is_flat",
    "no_pooling_prior",
    "resolve_schools_priors",
]

#: Prior presets by name.
#:
#: - ``"default"``: the widely used weakly informative mu ~ Normal(0, 5), tau ~ HalfCauchy(5);
#: - ``"bda"``: Bayesian Data Analysis section 5.4, p(mu, tau) ∝ 1 (flat mu, flat tau > 0);
#:   the posterior is proper only with J >= 3 groups.
PRIOR_PRESETS = MappingProxyType({
    "default": MappingProxyType({"mu": Prior("Normal", mu=0.0, sigma=5.0),
                                 "tau": Prior("HalfCauchy", beta=5.0)}),
    "bda": MappingProxyType({"mu": Prior("Flat"), "tau": Prior("HalfFlat")}),
})

#: Accepted values of the ``parametrization`` option (see the module docstring).
PARAMETRIZATIONS = ("noncentered", "noncentered_standard", "centered")
#: Parametrizations that integrate ``theta`` out (accepted as well; see the module docstring).
SCALABLE_PARAMETRIZATIONS = ("marginal",)
#: The parametrization that centres each group whose data are informative
#: (:func:`centered_groups`) and leaves the others non-centred.
AUTO = "auto"
#: Accepted values of the ``pooling`` option: the hierarchy (``"partial"``), one effect for
#: every group (``"complete"``: ``theta_j = mu``) or independent effects (``"none"``).
POOLING = ("partial", "complete", "none")
#: How much wider the no-pooling effects' default prior is than the population mean's.
NO_POOLING_WIDTH = 10.0

# Distributions whose support is tau > 0 (checked without compiling anything).
_POSITIVE_DISTS = frozenset({
    "HalfCauchy", "HalfNormal", "HalfStudentT", "HalfFlat", "Exponential", "Gamma",
    "InverseGamma", "LogNormal", "Weibull", "ChiSquared", "Pareto",
})


def as_schools_data(data) -> SchoolsData:
    """Return ``data`` as :class:`~pymc_hier.SchoolsData`.

    Accepts a ``SchoolsData``, a mapping with keys ``y``, ``sigma`` and optionally
    ``names``/``dim``, a :class:`pandas.DataFrame` or an :class:`xarray.Dataset` with ``y``
    and ``sigma``. The checks of ``SchoolsData`` (sigma > 0, finite values, equal lengths,
    unique names, non-empty) apply to every form.
    """
    if isinstance(data, SchoolsData):
        return data
    import pandas as pd
    import xarray as xr

    if isinstance(data, pd.DataFrame):
        return SchoolsData.from_dataframe(data)
    if isinstance(data, xr.Dataset):
        return SchoolsData.from_dataset(data)
    if isinstance(data, Mapping):
        unknown = set(data) - {"y", "sigma", "names", "dim"}
        if unknown:
            raise ValueError(f"data: unknown key(s) {sorted(unknown)} (accepted: y, sigma, "
                             "names, dim)")
        for key in ("y", "sigma"):
            if key not in data:
                raise ValueError(f"{key}: missing from data")
        return SchoolsData(**data)
    raise ValueError(f"data: expected SchoolsData, a mapping with y and sigma, a DataFrame "
                     f"or a Dataset; got {type(data).__name__}")


def no_pooling_prior(mu_prior: Prior) -> Prior:
    """Default prior of each group's own effect without pooling, from the prior on ``mu``.

    The population mean's prior made :data:`NO_POOLING_WIDTH` times wider (a Normal), or
    flat when it is flat: vague next to any group's own estimate, yet proper, so that the
    no-pooling model predicts a left-out group with a finite density.
    """
    if mu_prior.dist == "Normal" and set(mu_prior.params) <= {"mu", "sigma"}:
        return Prior("Normal", mu=float(mu_prior.params.get("mu", 0.0)),
                     sigma=NO_POOLING_WIDTH * float(mu_prior.params.get("sigma", 1.0)))
    if mu_prior.dist == "Flat":
        return Prior("Flat")
    return mu_prior


def _pooled_defaults(preset: Mapping, pooling: str) -> dict:
    if pooling == "complete":
        return {"mu": preset["mu"]}
    if pooling == "none":
        return {"theta": no_pooling_prior(preset["mu"])}
    return dict(preset)


def resolve_schools_priors(priors, *, factory: str = "hierarchical_normal_model",
                           pooling: str = "partial") -> dict:
    """Return the priors selected by ``priors`` for a level of pooling.

    Parameters
    ----------
    priors : str, mapping or None
        A preset name (see :data:`PRIOR_PRESETS`), a mapping of priors by parameter name
        merged into the ``"default"`` preset, or None for the default preset.
    factory : str
        Factory name used in error messages.
    pooling : {"partial", "complete", "none"}
        ``"partial"``: ``{"mu", "tau"}``; ``"complete"``: ``{"mu"}``; ``"none"``:
        ``{"theta"}``, each group's own effect, by default :func:`no_pooling_prior` of the
        preset's ``mu``.
    """
    if pooling not in POOLING:
        raise ValueError(f"pooling: unknown value {pooling!r} (accepted: "
                         f"{', '.join(map(repr, POOLING))})")
    if priors is None:
        priors = "default"
    if isinstance(priors, str):
        try:
            return _pooled_defaults(PRIOR_PRESETS[priors], pooling)
        except KeyError:
            raise ValueError(f"priors: unknown preset {priors!r} (presets: "
                             f"{', '.join(map(repr, PRIOR_PRESETS))})") from None
    if not isinstance(priors, Mapping):
        raise TypeError(f"priors: expected a preset name or a mapping of Prior by "
                        f"parameter, got {type(priors).__name__} {priors!r:.60}")
    merged = resolve_priors(priors, _pooled_defaults(PRIOR_PRESETS["default"], pooling),
                            factory=factory)
    tau = merged.get("tau")
    if tau is not None and tau.dist not in _POSITIVE_DISTS and np.isfinite(tau.logp(-1.0)):
        raise ValueError(f"priors['tau']: a scale needs a prior on tau > 0, got {tau!r}")
    return merged


def centered_groups(sigma, tau) -> np.ndarray:
    """Which groups are better sampled centred: those whose data outweigh the population.

    A group's effect is pinned by its data where its standard error is below the
    population scale (``sigma_j < tau``: the likelihood is narrower than the prior
    ``Normal(mu, tau)``); sampled non-centred, such an effect's standardised coordinate
    has width about ``sigma_j / tau`` at that ``tau``, an inverted funnel, while sampled
    centred it has none. Where ``sigma_j > tau`` the prior dominates and the centred form
    has the funnel instead (Betancourt and Girolami 2015; Papaspiliopoulos, Roberts and
    Sköld 2007).

    Parameters
    ----------
    sigma : array_like
        Each group's standard error (of its estimate, or of its mean with ``n_j``
        observations: ``sigma / sqrt(n_j)``).
    tau : float
        A typical value of the population scale (its posterior median).

    Returns
    -------
    numpy.ndarray of bool
        True where the centred form suits the group.
    """
    return np.asarray(sigma, dtype=float) < float(tau)


def check_proper(n_groups: int, *, mu_flat: bool, tau_flat: bool) -> None:
    """Raise ``ValueError`` if flat priors make the posterior improper for ``n_groups``.

    As tau -> infinity the marginal likelihood p(y | tau) decays like ``tau**-(J - 1)``
    with a flat prior on mu and like ``tau**-J`` with a proper one, so a flat prior on
    tau > 0 needs J >= 3 (flat mu) or J >= 2 (proper mu) for a proper posterior.
    """
    if not tau_flat:
        return
    need = 3 if mu_flat else 2
    if n_groups < need:
        which = "p(mu, tau) ∝ 1" if mu_flat else "a flat prior on tau"
        raise ValueError(
            f"priors: {which} gives an improper posterior with J = {n_groups} group(s): "
            f"p(tau | y) decays like tau**-{n_groups - (1 if mu_flat else 0)} as tau -> "
            f"infinity; it needs J >= {need} (use a proper prior on tau)"
        )


def is_flat(prior: Prior) -> bool:
    """Whether ``prior`` is ``Flat`` or ``HalfFlat``."""
    return prior.dist in ("Flat", "HalfFlat")
