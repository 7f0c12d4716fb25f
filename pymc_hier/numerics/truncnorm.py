"""Numba kernels for truncated normal draws, one element at a time.

Robert's (1995) exponential rejection in the tails, uniform or normal proposals in the
middle. Compiled per element, every rejection loop runs only until its own element is
accepted, instead of NumPy re-drawing the still-rejected subset of an array round after
round. Randomness comes from the caller's :class:`numpy.random.Generator` (Numba advances
its bit generator), so draws are reproducible from a seed and the generator's later draws
continue its stream. Compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Options of every kernel here: cached on disk, no GIL.
JIT_OPTIONS = {"cache": True, "nogil": True}


@numba.njit(**JIT_OPTIONS)
def safe_log(x):
    """``log(x)`` with ``log(0) = -inf`` (``math.log`` raises there)."""
    return np.log(x)


@numba.njit(**JIT_OPTIONS)
def std_tail_offset(a, b, rng):
    """``x - a`` for ``x ~ N(0, 1)`` truncated to ``[a, b]``, ``0 <= a < b <= inf``.

    Robert's (1995) exponential rejection sampler with the optimal rate; the offset keeps
    full precision however far in the tail ``a`` lies.
    """
    return tail_offset(a, b - a, rng)


@numba.njit(**JIT_OPTIONS)
def tail_offset(a, width, rng):
    """:func:`std_tail_offset` on ``[a, a + width]``, the width given directly.

    Precise where ``a + width`` would round to ``a`` (a far tail and a narrow interval),
    and for ``a`` beyond ``1e150``, where the optimal rate is ``a`` to double precision.
    """
    lam = 0.5 * (a + math.sqrt(a * a + 4.0)) if a < 1e150 else a
    best = min(max(lam, a), a + width)
    while True:
        u = rng.random()
        delta = min(-math.log1p(u * math.expm1(-lam * width)) / lam, width)
        x = a + delta
        if safe_log(rng.random()) < -0.5 * (x - lam) ** 2 + 0.5 * (best - lam) ** 2:
            return delta


@numba.njit(**JIT_OPTIONS)
def std_central(lo, hi, rng):
    """``x ~ N(0, 1)`` truncated to ``[lo, hi]``, ``lo < 0 < hi``, by rejection.

    A narrow interval proposes uniformly and accepts with ``phi(x) / phi(0) >= exp(-1/2)``;
    a wide one proposes from the standard normal and accepts inside (probability >= 0.34).
    """
    narrow = hi - lo < 1.0
    while True:
        if narrow:
            x = lo + (hi - lo) * rng.random()
            if safe_log(rng.random()) < -0.5 * x * x:
                return x
        else:
            x = rng.standard_normal()
            if lo <= x <= hi:
                return x


@numba.njit(**JIT_OPTIONS)
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


@numba.njit(**JIT_OPTIONS)
def truncated_normal_many(mean, sigma, upper, rng, out):
    """:func:`truncated_normal` for every element of equally long 1-D arrays, into ``out``."""
    for i in range(out.size):
        out[i] = truncated_normal(mean[i], sigma[i], upper[i], rng)
