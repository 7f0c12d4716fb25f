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
    "PARAMETRIZATIONS",
    "PRIOR_PRESETS",
    "SCALABLE_PARAMETRIZATIONS",
    "as_schools_data",
    "check_proper",
    "is_flat",
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


def resolve_schools_priors(priors, *, factory: str = "hierarchical_normal_model") -> dict:
    """Return the ``{"mu": Prior, "tau": Prior}`` selected by ``priors``.

    Parameters
    ----------
    priors : str, mapping or None
        A preset name (see :data:`PRIOR_PRESETS`), a mapping of priors by parameter name
        merged into the ``"default"`` preset, or None for the default preset.
    factory : str
        Factory name used in error messages.
    """
    if priors is None:
        priors = "default"
    if isinstance(priors, str):
        try:
            return dict(PRIOR_PRESETS[priors])
        except KeyError:
            raise ValueError(f"priors: unknown preset {priors!r} (presets: "
                             f"{', '.join(map(repr, PRIOR_PRESETS))})") from None
    if not isinstance(priors, Mapping):
        raise TypeError(f"priors: expected a preset name or a mapping of Prior by "
                        f"parameter, got {type(priors).__name__} {priors!r:.60}")
    merged = resolve_priors(priors, PRIOR_PRESETS["default"], factory=factory)
    tau = merged["tau"]
    if tau.dist not in _POSITIVE_DISTS and np.isfinite(tau.logp(-1.0)):
        raise ValueError(f"priors['tau']: a scale needs a prior on tau > 0, got {tau!r}")
    return merged


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
