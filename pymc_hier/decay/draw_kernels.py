"""Numba kernels of the exact decay draws: one ``(t0, amount)`` pair per widget and rate.

The algorithm is described in :mod:`pymc_hier.decay.draws`. Amounts are handled by their
logarithms throughout: the amount at measurement lies in ``[0, A]`` with ``A = N0_max
exp(-alpha dt)``, which underflows to 0 once ``alpha dt`` passes about 745, and ``N0 = M
exp(alpha dt)`` would then be ``0 * inf``. :func:`log_fraction` draws ``log(M / A)``
directly (working in units of ``sigma`` or of ``A``, whichever is representable), and
``N0 = N0_max M / A`` needs no ``exp(alpha dt)`` at all: every draw is finite and keeps
its precision however large ``alpha dt`` is. Randomness comes from the caller's
:class:`numpy.random.Generator`; compiled on first use and cached on disk.

The loops over rates and widgets (:func:`known_n0`, :func:`widget_pairs`) compute what
depends on the widget alone (``-y / sigma``, ``log sigma``) once, not for every rate, and
what depends on the rate and the day's length alone (``exp(-alpha D)``) once per run of
widgets with days of equal length; the per-pair functions that take the generator are
inlined into them (:data:`~pymc_hier.numerics.truncnorm.INLINE_OPTIONS`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pymc_hier.numerics.truncnorm import INLINE_OPTIONS as _INLINE
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


#: How :func:`std_offset` describes the fraction ``f = M / A`` it drew: by ``log f``, by
#: the distance from 0 (``f = v / w``) or by the distance below ``A`` (``f = 1 - v / w``).
BY_LOG, FROM_ZERO, FROM_TOP = 0, 1, 2
#: Up to this ``log(A / sigma)`` the fraction is used as it is, ``v / w`` (``w`` finite):
#: one division instead of a logarithm and an exponential, and as precise.
LOG_LINEAR = 700.0


@numba.njit(**_INLINE)
def std_offset(a, log_w, rng):
    """Draw the amount's fraction ``f = M / A`` as ``(how, v, w)``, in units of ``sigma``.

    ``a = -y / sigma``, ``log_w = log(A / sigma)``; ``how`` is :data:`BY_LOG` (``v = log
    f``: an interval narrower than ``1e-8 sigma``, or ``y`` beyond ``1e308 sigma``),
    :data:`FROM_ZERO` (``v`` the distance from 0, ``f = v / w``, ``w = A / sigma``) or
    :data:`FROM_TOP` (``v`` the distance below ``A``, ``f = 1 - v / w``).
    :func:`offset_log_fraction` and :func:`offset_fraction` read it. The case analysis of
    :func:`log_fraction`; the loops compute ``a`` and ``log sigma`` once per widget.
    """
    if not math.isfinite(a):                # y beyond 1e308 sigma: all mass at one end
        return BY_LOG, (0.0 if a < 0.0 else -np.inf), 0.0
    if log_w < LOG_NARROW:
        return BY_LOG, _log_exp_fraction(a * math.exp(log_w), rng.random()), 0.0
    w = math.exp(log_w)
    if a + w > 0.0 and a < 0.0:             # the mode inside
        return FROM_ZERO, std_central(a, a + w, rng) - a, w
    # the mass piles up at 0 (a >= 0) or at the upper bound: the distance from that end
    top = a < 0.0
    return (FROM_TOP if top else FROM_ZERO), tail_offset(-(a + w) if top else a, w, rng), w


@numba.njit(**_INLINE)
def offset_log_fraction(how, v, w, log_w):
    """``log f`` of :func:`std_offset`'s ``(how, v, w)``, at every ``log_w``."""
    if how == BY_LOG:
        return v
    if how == FROM_ZERO:
        return _log(v) - log_w
    return math.log1p(-v / w) if v < w else -np.inf


