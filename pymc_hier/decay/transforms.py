"""Value transforms that make the decay model easy for NUTS.

- :class:`ScaledLogTransform` samples ``log(alpha * T)``: the log of a dimensionless rate.
- :class:`AmountRankTransform` samples each widget's amount at measurement through its
  conditional rank given the measurement, which removes the curved coupling between the
  per-widget amounts and ``alpha`` (see :func:`pymc_hier.decay_model`).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pymc.logprob.transforms import Transform
from pytensor.graph.basic import Variable

from pymc_hier.decay.graph import _standardise, log_ndtr_diff, probit_of_logs, rank_setup
from pymc_hier.decay.kernels import HALF_LOG_2PI, LOG_SERIES_TAU
from pymc_hier.decay.ops import log_uniform_normal_pdf
from pymc_hier.decay.rank_op import rank_outputs

_SQRT1_2 = float(1.0 / np.sqrt(2.0))


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


def _float_inputs(inputs, count, name):
    floats = [v for v in inputs if str(getattr(v.type, "dtype", "")).startswith("float")]
    if len(floats) != count:
        raise ValueError(f"{name}: the distribution must have {count} floating-point "
                         f"parameters, got {len(floats)}")
    return floats


class AmountRankTransform(Transform):
    """Amount at measurement ``M in (0, A)`` <-> the probit of its conditional rank.

    For an amount ``M ~ U(0, A)`` measured as ``y ~ Normal(M, sigma)``, the conditional
    distribution of ``M`` given ``y`` is ``Normal(y, sigma)`` truncated to ``[0, A]``. This
    transform maps ``M`` to ``r = Phi^-1(F(M))`` with ``F`` that conditional CDF. In ``r``
    the joint posterior factorises: ``(alpha, t0)`` keep the marginal posterior of the
    ``n0="marginal"`` model and every ``r_i`` is standard normal, independent of
    everything else, so NUTS meets no funnel or curved ridge (and no logistic tails: on the
    lecture's data 7.0 leapfrog steps a draw instead of 13.0 with ``logit(F(M))``).

    The map is an exact bijection for every ``alpha``; where ``A / sigma`` is tiny
    (``[0, A]`` much narrower than the noise) it becomes the plain ``Phi^-1(M / A)``, which
    is then the same thing to within ``1e-2`` and avoids resolving a tiny interval.

    Parameters
    ----------
    y : array_like
        The measurements (one per widget).
    sigma : tensor_like, optional
        Their standard deviations; by default read from the distribution.

    Notes
    -----
    The distribution it is attached to must have ``(log A, sigma)`` as its floating-point
    parameters, in that order (``log A`` alone when ``sigma`` is given): the transform reads
    the model's data from its distribution, so that PyMC's model transformations keep it
    working.
    """

    name = "rank"
    ndim_supp = 0

    def __init__(self, y, sigma=None):
        self._args = (y, sigma)
        self.y = pt.as_tensor_variable(y)
        self.sigma = None if sigma is None else pt.as_tensor_variable(sigma)

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the measurements, when given as an array (see :meth:`with_arrays`)."""
        y = self._args[0]
        return {} if isinstance(y, Variable) else {"y": np.asarray(y, dtype=float)}

    def captured(self) -> dict:
        """Return the model variables the transform holds (``sigma``, when given one)."""
        sigma = self._args[1]
        return {"sigma": sigma} if isinstance(sigma, Variable) else {}

    def with_arrays(self, tensors) -> AmountRankTransform:
        """Return the same map reading ``y`` (and ``sigma``) from ``tensors``."""
        return AmountRankTransform(tensors.get("y", self._args[0]),
                                   tensors.get("sigma", self._args[1]))

    def _inputs(self, inputs):
        """``(log A, sigma)``: from the distribution, ``sigma`` unless given."""
        if self.sigma is not None:
            return _float_inputs(inputs, 1, "AmountRankTransform")[0], self.sigma
        log_upper, sigma = _float_inputs(inputs, 2, "AmountRankTransform")
        return log_upper, sigma

    def forward(self, value, *inputs):
        """Map the amount ``M`` to ``Phi^-1(F(M))`` (used for initial points)."""
        y = self.y
        log_upper, sigma = self._inputs(inputs)
        log_sigma, upper, a, b, narrow, log_d = rank_setup(y, sigma, log_upper)
        z = (value - y) / sigma
        below = log_ndtr_diff(a, z, (0.5 * value - y) / sigma, value / sigma,
                              pt.log(value) - log_sigma)
        above = log_ndtr_diff(z, b, (0.5 * (value + upper) - y) / sigma,
                              (upper - value) / sigma, pt.log(upper - value) - log_sigma)
        log_frac = pt.log(value) - log_upper
        log_rest = pt.log1mexp(pt.minimum(log_frac, -1e-300))
        return pt.switch(narrow, probit_of_logs(log_frac, log_rest),
                         probit_of_logs(below - log_d, above - log_d))

    def backward(self, value, *inputs):
        """Map ``Phi^-1(F(M))`` back to the amount ``M`` (the fused op's first output)."""
        log_upper, sigma = self._inputs(inputs)
        return rank_outputs(value, self.y, sigma, log_upper)[0]

    def log_jac_det(self, value, *inputs):
        """``log |dM / dr| + log N(y | M, sigma) - log p(y | A)``, in closed form.

        Not the Jacobian alone: it carries the measurement's density given the amount,
        less its density given ``A`` alone (``M`` integrated out), so that a model whose
        measurement enters through that marginal density (:func:`pymc_hier.decay_model`
        with ``n0="latent"``) has the lecture's joint density in ``r``. The sum cancels:
        with ``u = Phi(r)`` it is ``log A + log phi(r)``, and the sampler never
        inverts the conditional CDF (only the stored amounts need ``M``). On the narrow
        branch (``M = A u``) the residual ``log N(y | A u, sigma) - log p(y | A)`` is
        added.
        """
        log_upper, sigma = self._inputs(inputs)
        y = self.y
        log_sigma, upper, _, _, mid, _, log_w = _standardise(y, sigma, log_upper)
        narrow = log_w + pt.log1p(pt.abs(mid)) < LOG_SERIES_TAU
        log_phi = -0.5 * pt.sqr(value) - HALF_LOG_2PI
        amount = upper * (0.5 * pt.erfc(-value * _SQRT1_2))
        residual = (-log_sigma - HALF_LOG_2PI - 0.5 * pt.sqr((y - amount) / sigma)
                    - log_uniform_normal_pdf(y, sigma, log_upper))
        return log_upper + log_phi + pt.switch(narrow, residual, 0.0)
