"""The decay problem without PyMC: options, time scale, default prior and data checks.

Everything the model (:mod:`pymc_hier.decay.model`), the pilot
(:mod:`pymc_hier.decay.pilot`) and the exact posterior (:mod:`pymc_hier.decay.exact`) share
about the problem itself, with no model graph.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pymc_hier.decay.data import DecayData
from pymc_hier.priors import Prior

__all__ = [
    "MAX_Z",
    "N0_OPTIONS",
    "T0_MARGINAL_DEPRECATED",
    "T0_OPTIONS",
    "check_alpha_prior",
    "check_consistent",
    "check_option",
    "default_priors",
    "default_priors_for_scale",
    "prior_logpdf",
    "time_scale",
]

#: Accepted values of the ``t0`` option (``"marginal"`` deprecated:
#: :data:`T0_MARGINAL_DEPRECATED`).
T0_OPTIONS = ("latent", "known", "marginal")
#: What :func:`pymc_hier.decay_model` says (``FutureWarning``) when asked for ``t0="marginal"``.
T0_MARGINAL_DEPRECATED = (
    "t0: 'marginal' is deprecated and will be removed in a future release. It never pays: "
    "each gradient integrates every widget's manufacture day by quadrature, so on the "
    "lecture's 100 widgets it reaches 5.9-9.5x the Stan program's ESS(alpha)/s against "
    "156-230x for t0='latent', and on 2000 widgets 14 ESS(alpha)/s against 179. Use "
    "t0='latent' (the default) to sample with NUTS, or fit(model, sampler='exact') for many "
    "widgets (it handles 10^6)."
)
#: Accepted values of the ``n0`` option.
N0_OPTIONS = ("marginal", "latent")
#: A measurement more than this many standard deviations above ``n0_max`` or below 0
#: contradicts the model (probability below 1e-23 per widget) and is rejected.
MAX_Z = 10.0


def time_scale(data: DecayData) -> float:
    """``T``: mean time from the middle of the manufacture day to the measurement."""
    mid = 0.5 * (np.asarray(data.day_start) + np.asarray(data.day_end))
    return float(np.mean(np.asarray(data.t_measured) - mid))


def default_priors(data: DecayData) -> dict[str, Prior]:
    """Return the default prior: ``alpha ~ HalfCauchy(beta=1 / T)`` in the data's time unit.

    ``T`` is :func:`time_scale`. The half-Cauchy puts the median of ``alpha * T`` at 1 (a
    widget loses about two thirds of its material between manufacture and a typical
    measurement) and, being heavy-tailed, keeps rates 100 times faster or slower in play
    (0.6% prior mass beyond each); it is weakly informative because the data pin ``alpha``
    far more tightly. It is also proper, which matters: as ``alpha -> infinity`` every
    widget decays to nothing and the likelihood tends to a positive constant, so with a
    flat prior (``Prior("HalfFlat")``, the lecture's choice) the posterior is improper in
    principle, although on the lecture's data that tail lies far below the mode (the exact
    reference checks this and raises when it does not).
    """
    return default_priors_for_scale(time_scale(data))


def default_priors_for_scale(scale: float) -> dict[str, Prior]:
    """:func:`default_priors` for data of time scale ``T`` (:func:`time_scale`) ``scale``."""
    return {"alpha": Prior("HalfCauchy", beta=1.0 / float(scale))}


def check_alpha_prior(prior: Prior) -> tuple[float, float]:
    """Return the support of ``prior``; raise if it allows ``alpha <= 0``.

    Raises
    ------
    ValueError
        Naming ``priors['alpha']`` when the prior puts mass on negative rates or its
        support is unknown.
    """
    try:
        lower, upper = prior.support()
    except ValueError as err:
        raise ValueError(f"priors['alpha']: {err}") from None
    if np.ndim(lower) or np.ndim(upper):
        raise ValueError(f"priors['alpha']: must be a scalar prior, got {prior!r}")
    if not lower >= 0:
        raise ValueError(
            f"priors['alpha']: the decay rate must be positive but {prior!r} has support "
            f"[{lower}, {upper}]; use a positive distribution (HalfFlat, HalfNormal, "
            f"HalfCauchy, Exponential, Gamma, LogNormal, Uniform with lower >= 0, ...)"
        )
    return float(lower), float(upper)


def check_consistent(data: DecayData, *, n0_max: float | None = None) -> None:
    """Raise if a measurement is impossible under the model (more than :data:`MAX_Z` sigma).

    No initial amount in ``[0, n0_max]`` can produce a measurement far above ``n0_max`` or
    far below 0; such data mean a unit mix-up, a wrong ``n0_max`` or a wrong ``sigma``.
    """
    n0_max = data.n0_max if n0_max is None else float(n0_max)
    y, sigma = np.asarray(data.n_measured), np.asarray(data.sigma)
    for z, where in (((y - n0_max) / sigma, f"above n0_max={n0_max:g}"),
                     (-y / sigma, "below 0")):
        bad = np.flatnonzero(z > MAX_Z)
        if bad.size:
            i = int(bad[np.argmax(z[bad])])
            label = data.widget[i]
            label = label.item() if isinstance(label, np.generic) else label
            shown = f"{z[i]:.1f}" if z[i] < 1e6 else f"{z[i]:.3g}"
            raise ValueError(
                f"n_measured: widget {label!r} (row {i}) measured {y[i]:g} "
                f"± {sigma[i]:g}, {shown} standard deviations {where}; no initial amount "
                f"in [0, n0_max] can produce it ({bad.size} such widget(s)); check "
                f"n_measured, sigma and n0_max"
            )


def check_option(name, value, allowed):
    """Raise ``ValueError`` naming ``name`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name}: must be one of {', '.join(map(repr, allowed))}, got {value!r}")


def prior_logpdf(prior: Prior) -> Callable[[np.ndarray], np.ndarray]:
    """Return the prior's log density, vectorised (compiled once per distribution family)."""
    fn = prior.logp_function()
    return lambda a: fn(np.atleast_1d(np.asarray(a, dtype=float)))
