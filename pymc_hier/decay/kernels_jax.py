"""JAX twins of the decay kernels (:mod:`pymc_hier.decay.kernels`), element by element.

The same formulas as the NumPy kernels, written with ``jnp.where`` over every branch so that
they compile into one fused XLA kernel (CPU or GPU). They expect float64 inputs: call them
inside ``jax.enable_x64(True)`` (:mod:`pymc_hier.decay.exact_jax` does).

- :func:`log_uniform_normal_pdf`: the density of a measurement of a uniform amount (series,
  far-tail and plain branches, chosen as in the NumPy kernel);
- :func:`day_pieces` and :func:`log_day_marginal_pdf`: ``t0`` integrated over its day by
  Gauss-Legendre quadrature on five pieces;
- :func:`t0_by_inversion`: a draw of ``t0`` from its conditional on the day, by inverting
  the tabulated CDF (Gauss-Legendre pieces, safeguarded Newton on the interpolating
  polynomial);
- :func:`amount_fraction`: a draw of the amount at measurement given ``t0`` (the normal
  truncated to ``[0, A]``) as the fraction ``M / A``, by inversion in log space, exact in
  the far tails and when ``A`` underflows.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfcx, log_ndtr, ndtr, ndtri

from pymc_hier.decay.kernels import (
    DRAW_GL_NODES,
    GL_NODES,
    HALF_LOG_2PI,
    LOG_SERIES_TAU,
    MAX_LOG_WIDTH,
    SQRT2,
    STEP_HALF_WIDTH,
    gauss_legendre,
)
from pymc_hier.numerics.quadrature import legendre_rule

__all__ = [
    "amount_fraction",
    "day_pieces",
    "log_day_marginal_pdf",
    "log_uniform_normal_pdf",
    "t0_by_inversion",
]

LOG_HALF = float(np.log(0.5))
#: Newton steps of the inversions (each from a bracket; quadratic convergence).
NEWTON_STEPS = 6


def log_uniform_normal_pdf(y, sigma, log_upper):
    """Log density of ``y = M + sigma * eps``, ``M ~ U(0, exp(log_upper))``: the JAX twin.

    See :func:`pymc_hier.decay.kernels.log_uniform_normal_pdf` for the three branches and
    when each applies. Every element computes what all three need from two scaled
    complementary error functions, ``Phi(-|x|) = erfcx(|x| / sqrt 2) exp(-x^2 / 2) / 2``
    at both ends of the standardised interval, and takes one logarithm.
    """
    log_sigma = jnp.log(sigma)
    log_w = jnp.minimum(log_upper - log_sigma, MAX_LOG_WIDTH)
    upper = jnp.exp(log_upper)
    w = jnp.where(log_upper > -700.0, upper / sigma, jnp.exp(log_w))
    z = y / sigma
    b = (upper - y) / sigma
    c = (0.5 * upper - y) / sigma
    mirror = c > 0
    lo = jnp.where(mirror, -b, -z)
    hi = jnp.where(mirror, z, b)
    series = log_w + jnp.log1p(jnp.abs(c)) < LOG_SERIES_TAU
    tail = ~series & (hi < -1.0)
    e_hi, e_lo = erfcx(jnp.abs(hi) / SQRT2), erfcx(jnp.abs(lo) / SQRT2)
    # series branch: w is small there (elsewhere its value is discarded)
    ws = jnp.where(series, w, 0.0)
    c2, w2 = c * c, ws * ws
    series_arg = 1.0 + w2 * (c2 - 1.0) / 24.0 + w2 * w2 * (c2 * c2 - 6.0 * c2 + 3.0) / 1920.0
    # far lower tail: the ratio of the Gaussian factors, exp(-w |c|), taken exactly
    tail_arg = (e_hi - e_lo) - e_lo * jnp.expm1(-jnp.where(tail, w * jnp.abs(c), 1.0))
    # plain: Phi(hi) - Phi(lo) from the same erfcx values
    q_hi = 0.5 * e_hi * jnp.exp(-0.5 * hi * hi)
    q_lo = 0.5 * e_lo * jnp.exp(-0.5 * lo * lo)
    plain_arg = jnp.where(hi < 0, q_hi, 1.0 - q_hi) - jnp.where(lo < 0, q_lo, 1.0 - q_lo)
    arg = jnp.where(series, series_arg, jnp.where(tail, tail_arg, plain_arg))
    offset = jnp.where(series, -log_sigma - 0.5 * c2 - HALF_LOG_2PI,
                       jnp.where(tail, LOG_HALF - 0.5 * hi * hi, 0.0) - log_upper)
    return jnp.log(arg) + offset


def day_pieces(y, sigma, t1, start, end, log_n0_max, alpha):
    """Five pieces of each day around the likelihood's step: the twin of the NumPy kernel.

    Returns the piece boundaries, shape ``(..., 6)``, broadcast over the inputs.
    """
    positive = y > 0
    y_pos = jnp.where(positive, y, 1.0)
    t_star = t1 - (log_n0_max - jnp.log(y_pos)) / alpha
    t_c = jnp.clip(jnp.where(jnp.isfinite(t_star), t_star, end), start, end)
    upper_c = jnp.exp(log_n0_max - alpha * (t1 - t_c))
    x_c = (upper_c - y) / sigma
    half = STEP_HALF_WIDTH * sigma / (alpha * upper_c * jnp.maximum(1.0, -x_c))
    t_c = jnp.where(positive, t_c, end)
    half = jnp.where(positive & jnp.isfinite(half), jnp.minimum(half, end - start), 0.0)
    cuts = [start, t_c - 4.0 * half, t_c - half, t_c, t_c + half, end]
    return jnp.stack([jnp.clip(jnp.broadcast_to(c, t_c.shape), start, end) for c in cuts],
                     axis=-1)


def _piece_log_f(pieces, y, sigma, t1, log_n0_max, alpha, n):
    """Nodes and ``log p(y | alpha, t0)`` at them, ``(..., 5, n)``, and the piece lengths."""
    x = jnp.asarray(gauss_legendre(n)[0])
    length = jnp.diff(pieces, axis=-1)
    nodes = pieces[..., :-1, None] + length[..., None] * x
    expand = [v[..., None, None] for v in (y, sigma, t1, alpha)]
    y, sigma, t1, alpha = expand
    log_f = log_uniform_normal_pdf(y, sigma, log_n0_max - alpha * (t1 - nodes))
    return nodes, log_f, length


def logsumexp_last(a):
    """``log(sum(exp(a), axis=-1))``, shifted by the maximum (``-inf`` when all are)."""
    m = jnp.max(a, axis=-1, keepdims=True)
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    return jnp.log(jnp.sum(jnp.exp(a - m), axis=-1)) + m[..., 0]


def log_day_marginal_pdf(y, sigma, t1, start, end, log_n0_max, alpha, n: int = GL_NODES):
    """``log p(y | alpha)`` with ``t0`` uniform on its day, integrated by quadrature.

    The twin of :func:`pymc_hier.decay.kernels.log_day_marginal_pdf`: inputs broadcast
    (e.g. data ``(W,)`` against ``alpha`` of shape ``(K, 1)``).
    """
    shape = jnp.broadcast_shapes(*(jnp.shape(v) for v in (y, sigma, t1, start, end, alpha)))
    y, sigma, t1, start, end, alpha = (jnp.broadcast_to(v, shape)
                                       for v in (y, sigma, t1, start, end, alpha))
    pieces = day_pieces(y, sigma, t1, start, end, log_n0_max, alpha)
    _, log_f, length = _piece_log_f(pieces, y, sigma, t1, log_n0_max, alpha, n)
    log_w = (jnp.log(length / (pieces[..., -1:] - pieces[..., :1]))[..., None]
             + jnp.log(jnp.asarray(gauss_legendre(n)[1])))
    terms = jnp.where(length[..., None] > 0, log_f + log_w, -jnp.inf)
    return logsumexp_last(terms.reshape(terms.shape[:-2] + (-1,)))


def _legendre(u, k: int):
    """Legendre polynomials ``P_0 .. P_k`` at ``u``, stacked on a last axis."""
    p = [jnp.ones_like(u), u]
    for j in range(1, k):
        p.append(((2 * j + 1) * u * p[j] - j * p[j - 1]) / (j + 1))
    return jnp.stack(p[:k + 1], axis=-1)


def t0_by_inversion(y, sigma, t1, start, end, log_n0_max, alpha, v, n: int = DRAW_GL_NODES):
    """Invert each pair's conditional CDF of ``t0`` on its day at probability ``v``.

    The conditional density of ``t0`` given ``alpha`` and ``y`` is proportional to
    ``p(y | alpha, t0)`` on the day; it is tabulated on the five pieces of
    :func:`day_pieces` with ``n`` Gauss-Legendre nodes each (its interpolating polynomial
    integrated exactly, as :func:`pymc_hier.numerics.quadrature.piece_table` does), the
    piece holding ``v`` found from the cumulative masses, and the polynomial CDF inverted
    by safeguarded Newton steps from the bracket of the nodes' CDF values.

    Parameters
    ----------
    y, sigma, t1, start, end, alpha, v : jax.Array
        Broadcast together; ``v`` uniform on ``(0, 1)``.
    log_n0_max : float
        ``log N0_max``.
    n : int
        Gauss-Legendre nodes per piece.

    Returns
    -------
    jax.Array
        ``t0``, inside the day.
    """
    nodes_01, weights, coef, icoef, smat = (jnp.asarray(a) for a in legendre_rule(n))
    shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in (y, sigma, t1, start, end, alpha, v)))
    y, sigma, t1, start, end, alpha, v = (jnp.broadcast_to(a, shape)
                                          for a in (y, sigma, t1, start, end, alpha, v))
    pieces = day_pieces(y, sigma, t1, start, end, log_n0_max, alpha)
    _, log_f, length = _piece_log_f(pieces, y, sigma, t1, log_n0_max, alpha, n)
    log_f = jnp.where(length[..., None] > 0, log_f, -jnp.inf)
    peak = jnp.max(log_f, axis=(-2, -1), keepdims=True)
    f = jnp.exp(log_f - jnp.where(jnp.isfinite(peak), peak, 0.0))      # (..., 5, n)
    mass = length * (f @ weights)                                         # (..., 5)
    cum = jnp.cumsum(mass, axis=-1)
    total = cum[..., -1]
    target = v * total
    piece = jnp.clip(jnp.sum(cum[..., :-1] <= target[..., None], axis=-1), 0, 4)
    take = piece[..., None]
    f_p = jnp.take_along_axis(f, take[..., None], axis=-2)[..., 0, :]     # (..., n)
    left = jnp.take_along_axis(pieces, take, axis=-1)[..., 0]
    len_p = jnp.take_along_axis(length, take, axis=-1)[..., 0]
    before = jnp.take_along_axis(cum - mass, take, axis=-1)[..., 0]
    # r: the mass still to cover inside the piece, per unit length
    r = jnp.where(len_p > 0, (target - before) / jnp.where(len_p > 0, len_p, 1.0), 0.0)
    # bracket between the nodes whose cumulative values straddle r
    knots_t = jnp.concatenate([jnp.zeros(1), nodes_01, jnp.ones(1)])
    cdf_nodes = f_p @ smat.T                                              # (..., n)
    whole = f_p @ weights
    knots = jnp.concatenate([jnp.zeros(shape + (1,)), cdf_nodes, whole[..., None]], axis=-1)
    j = jnp.clip(jnp.sum(knots <= r[..., None], axis=-1) - 1, 0, n)
    lo = knots_t[j]
    hi = knots_t[j + 1]
    c_lo = jnp.take_along_axis(knots, j[..., None], axis=-1)[..., 0]
    c_hi = jnp.take_along_axis(knots, j[..., None] + 1, axis=-1)[..., 0]
    span = c_hi - c_lo
    s = lo + (hi - lo) * jnp.where(span > 0, (r - c_lo) / jnp.where(span > 0, span, 1.0), 0.5)
    s = jnp.clip(s, lo, hi)
    for _ in range(NEWTON_STEPS):
        p = _legendre(2.0 * s - 1.0, n)
        value = 0.5 * jnp.sum((p @ icoef) * f_p, axis=-1) - r
        slope = jnp.sum((p[..., :n] @ coef) * f_p, axis=-1)
        lo = jnp.where(value < 0, s, lo)
        hi = jnp.where(value > 0, s, hi)
        step = s - value / jnp.where(slope > 0, slope, 1.0)
        inside = (slope > 0) & (step > lo) & (step < hi)
        s = jnp.where(inside, step, 0.5 * (lo + hi))
    return jnp.clip(left + len_p * s, start, end)


def _log_ndtr_inverse(log_p):
    """``x`` with ``log Phi(x) = log_p`` for ``log_p <= log(1/2)`` (lower half, any depth).

    ``ndtri`` where ``exp(log_p)`` is representable, refined (and started, below
    ``log_p = -700``, from the asymptotic ``x ~ -sqrt(-2 log_p - log(-4 pi log_p))``) by
    Newton steps on ``log Phi``, which is concave and accurate in the lower tail.
    """
    deep = log_p < -700.0
    q = -2.0 * jnp.where(deep, log_p, -800.0)
    x_deep = -jnp.sqrt(q - jnp.log(2.0 * jnp.pi * q))
    x = jnp.where(deep, x_deep, ndtri(jnp.exp(jnp.where(deep, -1.0, log_p))))
    for _ in range(3):
        lp = log_ndtr(x)
        slope = jnp.exp(-0.5 * x * x - HALF_LOG_2PI - lp)
        x = jnp.where(x < -1.0, x - (lp - log_p) / slope, x)
    return x


def amount_fraction(y, sigma, log_upper, v):
    """Draw ``M / A`` for ``M ~ Normal(y, sigma)`` truncated to ``[0, A]``, by inversion.

    ``A = exp(log_upper)``. Standardised, the interval is ``[a, b] = [-y, A - y] / sigma``;
    it is mirrored when its midpoint is positive so that the mass leans on its upper end
    ``b``. Then:

    - a narrow interval (``w = A / sigma`` with ``w (1 + |c|) < 1e-2``, where the series
      branch of :func:`log_uniform_normal_pdf` applies, also when ``A`` underflows): the
      fraction ``r = (x - a) / w`` has density proportional to ``exp(-a w r - (w r)^2 /
      2)`` on ``[0, 1]``, whose CDF is inverted by Newton steps on its series (truncation
      error below ``1e-10`` there);
    - ``b <= 0``: in log space, ``log Phi(x) = log Phi(b) + log1p(-(1 - v) (1 - Phi(a) /
      Phi(b)))``, inverted by :func:`_log_ndtr_inverse` (exact in the far tail);
    - ``a < 0 < b``: ``Phi(x) = Phi(a) + v (Phi(b) - Phi(a))``, or its complement from the
      upper end when that is smaller.

    Parameters
    ----------
    y, sigma, log_upper, v : jax.Array
        Broadcast together; ``v`` uniform on ``(0, 1)``.

    Returns
    -------
    jax.Array
        ``M / A`` in ``[0, 1]``: ``N0 = N0_max * (M / A)`` whatever ``t0``.
    """
    log_sigma = jnp.log(sigma)
    log_w = jnp.minimum(log_upper - log_sigma, MAX_LOG_WIDTH)
    upper = jnp.exp(log_upper)
    w = jnp.where(log_upper > -700.0, upper / sigma, jnp.exp(log_w))
    c = (0.5 * upper - y) / sigma
    narrow = log_w + jnp.log1p(jnp.abs(c)) < LOG_SERIES_TAU
    mirror = c > 0
    # offsets measured from the amount 0 (a = -y / sigma) or, mirrored, from A
    a = jnp.where(mirror, (y - upper) / sigma, -y / sigma)
    b = jnp.where(mirror, y / sigma, (upper - y) / sigma)
    # -- narrow: r = e / w in [0, 1] with density exp(-a w r - (w r)^2 / 2) (w may underflow)
    aw = jnp.where(narrow, a * w, 0.0)
    w2 = jnp.where(narrow, w * w, 0.0)

    def g(r):  # the integral of that density from 0 to r, by its series
        return r * (1.0 - aw * r / 2.0 + (aw * aw - w2) * r * r / 6.0
                    - aw * (aw * aw - 3.0 * w2) * r**3 / 24.0)

    target = v * g(1.0)
    r = v
    for _ in range(4):
        r = jnp.clip(r - (g(r) - target) / jnp.exp(-aw * r - 0.5 * w2 * r * r), 0.0, 1.0)
    frac_narrow = r
    # -- b <= 0: log space (the mass piles up at b)
    bt = jnp.where(narrow | (b > 0), -1.0, b)
    at = jnp.where(narrow | (b > 0), -2.0, a)
    lb, la = log_ndtr(bt), log_ndtr(at)
    log_p = lb + jnp.log1p(-(1.0 - v) * -jnp.expm1(la - lb))
    x_tail = _log_ndtr_inverse(log_p)
    offset_tail = jnp.clip(bt - x_tail, 0.0, bt - at)  # distance from b
    # -- a < 0 < b: direct, from whichever end is nearer in probability
    ac, bc = jnp.where(narrow | (b <= 0), -1.0, a), jnp.where(narrow | (b <= 0), 1.0, b)
    lo_mass, hi_mass = ndtr(ac), ndtr(-bc)
    z = 1.0 - lo_mass - hi_mass
    p = lo_mass + v * z
    q = hi_mass + (1.0 - v) * z
    x_mid = jnp.where(p < 0.5, ndtri(p), -ndtri(q))
    x_mid = jnp.clip(x_mid, ac, bc)
    # amount above the lower end of the standardised interval, in units of sigma
    above_a = jnp.where(b <= 0, (bt - at) - offset_tail, x_mid - ac)
    frac = jnp.clip(above_a / jnp.where(narrow, 1.0, w), 0.0, 1.0)
    frac = jnp.where(narrow, frac_narrow, frac)
    # mirrored: the offsets ran from A downwards
    return jnp.where(mirror, 1.0 - frac, frac)

