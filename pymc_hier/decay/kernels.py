"""NumPy/SciPy kernels of the decay model: the twin of :mod:`pymc_hier.decay.graph`.

Everything here is plain array maths (no PyMC, no xarray); the exact reference
(:mod:`pymc_hier.decay.exact`) and the post-sampling draws of the model factory build on it.

The central quantity is the density of a measurement ``y = M + sigma * eps`` of an amount
``M ~ U(0, A)`` (``N0 ~ U(0, N0_max)`` decayed by ``exp(-alpha * dt)``, so that
``A = N0_max * exp(-alpha * dt)``)::

    p(y) = (Phi(b) - Phi(a)) / A,   a = -y / sigma,   b = (A - y) / sigma,

evaluated in log space by one of three formulas, whichever is accurate (see
:func:`log_uniform_normal_pdf`).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import special

from pymc_hier.numerics.truncnorm import truncated_normal_many

HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)
SQRT2 = np.sqrt(2.0)
#: The series branch is used while ``w * (1 + |c|) < SERIES_TAU``.
SERIES_TAU = 1e-2
LOG_SERIES_TAU = float(np.log(SERIES_TAU))
#: ``log(A / sigma)`` is clipped here so that ``A / sigma`` never overflows.
MAX_LOG_WIDTH = 700.0


def _branches(y, sigma, log_upper):
    """Return the standardised quantities and the branch masks shared by both twins."""
    log_sigma = np.log(sigma)
    log_w = np.minimum(log_upper - log_sigma, MAX_LOG_WIDTH)
    # A / sigma straight from A where A is representable (keeps (A - y) / sigma exact to
    # rounding), through logs where A underflows.
    upper = np.exp(log_upper)
    w = np.where(log_upper > -700.0, upper / sigma, np.exp(log_w))
    z = y / sigma
    b = (upper - y) / sigma   # rounding-exact where A - y cancels
    c = (0.5 * upper - y) / sigma
    mirror = c > 0
    lo = np.where(mirror, -b, -z)
    hi = np.where(mirror, z, b)
    series = log_w + np.log1p(np.abs(c)) < LOG_SERIES_TAU
    tail = ~series & (hi < -1.0)
    return log_sigma, w, c, lo, hi, series, tail


def log_uniform_normal_pdf(y, sigma, log_upper):
    """Log density of ``y = M + sigma * eps`` with ``M ~ U(0, exp(log_upper))``, ``eps ~ N(0, 1)``.

    Written as ``log(Phi(hi) - Phi(lo)) - log_upper`` with ``(lo, hi)`` the standardised
    interval ``((0 - y) / sigma, (A - y) / sigma)``, mirrored to ``(-hi, -lo)`` when its
    midpoint ``c`` is positive so that the interval lies mostly in the lower tail. Then

    - a narrow interval (``w * (1 + |c|) < 1e-2`` with ``w = A / sigma``) uses the series
      ``log w + log phi(c) + log1p(w^2 (c^2 - 1) / 24 + w^4 (c^4 - 6 c^2 + 3) / 1920)``,
      which stays exact when ``A`` underflows (``alpha * dt`` in the thousands);
    - an interval in the far lower tail (``hi < -1``) uses the scaled complementary error
      function, ``Phi(x) = erfcx(-x / sqrt 2) exp(-x^2 / 2) / 2``, with the ratio of the two
      Gaussian factors ``exp(w * c)`` taken exactly;
    - otherwise the plain difference of normal CDFs, which then is at least ~1e-3 and
      suffers no cancellation.

    Parameters
    ----------
    y : array_like
        Measurements (any real value).
    sigma : array_like
        Their standard deviations (> 0).
    log_upper : array_like
        ``log A``, the log of the upper bound of the uniform amount.

    Returns
    -------
    numpy.ndarray
        The log density, broadcast over the inputs.
    """
    y, sigma, log_upper = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                for v in (y, sigma, log_upper)))
    return _log_pdf(y, sigma, log_upper)[0]


def _log_pdf(y, sigma, log_upper):
    """``(log p, the branch quantities of _branches)`` of broadcast float arrays."""
    branches = _branches(y, sigma, log_upper)
    log_sigma, w, c, lo, hi, series, tail = branches
    out = np.empty(y.shape)
    with np.errstate(over="ignore", under="ignore"):
        s = series
        c2 = c[s] ** 2
        w2 = w[s] ** 2
        out[s] = (-log_sigma[s] - 0.5 * c2 - HALF_LOG_2PI
                  + np.log1p(w2 * (c2 - 1.0) / 24.0
                             + w2 * w2 * (c2 * c2 - 6.0 * c2 + 3.0) / 1920.0))
        t = tail
        e_hi = special.erfcx(-hi[t] / SQRT2)
        e_lo = special.erfcx(-lo[t] / SQRT2)
        inner = (e_hi - e_lo) - e_lo * np.expm1(-w[t] * np.abs(c[t]))
        out[t] = np.log(0.5) - 0.5 * hi[t] ** 2 + np.log(inner) - log_upper[t]
        m = ~series & ~tail
        out[m] = np.log(special.ndtr(hi[m]) - special.ndtr(lo[m])) - log_upper[m]
    return out, branches


def _series_slopes(w, c):
    """``(s, ds/dw, ds/dc)`` of the narrow-interval series term ``s(w, c)``."""
    w2, c2 = w * w, c * c
    s = w2 * (c2 - 1.0) / 24.0 + w2 * w2 * (c2 * c2 - 6.0 * c2 + 3.0) / 1920.0
    ds_dw = w * (c2 - 1.0) / 12.0 + w2 * w * (c2 * c2 - 6.0 * c2 + 3.0) / 480.0
    ds_dc = w2 * c / 12.0 + w2 * w2 * c * (c2 - 3.0) / 480.0
    return s, ds_dw, ds_dc


def _log_diff_parts(y, sigma, log_upper):
    """Broadcast inputs, ``log(Phi(b) - Phi(a))``, the branch quantities and ``a``, ``b``."""
    y, sigma, log_upper = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                for v in (y, sigma, log_upper)))
    log_p, (log_sigma, w, c, _, _, series, _) = _log_pdf(y, sigma, log_upper)
    log_diff = log_p + log_upper
    with np.errstate(over="ignore", under="ignore"):
        b = (np.exp(log_upper) - y) / sigma
    return y, sigma, log_upper, log_diff, log_sigma, w, c, series, -y / sigma, b


def log_uniform_normal_and_slope(y, sigma, log_upper):
    """``(log p(y | A), d log p / d log A)``, elementwise: the fused op's first kernel in NumPy.

    The vectorised twin of :func:`pymc_hier.decay.ops.make_kernels`'
    ``value_and_dlog_upper`` (same branches, same closed forms): PyTensor's Python
    implementation of :data:`pymc_hier.decay.ops.log_uniform_normal` calls it on whole
    arrays (its ``nfunc_spec``), so that a graph holding the op is evaluated over many
    posterior draws without a compile and without a Python call per element.
    """
    y, sigma, log_upper, ld, log_sigma, w, c, series, _, b = _log_diff_parts(y, sigma,
                                                                            log_upper)
    slope = np.empty(y.shape)
    with np.errstate(over="ignore", under="ignore"):
        s, ds_dw, ds_dc = _series_slopes(w[series], c[series])
        slope[series] = (-0.5 * c[series] * w[series]
                         + w[series] * (ds_dw + 0.5 * ds_dc) / (1.0 + s))
        m = ~series
        slope[m] = np.exp(log_upper[m] - log_sigma[m] - 0.5 * b[m] ** 2 - HALF_LOG_2PI
                          - ld[m]) - 1.0
    return ld - log_upper, slope


def log_uniform_normal_dys(y, sigma, log_upper):
    """``(d log p / dy, d log p / d sigma)``, elementwise: the fused op's second kernel in NumPy.

    The vectorised twin of :func:`pymc_hier.decay.ops.make_kernels`' ``dy_dsigma`` (the
    ``nfunc_spec`` of :data:`pymc_hier.decay.ops.log_uniform_normal_dys`).
    """
    y, sigma, log_upper, ld, _, w, c, series, a, b = _log_diff_parts(y, sigma, log_upper)
    dy, dsigma = np.empty(y.shape), np.empty(y.shape)
    with np.errstate(over="ignore", under="ignore"):
        cs = c[series]
        s, ds_dw, ds_dc = _series_slopes(w[series], cs)
        dy[series] = (cs - ds_dc / (1.0 + s)) / sigma[series]
        dsigma[series] = (cs * cs - 1.0 - (w[series] * ds_dw + cs * ds_dc) / (1.0 + s)) \
            / sigma[series]
        m = ~series
        r_a = np.exp(-0.5 * a[m] ** 2 - HALF_LOG_2PI - ld[m])   # phi(a) / (Phi(b) - Phi(a))
        r_b = np.exp(-0.5 * b[m] ** 2 - HALF_LOG_2PI - ld[m])
        dy[m] = (r_a - r_b) / sigma[m]
        dsigma[m] = (a[m] * r_a - b[m] * r_b) / sigma[m]
    return dy, dsigma


def log_upper_bound(log_n0_max, alpha, dt):
    """``log A = log N0_max - alpha * dt``: the log of the largest possible amount at ``t1``."""
    return log_n0_max - alpha * dt


def truncated_normal_draws(mean, sigma, upper, rng):
    """Draw ``Normal(mean, sigma)`` truncated to ``[0, upper]``, exactly and stably.

    This is the exact conditional of the amount at measurement given ``(alpha, t0, y)``
    (``mean = y``, ``upper = A``). A bound in the far tail (a negative measurement many
    ``sigma`` below 0, or one far above ``A``) is handled by sampling the distance from
    that bound with an exponential rejection sampler, so no precision is lost; an interval
    around the mode uses plain rejection (element by element, compiled:
    :mod:`pymc_hier.numerics.truncnorm`).

    Parameters
    ----------
    mean, sigma, upper : array_like
        Broadcast together; ``sigma > 0``, ``upper > 0``.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        One draw per broadcast element, inside ``[0, upper]``.
    """
    mean, sigma, upper = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                               for v in (mean, sigma, upper)))
    out = np.empty(mean.shape)
    flat = [np.ascontiguousarray(v).ravel() for v in (mean, sigma, upper)]
    truncated_normal_many(*flat, rng, out.reshape(-1))
    return out


# -- t0 integrated over its day ---------------------------------------------------------

#: Gauss-Legendre nodes per piece of the day (five pieces, see :func:`day_pieces`).
GL_NODES = 16
#: Half-width of the piece that holds the step ``A(t0) = y``, in units of its width.
STEP_HALF_WIDTH = 10.0


@functools.lru_cache(maxsize=32)
def gauss_legendre(n: int):
    """Gauss-Legendre nodes and weights on ``[0, 1]`` (cached; read-only arrays)."""
    x, w = np.polynomial.legendre.leggauss(n)
    x, w = 0.5 * (x + 1.0), 0.5 * w
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def logsumexp_last(a: np.ndarray) -> np.ndarray:
    """``log(sum(exp(a), axis=-1))``, shifted by the maximum (``-inf`` when all are)."""
    m = np.max(a, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(a - m), axis=-1)) + m[..., 0]


def day_pieces(y, sigma, t_measured, day_start, day_end, log_n0_max, alpha):
    """Split each manufacture window into five pieces around the step of the likelihood.

    As a function of ``t0`` the likelihood ``p(y | alpha, t0)`` rises like
    ``Phi((A(t0) - y) / sigma)`` where ``A(t0) = N0_max exp(-alpha (t1 - t0))`` crosses
    ``y``, at ``t*``: a step of width ``sigma / (alpha y)`` that can be far narrower than
    the day. When ``t*`` lies after the day the likelihood is in its Gaussian tail and piles
    up at the day's end within ``sigma / (alpha A(end) |x|)``, ``x = (A(end) - y) / sigma``.
    With ``t_c`` the step clipped to the day and ``d`` ten such widths, the pieces
    ``[start, t_c - 4d], [t_c - 4d, t_c - d], [t_c - d, t_c], [t_c, t_c + d], [t_c + d, end]``
    (clipped to the day) are each smooth enough for a few Gauss-Legendre nodes.

    Returns
    -------
    numpy.ndarray
        Piece boundaries, shape ``(..., 6)``, broadcast over the inputs.
    """
    y, sigma, t1, start, end, alpha = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (y, sigma, t_measured, day_start, day_end, alpha)))
    positive = y > 0
    y_pos = np.where(positive, y, 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t_star = t1 - (log_n0_max - np.log(y_pos)) / alpha
        t_c = np.clip(np.where(np.isfinite(t_star), t_star, end), start, end)
        upper_c = np.exp(log_n0_max - alpha * (t1 - t_c))
        x_c = (upper_c - y) / sigma
        half = STEP_HALF_WIDTH * sigma / (alpha * upper_c * np.maximum(1.0, -x_c))
    t_c = np.where(positive, t_c, end)
    half = np.where(positive & np.isfinite(half), np.minimum(half, end - start), 0.0)
    cuts = [start, t_c - 4.0 * half, t_c - half, t_c, t_c + half, end]
    return np.stack([np.clip(c, start, end) for c in cuts], axis=-1)


def day_log_likelihood(pieces, y, sigma, t_measured, log_n0_max, alpha, n: int = GL_NODES):
    """``log p(y | alpha, t0)`` at the Gauss-Legendre nodes of every non-empty piece.

    Parameters
    ----------
    pieces : numpy.ndarray
        From :func:`day_pieces`, shape ``(..., 6)``.
    y, sigma, t_measured, alpha : array_like
        Broadcast against ``pieces[..., 0]``.
    log_n0_max : float
        ``log N0_max``.
    n : int
        Nodes per piece.

    Returns
    -------
    nodes, log_f : numpy.ndarray
        Shape ``(..., 5, n)``; ``log_f`` is ``-inf`` on empty pieces (not evaluated).
    """
    x = gauss_legendre(n)[0]
    length = np.diff(pieces, axis=-1)
    nodes = pieces[..., :-1, None] + length[..., None] * x
    shape = nodes.shape
    y, sigma, t1, alpha = (np.broadcast_to(np.asarray(v, dtype=float)[..., None, None], shape)
                           for v in (y, sigma, t_measured, alpha))
    full = np.broadcast_to((length > 0)[..., None], shape)
    log_f = np.full(shape, -np.inf)
    log_f[full] = log_uniform_normal_pdf(
        y[full], sigma[full], log_n0_max - alpha[full] * (t1[full] - nodes[full]))
    return nodes, log_f


def log_day_marginal_pdf(y, sigma, t_measured, day_start, day_end, log_n0_max, alpha,
                         n: int = GL_NODES):
    """``log p(y | alpha)`` with ``N0`` integrated in closed form and ``t0`` uniform on its day.

    Parameters
    ----------
    y, sigma, t_measured, day_start, day_end : array_like
        Per-widget data.
    log_n0_max : float
        ``log N0_max``.
    alpha : array_like
        Decay rate(s), broadcast against the data (e.g. shape ``(k, 1)`` for a grid).
    n : int
        Gauss-Legendre nodes per piece.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of the inputs.
    """
    pieces = day_pieces(y, sigma, t_measured, day_start, day_end, log_n0_max, alpha)
    _, log_f = day_log_likelihood(pieces, y, sigma, t_measured, log_n0_max, alpha, n)
    w = gauss_legendre(n)[1]
    length = np.diff(pieces, axis=-1)
    with np.errstate(divide="ignore"):
        log_w = np.log(length / (pieces[..., -1:] - pieces[..., :1]))[..., None] + np.log(w)
    terms = (log_f + log_w).reshape(log_f.shape[:-2] + (-1,))
    return logsumexp_last(terms)


#: Gauss-Legendre nodes per piece when drawing ``t0`` (a CDF good to ~1e-10 is plenty).
DRAW_GL_NODES = 10
