"""Symbolic twins of the decay model's kernels, from PyTensor's own elementwise ops.

The measurement density (twin of :mod:`pymc_hier.decay.kernels`) and the rank transform of
the latent amounts (twin of the fused op in :mod:`pymc_hier.decay.rank_op`). The fused ops
of :mod:`pymc_hier.decay.ops` and :mod:`pymc_hier.decay.rank_op` expand into these graphs
for backends without their kernels (JAX, PyTorch, MLX).

Both twins evaluate the same formulas with the same branch rules, so the sampler and the
exact reference agree to rounding. Every branch here is fed *safe* inputs where it is not
selected: ``pt.switch`` multiplies the gradient of the unused branch by zero, and zero
times an infinite or NaN gradient would still poison the result.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from pymc_hier.decay.kernels import HALF_LOG_2PI, LOG_SERIES_TAU, MAX_LOG_WIDTH

_SQRT1_2 = float(1.0 / np.sqrt(2.0))
_LOG_HALF = float(np.log(0.5))


def _ndtr(x):
    return 0.5 * pt.erfc(-x * _SQRT1_2)


def log_ndtr(x):
    """``log Phi(x)``, stable in the lower tail, with finite gradients everywhere."""
    x = pt.as_tensor_variable(x)
    tail = x < -1.0
    x_t = pt.switch(tail, x, -2.0)
    x_m = pt.switch(tail, 0.0, x)
    lower = _LOG_HALF + pt.log(pt.erfcx(-x_t * _SQRT1_2)) - 0.5 * pt.sqr(x_t)
    upper = pt.log1p(-0.5 * pt.erfc(x_m * _SQRT1_2))
    return pt.switch(tail, lower, upper)


def log_ndtr_diff(lo, hi, mid, width, log_width):
    """``log(Phi(hi) - Phi(lo))`` for ``lo < hi``, accurate for any interval.

    The caller passes the midpoint and width of the interval as well (computed from its own
    inputs without cancellation). See
    :func:`pymc_hier.decay.kernels.log_uniform_normal_pdf` for the three branches.
    """
    mirror = mid > 0
    lo, hi = pt.switch(mirror, -hi, lo), pt.switch(mirror, -lo, hi)
    abs_c = pt.abs(mid)
    series = log_width + pt.log1p(abs_c) < LOG_SERIES_TAU
    tail = ~series & (hi < -1.0)
    middle = ~series & ~tail

    # narrow interval: series in the width
    w2 = pt.sqr(pt.switch(series, width, 0.0))
    c2 = pt.sqr(pt.switch(series, mid, 0.0))
    lp_series = (pt.switch(series, log_width, 0.0) - 0.5 * c2 - HALF_LOG_2PI
                 + pt.log1p(w2 * (c2 - 1.0) / 24.0
                            + w2 * w2 * (c2 * c2 - 6.0 * c2 + 3.0) / 1920.0))

    # far lower tail: scaled complementary error function, exp(w * c) taken exactly
    hi_t = pt.switch(tail, hi, -2.0)
    lo_t = pt.switch(tail, lo, -3.0)
    wc_t = pt.switch(tail, -width * abs_c, -1.0)
    e_hi = pt.erfcx(-hi_t * _SQRT1_2)
    e_lo = pt.erfcx(-lo_t * _SQRT1_2)
    lp_tail = (_LOG_HALF - 0.5 * pt.sqr(hi_t)
               + pt.log((e_hi - e_lo) - e_lo * pt.expm1(wc_t)))

    # everything else: plain difference of normal CDFs (no cancellation there)
    hi_m = pt.switch(middle, hi, 0.0)
    lo_m = pt.switch(middle, lo, -1.0)
    lp_middle = pt.log(_ndtr(hi_m) - _ndtr(lo_m))

    return pt.switch(series, lp_series, pt.switch(tail, lp_tail, lp_middle))


def _standardise(y, sigma, log_upper):
    """Shared set-up: ``(log_sigma, upper, a, b, mid, width, log_width)`` of ``[0, A]``."""
    log_sigma = pt.log(sigma)
    log_w = pt.minimum(log_upper - log_sigma, MAX_LOG_WIDTH)
    representable = log_upper > -700.0
    upper = pt.exp(pt.switch(representable, log_upper, -700.0))
    w = pt.switch(representable, upper / sigma, pt.exp(log_w))
    a = -y / sigma
    b = (upper - y) / sigma
    mid = pt.switch(representable, (0.5 * upper - y) / sigma, 0.5 * w + a)
    return log_sigma, upper, a, b, mid, w, log_w


def log_uniform_normal_graph(y, sigma, log_upper):
    """Log density of ``y = M + sigma * eps`` with ``M ~ U(0, exp(log_upper))``, ``eps ~ N(0, 1)``.

    The symbolic twin of :func:`pymc_hier.decay.kernels.log_uniform_normal_pdf`,
    built from PyTensor's elementwise ops (every branch evaluated, gradients by automatic
    differentiation). Models use the fused op
    :func:`pymc_hier.decay.ops.log_uniform_normal_pdf` instead, which JAX-like
    backends replace by this graph.
    Stable for tiny ``sigma``, for ``log_upper`` in the minus thousands (``A`` underflows),
    for measurements far below 0 or far above ``A``, and with finite gradients everywhere.

    Parameters
    ----------
    y, sigma, log_upper : tensor_like
        Measurement, its standard deviation (> 0) and ``log A``; broadcast together.

    Returns
    -------
    TensorVariable
        The elementwise log density.
    """
    y = pt.as_tensor_variable(y)
    sigma = pt.as_tensor_variable(sigma)
    log_upper = pt.as_tensor_variable(log_upper)
    _, _, a, b, mid, w, log_w = _standardise(y, sigma, log_upper)
    return log_ndtr_diff(a, b, mid, w, log_w) - log_upper


def log_u_of(r):
    """``log sigmoid(r)``."""
    return -pt.softplus(-r)


def rank_setup(y, sigma, log_upper):
    """``(log sigma, A, a, b, narrow?, log D)`` of the rank transform on ``[0, A]``."""
    log_sigma, upper, a, b, mid, w, log_w = _standardise(y, sigma, log_upper)
    narrow = log_w + pt.log1p(pt.abs(mid)) < LOG_SERIES_TAU
    log_d = log_ndtr_diff(a, b, mid, w, log_w)      # log D = log(Phi(b) - Phi(a))
    return log_sigma, upper, a, b, narrow, log_d


def _rank_quantile(value, y, sigma, log_upper):
    log_sigma, upper, a, b, narrow, log_d = rank_setup(y, sigma, log_upper)
    log_u = -pt.softplus(-value)
    log_1mu = -pt.softplus(value)
    # Phi(z) = Phi(a) + u D  or, resolving the upper tail,  Phi(-z) = Phi(-b) + (1 - u) D
    lp_lo = pt.logaddexp(log_ndtr(a), log_u + log_d)
    lp_hi = pt.logaddexp(log_ndtr(-b), log_1mu + log_d)
    use_lo = lp_lo < _LOG_HALF
    z = pt.switch(use_lo, pt.ndtri_exp(pt.minimum(lp_lo, _LOG_HALF)),
                  -pt.ndtri_exp(pt.minimum(lp_hi, _LOG_HALF)))
    return log_sigma, upper, narrow, log_d, log_u, log_1mu, z


def rank_backward_graph(value, y, sigma, log_upper):
    """Return the rank transform's ``backward`` from PyTensor's own ops (the op's twin)."""
    _, upper, narrow, _, _, _, z = _rank_quantile(value, y, sigma, log_upper)
    rank = pt.clip(y + sigma * z, 0.0, upper)
    return pt.switch(narrow, pt.exp(log_upper + log_u_of(value)), rank)


def rank_log_jac_graph(value, y, sigma, log_upper):
    """Return the rank transform's ``log_jac_det`` from PyTensor's ops (the op's twin)."""
    log_sigma, upper, narrow, log_d, log_u, log_1mu, z = _rank_quantile(value, y, sigma,
                                                                         log_upper)
    rank = log_sigma + log_d + 0.5 * pt.sqr(z) + HALF_LOG_2PI
    return pt.switch(narrow, log_upper, rank) + log_u + log_1mu
