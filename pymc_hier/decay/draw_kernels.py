"""Numba kernels of the exact decay draws: one ``(t0, amount)`` pair per widget and rate.

The algorithm is described in :mod:`pymc_hier.decay.draws`. Amounts are handled by their
logarithms throughout: the amount at measurement lies in ``[0, A]`` with ``A = N0_max
exp(-alpha dt)``, which underflows to 0 once ``alpha dt`` passes about 745, and ``N0 = M
exp(alpha dt)`` would then be ``0 * inf``. :func:`log_fraction` draws ``log(M / A)``
directly (working in units of ``sigma`` or of ``A``, whichever is representable), and
``N0 = N0_max M / A`` needs no ``exp(alpha dt)`` at all: every draw is finite and keeps
its precision however large ``alpha dt`` is. Randomness comes from the caller's
:class:`numpy.random.Generator`; compiled on first use and cached on disk.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pymc_hier.numerics.truncnorm import JIT_OPTIONS as _JIT
from pymc_hier.numerics.truncnorm import safe_log as _log
from pymc_hier.numerics.truncnorm import std_central, tail_offset

#: Below this ``log(A / sigma)`` the interval ``[0, A]`` is so narrow that the normal's
#: density on it is an exponential tilt to double precision (its quadratic term < 5e-17).
LOG_NARROW = math.log(1e-8)


@numba.njit(**_JIT)
def _log_exp_fraction(s, u):
    """``log f`` for ``f`` on ``[0, 1]`` with density proportional to ``exp(-s f)``.

    Uniform where the tilt is below rounding (``|s| < 1e-15``; smaller rates would also
    lose every digit in subnormal arithmetic).
    """
    if abs(s) < 1e-15:
        return _log(u)
    if s > 0.0:
        return _log(-math.log1p(u * math.expm1(-s)) / s)
    g = -math.log1p(u * math.expm1(s)) / -s   # 1 - f, exponential with rate -s
    return math.log1p(-g) if g < 1.0 else -np.inf


@numba.njit(**_JIT)
def log_fraction(y, sigma, log_upper, rng):
    """``log(M / A)`` for ``M ~ Normal(y, sigma)`` truncated to ``[0, A]``, ``A = exp(log_upper)``.

    Exact for every ``log_upper``: an interval narrower than ``1e-8 sigma`` holds an
    exponentially tilted uniform (drawn as the fraction ``M / A``); a wider one is drawn in
    units of ``sigma`` as the offset from the bound the mass piles up against (Robert's
    tail sampler, the width passed directly) or by rejection around the mode.
    """
    log_w = log_upper - math.log(sigma)     # log of the width in units of sigma
    a = -y / sigma                          # the lower bound, standardised
    if not math.isfinite(a):                # y beyond 1e308 sigma: all mass at one end
        return 0.0 if a < 0.0 else -np.inf
    if log_w < LOG_NARROW:
        return _log_exp_fraction(a * math.exp(log_w), rng.random())
    w = math.exp(log_w)
    if a >= 0.0:                            # mass piles up at 0
        return _log(tail_offset(a, w, rng)) - log_w
    if a + w <= 0.0:                        # mass piles up at the upper bound
        d = tail_offset(-(a + w), w, rng)   # distance below it, in units of sigma
        return math.log1p(-d / w) if d < w else -np.inf
    return _log(std_central(a, a + w, rng) - a) - log_w


@numba.njit(**_JIT)
def log_fractions(y, sigma, log_upper, rng, out):
    """:func:`log_fraction` for every element of equally long 1-D arrays, into ``out``."""
    for i in range(out.size):
        out[i] = log_fraction(y[i], sigma[i], log_upper[i], rng)


@numba.njit(**_JIT)
def _pair(y, sigma, t1, start, end, log_n0_max, alpha, rng, rounds):
    """``(t0, log(M / A_e), accepted)`` for one widget and one ``alpha`` (latent ``t0``).

    ``M`` is proposed from the normal truncated to ``[0, A_e]`` and accepted with
    probability ``h(M) / h(0)``; then ``t0 | M`` is a truncated exponential, drawn by
    inversion. After ``rounds`` rejections ``accepted`` is False and the caller draws the
    pair by another exact route.
    """
    log_a_end = log_n0_max - alpha * (t1 - end)
    width = alpha * (end - start)                        # log(A_e / A_s) >= 0
    for _ in range(rounds):
        log_f = log_fraction(y, sigma, log_a_end, rng)
        lm = -log_f                                      # log(A_e / M)
        # accept with h(M) / h(0) = (A_e / min(A_s, M) - 1) / (A_e / A_s - 1): always when
        # M <= A_s; the logs are only needed above A_s
        if lm < width:
            log_ratio = (lm - width + _log(-math.expm1(-lm))
                         - _log(-math.expm1(-width)))
            if not _log(rng.random()) < log_ratio:
                continue
        # t0 given M: density exp(-alpha t0) on [max(start, t_M), end], A(t_M) = M
        t_m = end + log_f / alpha if alpha > 0.0 else -np.inf
        low = t_m if t_m > start else start
        u = rng.random()
        if alpha > 0.0:
            t = low - math.log1p(u * math.expm1(-alpha * (end - low))) / alpha
        else:                                            # no decay: uniform
            t = low + u * (end - low)
        return min(max(t, start), end), log_f, True
    return np.nan, np.nan, False


@numba.njit(**_JIT)
def widget_pairs(y, sigma, t1, start, end, log_n0_max, alpha, rng, rounds, t_out, n0_out,
                 accepted):
    """:func:`_pair` for every ``alpha[d]`` and widget ``w``, into ``(D, W)`` arrays.

    Writes ``t0`` and ``N0 = M exp(alpha (t1 - t0)) = N0_max (M / A_e) exp(alpha (end -
    t0))`` (at most ``N0_max``); where ``accepted`` is False both are NaN (the caller fills
    them in).
    """
    for d in range(alpha.size):
        for w in range(y.size):
            t, log_f, ok = _pair(y[w], sigma[w], t1[w], start[w], end[w], log_n0_max,
                                 alpha[d], rng, rounds)
            t_out[d, w] = t
            n0_out[d, w] = math.exp(log_n0_max + min(log_f + alpha[d] * (end[w] - t), 0.0))
            accepted[d, w] = ok
