"""Where NUTS samples the decay rate: a map fitted to its exact marginal posterior.

Every variant of the decay model has the same marginal posterior of ``alpha``, and
:func:`pymc_hier.decay_posterior` tabulates it exactly. Its shape can be hard for NUTS: a
long tail towards slow decay and, when a widget with a small measurement error was measured
close to the largest amount it could hold (``N0`` near ``N0_max``), a hard edge towards
fast decay, where the log density falls by tens of units within a fraction of a percent of
``alpha``. NUTS adapts its step size to the bulk, meets the edge with steps hundreds of
times too long and diverges (229 divergences of 4000 on ``simulate_decay(seed=102,
n_widgets=20)`` with a log transform).

:func:`quantile_map` removes the cause: ``alpha`` is sampled as ``z`` with ``log alpha =
g(z)``, ``g`` a smooth monotone map that follows the quantile function of the exact
posterior of ``log alpha`` against a standard normal
(:class:`~pymc_hier.decay.transforms.QuantileTransform`). The edge becomes a standard normal
tail. Any smooth bijection leaves the posterior unchanged (the Jacobian is exact): the map
only chooses the sampler's coordinates, and a stale map (priors or ``n0_max`` changed by
``pm.set_data`` since) stays correct, merely less efficient.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from pymc_hier.decay.data import DecayData
from pymc_hier.priors import Prior

#: The map follows the posterior quantiles for ``|z| <= Z_MAX`` (probability 1e-9 beyond)
#: on a grid of :data:`NODES` points; it continues linearly beyond.
Z_MAX = 6.0
NODES = 481
#: Largest ``|log g'|`` kept: slopes beyond come from a density that underflowed.
_MAX_LOG_SLOPE = 200.0


def quantile_map(data: DecayData, prior: Prior, *, t0: str = "latent"):
    """Return the nodes ``(z0, step, values, log_slopes)`` of the map, or ``None``.

    Parameters
    ----------
    data : DecayData
        The widgets.
    prior : Prior
        The prior on ``alpha``.
    t0 : {"latent", "known", "marginal"}
        How manufacture times enter (``"marginal"`` has the posterior of ``"latent"``).

    Returns
    -------
    tuple or None
        Arguments of :class:`~pymc_hier.decay.transforms.QuantileTransform` and, last, the
        :class:`~pymc_hier.DecayPosterior` they come from; ``None`` when the exact posterior
        cannot be tabulated (an improper posterior): the model then samples
        ``log(alpha * T)``.
    """
    from pymc_hier.decay.exact import decay_posterior
    from pymc_hier.decay.transforms import integrate_log_slopes

    try:
        post = decay_posterior(data, t0="known" if t0 == "known" else "latent", prior=prior)
    except ValueError:
        return None
    z = np.linspace(-Z_MAX, Z_MAX, NODES)
    step = float(z[1] - z[0])
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        alpha = post.quantile(special.ndtr(z))
        u = np.log(alpha)
        log_density_u = post.logpdf(alpha) + u
        log_slopes = -0.5 * z * z - 0.5 * np.log(2 * np.pi) - log_density_u
    if not (np.all(np.isfinite(u)) and np.all(np.diff(u) > 0)):
        return None
    log_slopes = np.clip(np.where(np.isfinite(log_slopes), log_slopes, _MAX_LOG_SLOPE),
                         -_MAX_LOG_SLOPE, _MAX_LOG_SLOPE)
    middle = NODES // 2
    values = integrate_log_slopes(step, log_slopes, middle, float(u[middle]))
    return float(z[0]), step, values, log_slopes, post
