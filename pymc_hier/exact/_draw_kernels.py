"""Numba kernels of the exact decay draws: one truncated normal or one ``(t0, amount)`` pair.

The algorithms are those described in :mod:`pymc_hier.exact._decay_draws` and
:func:`pymc_hier.exact._decay_kernels.truncated_normal_draws`; compiled per element, every
rejection loop runs only until its own element is accepted, instead of NumPy re-drawing the
still-rejected subset of an array round after round. Randomness comes from the caller's
:class:`numpy.random.Generator` (Numba advances its bit generator), so draws are reproducible
from a seed and the generator's later draws continue its stream. Compiled on first use and
cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

_JIT = {"cache": True, "nogil": True}


@numba.njit(**_JIT)
def _log(x):
    # math.log raises on 0 in Python; the samplers need log(0) = -inf
    return np.log(x)


@numba.njit(**_JIT)
def std_tail_offset(a, b, rng):
    """``x - a`` for ``x ~ N(0, 1)`` truncated to ``[a, b]``, ``0 <= a < b <= inf``.

    Robert's (1995) exponential rejection sampler with the optimal rate; the offset keeps
    full precision however far in the tail ``a`` lies.
    """
    lam = 0.5 * (a + math.sqrt(a * a + 4.0))
    width = b - a
    best = min(max(lam, a), b)
    while True:
        u = rng.random()
        delta = min(-math.log1p(u * math.expm1(-lam * width)) / lam, width)
        x = a + delta
        if _log(rng.random()) < -0.5 * (x - lam) ** 2 + 0.5 * (best - lam) ** 2:
            return delta


@numba.njit(**_JIT)
def std_central(lo, hi, rng):
    """``x ~ N(0, 1)`` truncated to ``[lo, hi]``, ``lo < 0 < hi``, by rejection.

    A narrow interval proposes uniformly and accepts with ``phi(x) / phi(0) >= exp(-1/2)``;
    a wide one proposes from the standard normal and accepts inside (probability >= 0.34).
    """
    narrow = hi - lo < 1.0
    while True:
        if narrow:
            x = lo + (hi - lo) * rng.random()
            if _log(rng.random()) < -0.5 * x * x:
                return x
        else:
            x = rng.standard_normal()
            if lo <= x <= hi:
                return x


@numba.njit(**_JIT)
def truncated_normal(mean, sigma, upper, rng):
    """One draw of ``Normal(mean, sigma)`` truncated to ``[0, upper]``."""
    a = -mean / sigma
    b = (upper - mean) / sigma
    if a >= 0.0:            # mass piles up at 0
        out = sigma * std_tail_offset(a, b, rng)
    elif b <= 0.0:          # mass piles up at the upper bound
        out = upper - sigma * std_tail_offset(-b, -a, rng)
    else:
        out = mean + sigma * std_central(a, b, rng)
    return min(max(out, 0.0), upper)


@numba.njit(**_JIT)
def truncated_normal_many(mean, sigma, upper, rng, out):
    """:func:`truncated_normal` for every element of equally long 1-D arrays, into ``out``."""
    for i in range(out.size):
        out[i] = truncated_normal(mean[i], sigma[i], upper[i], rng)


@numba.njit(**_JIT)
def _pair(y, sigma, t1, start, end, log_n0_max, alpha, rng, rounds):
    """``(t0, M, accepted)`` for one widget and one ``alpha`` (latent ``t0``).

    ``M`` is proposed from the normal truncated to ``[0, A_e]`` and accepted with
    probability ``h(M) / h(0)``; then ``t0 | M`` is a truncated exponential, drawn by
    inversion. After ``rounds`` rejections ``accepted`` is False and the caller draws the
    pair by another exact route.
    """
    log_a_end = log_n0_max - alpha * (t1 - end)
    width = alpha * (end - start)                        # log(A_e / A_s) >= 0
    a_end = math.exp(log_a_end)
    for _ in range(rounds):
        m = truncated_normal(y, sigma, a_end, rng)
        log_m = _log(m)
        lm = log_a_end - log_m                           # log(A_e / M)
        # accept with h(M) / h(0) = (A_e / min(A_s, M) - 1) / (A_e / A_s - 1): always when
        # M <= A_s; the logs are only needed above A_s
        if lm < width:
            log_ratio = (lm - width + _log(-math.expm1(-lm))
                         - _log(-math.expm1(-width)))
            if not _log(rng.random()) < log_ratio:
                continue
        # t0 given M: density exp(-alpha t0) on [max(start, t_M), end]
        t_m = t1 - (log_n0_max - log_m) / alpha
        low = t_m if t_m > start else start
        u = rng.random()
        t = low - math.log1p(u * math.expm1(-alpha * (end - low))) / alpha
        return min(max(t, start), end), m, True
    return np.nan, np.nan, False


@numba.njit(**_JIT)
def widget_pairs(y, sigma, t1, start, end, log_n0_max, alpha, rng, rounds, t_out, n0_out,
                 accepted):
    """:func:`_pair` for every ``alpha[d]`` and widget ``w``, into ``(D, W)`` arrays.

    Writes ``t0`` and ``N0 = min(M exp(alpha (t1 - t0)), N0_max)``; where ``accepted`` is
    False both are NaN.
    """
    n0_max = math.exp(log_n0_max)
    for d in range(alpha.size):
        for w in range(y.size):
            t, m, ok = _pair(y[w], sigma[w], t1[w], start[w], end[w], log_n0_max, alpha[d],
                             rng, rounds)
            t_out[d, w] = t
            n0_out[d, w] = min(m * math.exp(alpha[d] * (t1[w] - t)), n0_max)
            accepted[d, w] = ok