@numba.njit(**_INLINE)
def offset_fraction(how, v, w):
    """``f`` of :func:`std_offset`'s ``(how, v, w)``, where ``log_w <= LOG_LINEAR``."""
    if how == BY_LOG:
        return math.exp(v)
    if how == FROM_ZERO:
        return min(v / w, 1.0)
    return max(1.0 - v / w, 0.0)


@numba.njit(**_INLINE)
def std_log_fraction(a, log_w, rng):
    """:func:`log_fraction` given ``a = -y / sigma`` and ``log_w = log(A / sigma)``."""
    how, v, w = std_offset(a, log_w, rng)
    return offset_log_fraction(how, v, w, log_w)


@numba.njit(**_INLINE)
def log_fraction(y, sigma, log_upper, rng):
    """``log(M / A)`` for ``M ~ Normal(y, sigma)`` truncated to ``[0, A]``, ``A = exp(log_upper)``.

    Exact for every ``log_upper``: an interval narrower than ``1e-8 sigma`` holds an
    exponentially tilted uniform (drawn as the fraction ``M / A``); a wider one is drawn in
    units of ``sigma`` as the offset from the bound the mass piles up against
    (:func:`~pymc_hier.numerics.truncnorm.tail_offset`, the width passed directly) or by
    rejection around the mode.
    """
    return std_log_fraction(-y / sigma, log_upper - math.log(sigma), rng)


@numba.njit(**_JIT)
def log_fractions(y, sigma, log_upper, rng, out):
    """:func:`log_fraction` for every element of equally long 1-D arrays, into ``out``."""
    for i in range(out.size):
        out[i] = log_fraction(y[i], sigma[i], log_upper[i], rng)


@numba.njit(**_JIT)
def _standardised(y, sigma):
    """``-y / sigma`` and ``log sigma`` of every widget."""
    a = np.empty(y.size)
    log_sigma = np.empty(y.size)
    for w in range(y.size):
        a[w] = -y[w] / sigma[w]
        log_sigma[w] = math.log(sigma[w])
    return a, log_sigma


@numba.njit(**_JIT)
def known_n0(y, sigma, dt, log_n0_max, alpha, rng, n0_out):
    """``N0`` given each ``alpha[d]`` and known ``t0`` for every widget, into ``(D, W)``.

    ``dt = t1 - t0`` is ``(1, W)`` (the same for every rate) or ``(D, W)``. The amount's
    fraction of ``A = N0_max exp(-alpha dt)`` is drawn as :func:`log_fraction` does
    (:func:`std_offset`) and ``N0 = N0_max M / A`` (at most ``N0_max``), through ``log(M /
    A)`` where ``A / sigma`` passes ``exp(LOG_LINEAR)``.
    """
    a, log_sigma = _standardised(y, sigma)
    n0_max = math.exp(log_n0_max)
    per_rate = dt.shape[0] > 1
    for d in range(alpha.size):
        r = d if per_rate else 0
        for w in range(y.size):
            log_w = (log_n0_max - alpha[d] * dt[r, w]) - log_sigma[w]
            how, v, width = std_offset(a[w], log_w, rng)
            if log_w <= LOG_LINEAR:
                n0_out[d, w] = n0_max * offset_fraction(how, v, width)
            else:
                log_f = offset_log_fraction(how, v, width, log_w)
                n0_out[d, w] = math.exp(log_n0_max + min(log_f, 0.0))


