"""Numba kernel of the exact decay draws: one ``(t0, amount)`` pair per widget and rate.

The algorithm is described in :mod:`pymc_hier.decay.draws`. Randomness comes from the
caller's :class:`numpy.random.Generator`; compiled on first use and cached on disk.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pymc_hier.numerics.truncnorm import JIT_OPTIONS as _JIT
from pymc_hier.numerics.truncnorm import safe_log as _log
from pymc_hier.numerics.truncnorm import truncated_normal


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
