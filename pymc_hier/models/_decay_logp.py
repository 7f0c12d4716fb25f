"""PyTensor log densities of the decay model (twin of :mod:`pymc_hier.exact._decay_kernels`).

Both twins evaluate the same formulas with the same branch rules, so the sampler and the
exact reference agree to rounding. Every branch here is fed *safe* inputs where it is not
selected: ``pt.switch`` multiplies the gradient of the unused branch by zero, and zero
times an infinite or NaN gradient would still poison the result.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from pymc_hier.exact._decay_kernels import (
    HALF_LOG_2PI,
    LOG_SERIES_TAU,
    MAX_LOG_WIDTH,
    STEP_HALF_WIDTH,
    gauss_legendre,
)
from pymc_hier.models._decay_op import log_uniform_normal_pdf

#: Gauss-Legendre nodes per piece of the day in the model's ``t0="marginal"`` likelihood.
#: On the lecture's data 8 nodes give the total log-likelihood to 1e-14 (the exact reference
#: uses 16; with a sharp step inside the day and sigma ~ 1e-3 a widget's term can be off by
#: up to ~1e-5, far below Monte Carlo error); an evaluation costs a third of the 16-node one.
MODEL_GL_NODES = 8
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
    :func:`pymc_hier.exact._decay_kernels.log_uniform_normal_pdf` for the three branches.
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

    The symbolic twin of :func:`pymc_hier.exact._decay_kernels.log_uniform_normal_pdf`,
    built from PyTensor's elementwise ops (every branch evaluated, gradients by automatic
    differentiation). Models use the fused op
    :func:`pymc_hier.models._decay_op.log_uniform_normal_pdf` instead, which JAX-like
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


def log_day_marginal_pdf(y, sigma, t_measured, day_start, day_end, log_n0_max, alpha,
                         n: int = MODEL_GL_NODES):
    """``log p(y | alpha)`` with ``N0`` integrated in closed form and ``t0`` over its day.

    The symbolic twin of :func:`pymc_hier.exact._decay_kernels.log_day_marginal_pdf`: the
    day is cut into five pieces around the step of the likelihood (they move with
    ``alpha``, and the gradient follows them), each integrated by ``n``-node
    Gauss-Legendre, and the nodes are combined by log-sum-exp. Inputs are per-widget
    vectors (``alpha`` and ``log_n0_max`` scalars); the result is a vector.
    """
    y, sigma, t1, start, end = (pt.as_tensor_variable(v)[:, None]
                                for v in (y, sigma, t_measured, day_start, day_end))
    positive = y > 0
    y_pos = pt.switch(positive, y, 1.0)
    t_star = t1 - (log_n0_max - pt.log(y_pos)) / alpha
    t_c = pt.clip(t_star, start, end)
    log_upper_c = log_n0_max - alpha * (t1 - t_c)
    x_c = (pt.exp(log_upper_c) - y) / sigma
    # in logs: A(t_c) may underflow, and the unused side of the minimum must keep a
    # finite gradient
    log_half = (np.log(STEP_HALF_WIDTH) + pt.log(sigma) - pt.log(alpha) - log_upper_c
                - pt.log(pt.maximum(1.0, -x_c)))
    half = pt.exp(pt.minimum(log_half, pt.log(end - start)))
    t_c = pt.switch(positive, t_c, end)
    half = pt.switch(positive, half, 0.0)
    cuts = pt.concatenate(
        [pt.clip(c, start, end) for c in (start, t_c - 4.0 * half, t_c - half, t_c,
                                           t_c + half, end)], axis=1)
    length = cuts[:, 1:] - cuts[:, :-1]                                  # (W, 5)
    x, w = gauss_legendre(n)
    nodes = cuts[:, :-1, None] + length[:, :, None] * x                  # (W, 5, n)
    log_w = (pt.log(pt.maximum(length, 1e-300) / (end - start))[:, :, None]
             + np.log(w))
    log_f = log_uniform_normal_pdf(y[:, :, None], sigma[:, :, None],
                                   log_n0_max - alpha * (t1[:, :, None] - nodes))
    terms = (log_f + log_w).reshape((log_f.shape[0], -1))
    return pt.logsumexp(terms, axis=1)