@numba.njit(**_INLINE)
def _pair(a, log_w, width, em, log_em, start, end, alpha, log_n0_max, rng, rounds):
    """``(t0, N0, accepted)`` for one widget and one ``alpha`` (latent ``t0``).

    ``a = -y / sigma``, ``log_w = log(A_e / sigma)``, ``width = alpha (end - start) =
    log(A_e / A_s)``, ``em = expm1(-width)`` and ``log_em = log(-em)``. ``M`` is proposed
    from the normal truncated to ``[0, A_e]`` and accepted with probability ``h(M) / h(0)``
    (``1`` below ``A_s``); then ``t0 | M`` is a truncated exponential, drawn by inversion,
    and ``N0 = M exp(alpha (t1 - t0)) = N0_max f exp(alpha (end - t0))``, ``f = M / A_e``
    (at most ``N0_max``). After ``rounds`` rejections ``accepted`` is False and the caller
    draws the pair by another exact route.

    Where ``A_e / sigma < exp(LOG_LINEAR)`` and ``width <= 1`` (``linear``) the fraction
    ``f`` is used as it is, and ``exp(alpha (end - t0))`` by its value at the inverted
    uniform: ``(1 + u em) / (1 + em)`` on the whole day, ``(1 + u (f - 1)) / f`` from
    ``t_M``; both are within a few rounding errors of the exponential there (``1 + em >=
    1 / e``). Elsewhere through ``log f`` and the exponential, which stay finite at any
    ``alpha``.
    """
    linear = log_w <= LOG_LINEAR and width <= 1.0
    start_share = 1.0 + em                               # A_s / A_e
    for _ in range(rounds):
        how, v, w = std_offset(a, log_w, rng)
        f = offset_fraction(how, v, w) if linear else 0.0
        log_f = 0.0 if linear else offset_log_fraction(how, v, w, log_w)
        above = f > start_share if linear else -log_f < width   # M above A_s
        if above:
            log_f = offset_log_fraction(how, v, w, log_w)
            # accept with h(M) / h(0) = (A_e / M - 1) / (A_e / A_s - 1): log U < log ratio,
            # U uniform, is E > -log ratio, E standard exponential
            if not (rng.standard_exponential()
                    > width + log_f - _log(-math.expm1(log_f)) + log_em):
                continue
        # t0 given M: density exp(-alpha t0) on [max(start, t_M), end], A(t_M) = M
        u = rng.random()
        if above:           # t_M inside the day: alpha (end - t_M) = -log f
            t = end + (log_f - math.log1p(u * math.expm1(log_f))) / alpha
            grow = 1.0 + u * (f - 1.0)                   # f exp(alpha (end - t))
        elif alpha > 0.0:   # the whole day: alpha (end - start) = width
            t = start - math.log1p(u * em) / alpha
            grow = f * (1.0 + u * em) / start_share
        else:               # no decay: uniform
            t = start + u * (end - start)
            grow = f
        t = min(max(t, start), end)
        if linear:
            return t, math.exp(log_n0_max) * min(grow, 1.0), True
        return t, math.exp(log_n0_max + min(log_f + alpha * (end - t), 0.0)), True
    return np.nan, np.nan, False


@numba.njit(**_JIT)
def widget_pairs(y, sigma, t1, start, end, log_n0_max, alpha, rng, rounds, t_out, n0_out,
                 accepted):
    """:func:`_pair` for every ``alpha[d]`` and widget ``w``, into ``(D, W)`` arrays.

    Writes ``t0`` and ``N0``; where ``accepted`` is False both are NaN (the caller fills
    them in). Returns the number of such pairs. ``exp(-alpha D)`` is computed once per run
    of widgets whose days ``D`` are equally long (all of them, for whole days).
    """
    a, log_sigma = _standardised(y, sigma)
    rejected = 0
    for d in range(alpha.size):
        rate = alpha[d]
        day = np.nan
        width = em = log_em = 0.0
        for w in range(y.size):
            if end[w] - start[w] != day:
                day = end[w] - start[w]
                width = rate * day
                em = math.expm1(-width)
                log_em = _log(-em)
            log_w = (log_n0_max - rate * (t1[w] - end[w])) - log_sigma[w]
            t, n0, ok = _pair(a[w], log_w, width, em, log_em, start[w], end[w], rate,
                              log_n0_max, rng, rounds)
            t_out[d, w] = t
            n0_out[d, w] = n0
            accepted[d, w] = ok
            rejected += not ok
    return rejected
