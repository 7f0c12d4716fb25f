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
(:class:`~pymc_hier.quantile_map.QuantileTransform`). The edge becomes a standard normal
tail (:mod:`pymc_hier.quantile_map`). Any smooth bijection leaves the posterior unchanged
(the Jacobian is exact): the map only chooses the sampler's coordinates, and a stale map
(priors or ``n0_max`` changed by ``pm.set_data`` since) stays correct, merely less
efficient.
"""

from __future__ import annotations

from pymc_hier.decay.data import DecayData
from pymc_hier.priors import Prior
from pymc_hier.quantile_map import quantile_map as _quantile_map


def quantile_map(data: DecayData, prior: Prior, *, t0: str = "latent"):
    """Return the arguments of :class:`~pymc_hier.quantile_map.QuantileTransform`, or None.

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
        ``(z0, step, values, log_slopes, posterior)``, the last the
        :class:`~pymc_hier.DecayPosterior` the map follows; ``None`` when the exact
        posterior cannot be tabulated (an improper posterior): the model then samples
        ``log(alpha * T)``.
    """
    from pymc_hier.decay.exact import decay_posterior

    try:
        post = decay_posterior(data, t0="known" if t0 == "known" else "latent", prior=prior)
    except ValueError:
        return None
    return _quantile_map(post.quantile, post.table_logpdf, post)
