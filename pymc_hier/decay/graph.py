"""Symbolic twins of the decay model's kernels, from PyTensor's own elementwise ops.

The measurement density (twin of :mod:`pymc_hier.decay.kernels`), the rank transform of
the latent amounts (twin of the fused op in :mod:`pymc_hier.decay.rank_op`) and the map of
the latent manufacture times (twin of :mod:`pymc_hier.decay.edge_ops`). The fused ops
expand into these graphs for backends without their kernels (JAX, PyTorch, MLX).

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
    """``log Phi(r)``: the rank's conditional CDF value ``u``, in logs."""
    return log_ndtr(r)


def probit_of_logs(log_p, log_q):
    """``Phi^-1(p)`` from ``log p`` and ``log(1 - p)``, through the nearer tail."""
    return pt.switch(log_p < log_q, pt.ndtri_exp(pt.clip(log_p, -745.0, 0.0)),
                     -pt.ndtri_exp(pt.clip(log_q, -745.0, 0.0)))


def rank_setup(y, sigma, log_upper):
    """``(log sigma, A, a, b, narrow?, log D)`` of the rank transform on ``[0, A]``."""
    log_sigma, upper, a, b, mid, w, log_w = _standardise(y, sigma, log_upper)
    narrow = log_w + pt.log1p(pt.abs(mid)) < LOG_SERIES_TAU
    log_d = log_ndtr_diff(a, b, mid, w, log_w)      # log D = log(Phi(b) - Phi(a))
    return log_sigma, upper, a, b, narrow, log_d


def _rank_quantile(value, y, sigma, log_upper):
    log_sigma, upper, a, b, narrow, log_d = rank_setup(y, sigma, log_upper)
    log_u = log_ndtr(value)
    log_1mu = log_ndtr(-value)
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
    log_sigma, _, narrow, log_d, _, _, z = _rank_quantile(value, y, sigma, log_upper)
    rank = log_sigma + log_d + 0.5 * pt.sqr(z) + HALF_LOG_2PI
    return pt.switch(narrow, log_upper, rank) - 0.5 * pt.sqr(value) - HALF_LOG_2PI


# -- the map of the latent manufacture times (twin of pymc_hier.decay.edge_ops) ----------
def _log_softplus(x):
    """``log(log(1 + e^x))``, finite for every finite ``x`` (``x`` below -30: ``x``)."""
    return pt.switch(x < -30.0, pt.minimum(x, -30.0), pt.log(pt.softplus(pt.maximum(x, -30.0))))


def _softplus_inverse(log_s):
    """``x`` with ``log(softplus(x)) = log_s``: ``S + log(1 - e^-S)``, ``S = e^log_s``."""
    s = pt.exp(pt.maximum(log_s, -30.0))
    return pt.switch(log_s < -30.0, pt.minimum(log_s, -30.0), s + pt.log(-pt.expm1(-s)))


def probit_map_graph(z, start, end):
    """``(t0, log |dt0/dz|)`` of ``t0 = start + (end - start) Phi(z)``."""
    return start + (end - start) * _ndtr(z), pt.log(end - start) - 0.5 * pt.sqr(z) - HALF_LOG_2PI


def edge_slice_graph(z, start, end, alpha, t1, log_n0_max, sigma, y):
    """``(t0, log |dt0/dz|)`` of the logistic-step map of widgets with an edge.

    See :mod:`pymc_hier.decay.edges`: in ``x``, linear in ``t0``, the step's CDF is the
    softplus ``S(x)``; ``S`` runs from ``S(x_start)`` to ``S(x_end)`` as ``Phi(z)`` does
    from 0 to 1, taken through the nearer tail of the normal.
    """
    kappa = sigma / (1.7 * y)
    v_edge = pt.log(y)

    def x_of(t):
        return (log_n0_max - alpha * (t1 - t) - v_edge) / kappa

    x_s = x_of(start)
    ls_s, ls_e = _log_softplus(x_s), _log_softplus(x_of(end))
    log_ds = ls_e + pt.log1mexp(pt.minimum(ls_s - ls_e, -1e-300))
    # the nearer tail of the normal: S = S_s + dS Phi(z) below 0, S_e - dS Phi(-z) above
    upper = z > 0
    log_tail = log_ndtr(-pt.abs(z))
    log_s = pt.switch(upper,
                      ls_e + pt.log1mexp(pt.minimum(log_tail + log_ds - ls_e, -1e-300)),
                      pt.logaddexp(ls_s, log_tail + log_ds))
    x = _softplus_inverse(log_s)
    t = pt.clip(start + kappa * (x - x_s) / alpha, start, end)
    jac = (pt.log(kappa) - pt.log(alpha) + pt.softplus(-x) + log_ds
           - 0.5 * pt.sqr(z) - HALF_LOG_2PI)
    return t, jac


def edge_map_graph(z, start, end, alpha, t1, log_n0_max, sigma, y, edge):
    """``(t0, log |dt0/dz|)``: the probit map where ``edge`` is 0, the edge map where 1."""
    on = pt.eq(edge, 1.0)
    # safe inputs for the widgets without an edge (y may be 0 or negative there)
    t_e, jac_e = edge_slice_graph(z, start, end, alpha, t1, log_n0_max,
                                  pt.switch(on, sigma, 1.0), pt.switch(on, y, 1.0))
    t_p, jac_p = probit_map_graph(z, start, end)
    return pt.switch(on, t_e, t_p), pt.switch(on, jac_e, jac_p)
