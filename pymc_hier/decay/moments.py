"""Mean and standard deviation of the decay rate's exact posterior, tails included.

Once every widget has decayed the likelihood no longer depends on ``alpha``, so the
posterior keeps the prior's tail as ``alpha -> infinity``; with a half-Cauchy prior
(density ``~ alpha^-2``) the mean is infinite whenever that tail carries weight. The
moments integrate the tabulated posterior and its tail
(:mod:`pymc_hier.numerics.log_moments`) and are ``inf``, with an
:class:`~pymc_hier.exceptions.InfiniteMomentWarning`, where they do not exist.
"""

from __future__ import annotations

import warnings

import numpy as np

from pymc_hier.exceptions import InfiniteMomentWarning
from pymc_hier.numerics.log_moments import log_scale_moments
from pymc_hier.priors import Prior

__all__ = ["AlphaMoments", "log_density_u"]


def log_density_u(u, log_prior, log_likelihood):
    """Unnormalised log posterior density of ``u = log alpha``."""
    u = np.asarray(u, dtype=float)
    alpha = np.exp(u.ravel())
    out = log_prior(alpha) + log_likelihood(alpha) + u.ravel()
    return np.where(np.isnan(out), -np.inf, out).reshape(u.shape)


class AlphaMoments:
    """The moments of :class:`~pymc_hier.DecayPosterior`.

    A mixin: it needs the posterior's ``_table``, ``_log_prior``, ``_log_likelihood``,
    ``prior``, ``data`` and ``quantile``.
    """

    _moments_cache = None

    def _moments(self):
        if self._moments_cache is None:
            self._moments_cache = log_scale_moments(
                lambda u: log_density_u(u, self._log_prior, self._log_likelihood),
                self._table)
        return self._moments_cache

    def moment_exists(self, order: int) -> bool:
        """Whether ``E[alpha^order]`` is finite (``order`` 1 or 2; see :meth:`mean`)."""
        if order not in (1, 2):
            raise ValueError(f"order: must be 1 or 2, got {order!r}")
        m = self._moments()
        return bool(np.isfinite(m.mean if order == 1 else m.sd))

    def mean(self) -> float:
        """Posterior mean of ``alpha``: ``inf`` (with a warning) where it does not exist.

        Once every widget has decayed the likelihood no longer depends on ``alpha``, so the
        posterior keeps the prior's tail as ``alpha -> infinity``: with a half-Cauchy prior
        (density ``~ alpha^-2``) the mean is infinite whenever that tail carries weight.
        The tail is integrated up to ``alpha = 1e300`` (:mod:`pymc_hier.numerics.log_moments`):
        the mean is ``inf`` when it depends on that bound, and otherwise exact (a tail at
        ``e^-30000`` of the peak, as with the lecture's 100 widgets, adds nothing).

        Warns
        -----
        InfiniteMomentWarning
            When the mean is infinite, naming the tail.
        """
        m = self._moments()
        if not np.isfinite(m.mean):
            self._warn_infinite("mean", m)
        return m.mean

    def sd(self) -> float:
        """Posterior standard deviation of ``alpha``: ``inf`` (warned) where it does not exist.

        See :meth:`mean`.

        Warns
        -----
        InfiniteMomentWarning
            When the standard deviation is infinite, naming the tail.
        """
        m = self._moments()
        if not np.isfinite(m.sd):
            self._warn_infinite("standard deviation", m)
        return m.sd

    def _warn_infinite(self, what: str, m) -> None:
        label = self.prior.label() if isinstance(self.prior, Prior) else "callable prior"
        q = float(self.quantile(0.999))
        warnings.warn(
            f"alpha: the posterior {what} is infinite: the density falls off only like "
            f"alpha^{m.tail_exponent:.3g} as alpha -> infinity, the tail of the prior "
            f"({label}), because once every widget has decayed the likelihood no longer "
            f"depends on alpha; quantiles exist (99.9%: {q:.4g} per {self.data.time_unit}). "
            "Report quantiles, or use a prior with a lighter tail",
            InfiniteMomentWarning, stacklevel=3)

