"""Value transforms that make the decay model easy for NUTS.

- :class:`ScaledLogTransform` samples ``log(alpha * T)``: the log of a dimensionless rate.
- :class:`SkewLogTransform` samples a standardised, skew-corrected ``log alpha`` (for models
  whose only free variable is ``alpha``).
- :class:`ProbitIntervalTransform` samples a uniform variable (a manufacture time) as a
  standard normal.
- :class:`AmountRankTransform` samples each widget's amount at measurement through its
  conditional rank given the measurement, which removes the curved coupling between the
  per-widget amounts and ``alpha`` (see :func:`pymc_hier.decay_model`).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pymc.logprob.transforms import Transform
from pytensor.graph.basic import Variable

from pymc_hier.decay.graph import log_ndtr_diff, rank_setup
from pymc_hier.decay.kernels import HALF_LOG_2PI
from pymc_hier.decay.rank_op import rank_outputs

_SQRT1_2 = float(1.0 / np.sqrt(2.0))


def _log_upper(inputs):
    floats = [v for v in inputs if str(getattr(v.type, "dtype", "")).startswith("float")]
    if len(floats) != 1:
        raise ValueError("AmountRankTransform: the distribution must have log A as its only "
                         f"floating-point parameter, got {len(floats)}")
    return floats[0]


class ScaledLogTransform(Transform):
    """``x -> log(x * scale)``: a log transform on a rescaled axis.

    Parameters
    ----------
    scale : float
        The characteristic scale ``T`` (> 0); the unconstrained value is ``log(x * T)``.
    """

    name = "log_scaled"
    ndim_supp = 0

    def __init__(self, scale: float):
        self.log_scale = float(np.log(scale))

    def forward(self, value, *inputs):
        """Map ``x`` to ``log(x * T)``."""
        return pt.log(value) + self.log_scale

    def backward(self, value, *inputs):
        """Map ``log(x * T)`` back to ``x``."""
        return pt.exp(value - self.log_scale)

    def log_jac_det(self, value, *inputs):
        """``log |dx / dvalue|``."""
        return value - self.log_scale


class SkewLogTransform(Transform):
    """``x -> z`` with ``log x = u0 + a z + b (sqrt(1 + z^2) - 1)``, ``|b| < a``.

    A log transform whose scale changes smoothly from ``a - b`` (``z -> -inf``) to
    ``a + b`` (``z -> +inf``): with ``(u0, a, b)`` from a pilot of the posterior
    (:func:`pymc_hier.decay.pilot.skew_log_map`) the unconstrained value is close
    to a standard normal even when the posterior of ``log x`` is skewed.
    """

    name = "log_skew"
    ndim_supp = 0

    def __init__(self, u0: float, a: float, b: float):
        if not (a > 0 and abs(b) < a):
            raise ValueError(f"SkewLogTransform: need a > 0 and |b| < a, got a={a}, b={b}")
        self.u0, self.a, self.b = float(u0), float(a), float(b)

    def forward(self, value, *inputs):
        """Map ``x`` to ``z`` (the root of the quadratic that inverts the map)."""
        a, b = self.a, self.b
        v = pt.log(value) - self.u0 + b
        return (a * v - b * pt.sqrt(v * v + a * a - b * b)) / (a * a - b * b)

    def backward(self, value, *inputs):
        """Map ``z`` back to ``x``."""
        return pt.exp(self.u0 + self.a * value + self.b * (pt.sqrt(1.0 + value * value) - 1.0))

    def log_jac_det(self, value, *inputs):
        """``log |dx / dz|``."""
        root = pt.sqrt(1.0 + value * value)
        log_x = self.u0 + self.a * value + self.b * (root - 1.0)
        return log_x + pt.log(self.a + self.b * value / root)


class ProbitIntervalTransform(Transform):
    """``x in (lower, upper) -> z`` with ``x = lower + (upper - lower) Phi(z)``.

    A uniform prior on the interval becomes exactly a standard normal in ``z``. For the
    decay model's manufacture times, most of which the data barely inform, NUTS then meets
    a near-Gaussian target instead of the logistic one of the default log-odds transform
    (heavier tails): on the lecture's data 7.0 leapfrog steps a draw instead of 8.7 and
    about 1.4 times the ESS of alpha per second.

    Parameters
    ----------
    lower, upper : tensor_like
        The bounds (data, broadcast with the variable).
    """

    name = "probit"
    ndim_supp = 0

    def __init__(self, lower, upper):
        # plain numbers as float64 arrays: PyTensor would cast a Python float that float32
        # holds exactly (a time like 1.7e6) to float32
        self.lower, self.upper = (v if isinstance(v, Variable) else
                                  pt.as_tensor_variable(np.asarray(v, dtype="float64"))
                                  for v in (lower, upper))

    def forward(self, value, *inputs):
        """Map ``x`` to ``z = Phi^-1((x - lower) / (upper - lower))``."""
        width = self.upper - self.lower
        log_p = pt.log(value - self.lower) - pt.log(width)
        log_q = pt.log(self.upper - value) - pt.log(width)
        # resolve whichever tail is nearer: Phi^-1(p) = -Phi^-1(1 - p); a value on a bound
        # maps to about -38.5 or 38.5 rather than an infinity
        return pt.switch(log_p < log_q, pt.ndtri_exp(pt.clip(log_p, -745.0, 0.0)),
                         -pt.ndtri_exp(pt.clip(log_q, -745.0, 0.0)))

    def backward(self, value, *inputs):
        """Map ``z`` back to ``x``."""
        return self.lower + (self.upper - self.lower) * (0.5 * pt.erfc(-value * _SQRT1_2))

    def log_jac_det(self, value, *inputs):
        """``log |dx / dz| = log(upper - lower) + log phi(z)``."""
        return pt.log(self.upper - self.lower) - 0.5 * pt.sqr(value) - HALF_LOG_2PI


class AmountRankTransform(Transform):
    """Amount at measurement ``M in (0, A)`` <-> the logit of its conditional rank.

    For an amount ``M ~ U(0, A)`` measured as ``y ~ Normal(M, sigma)``, the conditional
    distribution of ``M`` given ``y`` is ``Normal(y, sigma)`` truncated to ``[0, A]``. This
    transform maps ``M`` to ``r = logit(F(M))`` with ``F`` that conditional CDF. In ``r`` the
    joint posterior factorises: ``(alpha, t0)`` keep the marginal posterior of the
    ``n0="marginal"`` model and every ``r_i`` is standard logistic, independent of
    everything else, so NUTS meets no funnel or curved ridge.

    The map is an exact bijection for every ``alpha``; where ``A / sigma`` is tiny
    (``[0, A]`` much narrower than the noise) it becomes the plain ``logit(M / A)``, which
    is then the same thing to within ``1e-2`` and avoids resolving a tiny interval.

    Parameters
    ----------
    y, sigma : tensor_like
        The measurements and their standard deviations (data, one per widget).

    Notes
    -----
    The distribution it is attached to must have ``log A`` as its only floating-point
    parameter (it is found among the distribution's inputs, whatever their order).
    """

    name = "rank"
    ndim_supp = 0

    def __init__(self, y, sigma):
        self.y = pt.as_tensor_variable(y)
        self.sigma = pt.as_tensor_variable(sigma)

    def forward(self, value, *inputs):
        """Map the amount ``M`` to ``logit F(M)`` (used for initial points)."""
        y, sigma = self.y, self.sigma
        log_upper = _log_upper(inputs)
        log_sigma, upper, a, b, narrow, _ = rank_setup(y, sigma, log_upper)
        z = (value - y) / sigma
        below = log_ndtr_diff(a, z, (0.5 * value - y) / sigma, value / sigma,
                              pt.log(value) - log_sigma)
        above = log_ndtr_diff(z, b, (0.5 * (value + upper) - y) / sigma,
                              (upper - value) / sigma, pt.log(upper - value) - log_sigma)
        log_frac = pt.log(value) - log_upper
        plain = log_frac - pt.log1mexp(pt.minimum(log_frac, -1e-300))
        return pt.switch(narrow, plain, below - above)

    def backward(self, value, *inputs):
        """Map ``logit F(M)`` back to the amount ``M`` (the fused op's first output)."""
        return rank_outputs(value, self.y, self.sigma, _log_upper(inputs))[0]

    def log_jac_det(self, value, *inputs):
        """``log |dM / dr| = log sigma + log D - log phi(z) + log u + log(1 - u)``."""
        return rank_outputs(value, self.y, self.sigma, _log_upper(inputs))[3]
