"""Numba kernels for truncated normal draws, one element at a time.

An interval in the tail (``0 <= a < b``) is drawn as the offset ``x - a`` from its near end,
with whichever exact rejection sampler is cheapest there (:func:`tail_offset`): a uniform
proposal on a narrow interval, the half-normal near 0, Robert's (1995) exponential proposal
further out. An interval around the mode proposes uniformly or from the normal. Acceptance
tests compare a standard exponential variate with the log of the ratio (``log U < r`` is
``E > -r``), which the generator's ziggurat draws without a logarithm. Compiled per element,
every rejection loop runs only until its own element is accepted, instead of NumPy re-drawing
the still-rejected subset of an array round after round. Randomness comes from the caller's
:class:`numpy.random.Generator` (Numba advances its bit generator), so draws are
reproducible from a seed and the generator's later draws continue its stream. Compiled on
first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Options of every kernel here: cached on disk, no GIL.
JIT_OPTIONS = {"cache": True, "nogil": True}
#: ... and of those that take the generator: inlined into their caller by Numba. A call
#: that passes the generator to a compiled function costs about 11 ns (its reference
#: count), more than a draw: the rejection samplers below run two to four times faster
#: inlined.
INLINE_OPTIONS = {**JIT_OPTIONS, "inline": "always"}


@numba.njit(**JIT_OPTIONS)
def safe_log(x):
    """``log(x)`` with ``log(0) = -inf`` (``math.log`` raises there)."""
    return np.log(x)


@numba.njit(**INLINE_OPTIONS)
def std_tail_offset(a, b, rng):
    """``x - a`` for ``x ~ N(0, 1)`` truncated to ``[a, b]``, ``0 <= a < b <= inf``.

    By :func:`tail_offset`; the offset keeps full precision however far in the tail ``a``
    lies.
    """
    return tail_offset(a, b - a, rng)


#: :func:`tail_offset` proposes uniformly where ``width * (a + width / 2)`` (the largest
#: log ratio of the density over the interval) is at most this: acceptance above ~0.7.
UNIFORM_SPAN = 0.6
#: ... and from the half-normal where ``a`` is below this and the interval at least as wide:
#: acceptance ``2 (Phi(a + width) - Phi(a))`` above ~0.3 at a third of the uniform's cost.
HALF_NORMAL_BELOW = 0.6


@numba.njit(**INLINE_OPTIONS)
def tail_offset(a, width, rng):
    """:func:`std_tail_offset` on ``[a, a + width]``, the width given directly.

    Three exact rejection samplers, the cheapest for the interval (each accepted draw
    follows the truncated normal whatever the proposal):

    - ``width * (a + width / 2) <= UNIFORM_SPAN``: offset uniform on ``[0, width]``,
      accepted with probability ``exp(-d (a + d / 2))`` (the density's ratio to its value
      at ``a``);
    - ``a < HALF_NORMAL_BELOW`` and ``width >= HALF_NORMAL_BELOW``: ``|z|`` of a standard
      normal, accepted inside the interval;
    - otherwise Robert's (1995) exponential proposal with the optimal rate
      ``lam = a + gap``, ``gap = 2 / (a + sqrt(a^2 + 4))`` (computed without cancellation,
      ``1 / a`` beyond ``1e8``), proposals past ``width`` rejected, then accepted with
      probability ``exp(-(d - gap)^2 / 2 + (best - gap)^2 / 2)``, ``best = min(gap, width)``.

    The offset keeps full precision however far in the tail ``a`` lies, and where
    ``a + width`` would round to ``a`` (a far tail and a narrow interval).
    """
    if width * (a + 0.5 * width) <= UNIFORM_SPAN:
        while True:
            d = width * rng.random()
            if rng.standard_exponential() > d * (a + 0.5 * d):
                return d
    if a < HALF_NORMAL_BELOW and width >= HALF_NORMAL_BELOW:
        while True:
            d = abs(rng.standard_normal()) - a
            if 0.0 <= d <= width:
                return d
    gap = 2.0 / (a + math.sqrt(a * a + 4.0)) if a < 1e8 else 1.0 / a
    lam = a + gap
    top = min(width - gap, 0.0)             # best - lam, best = min(lam, a + width)
    shift = 0.5 * top * top
    while True:
        d = rng.standard_exponential() / lam
        if d <= width and rng.standard_exponential() > 0.5 * (d - gap) ** 2 - shift:
            return d


@numba.njit(**INLINE_OPTIONS)
def std_central(lo, hi, rng):
    """``x ~ N(0, 1)`` truncated to ``[lo, hi]``, ``lo < 0 < hi``, by rejection.

    A narrow interval proposes uniformly and accepts with ``phi(x) / phi(0) >= exp(-1/2)``;
    a wide one proposes from the standard normal and accepts inside (probability >= 0.34).
    """
    if hi - lo < 1.0:
        while True:
            x = lo + (hi - lo) * rng.random()
            if rng.standard_exponential() > 0.5 * x * x:
                return x
    while True:
        x = rng.standard_normal()
        if lo <= x <= hi:
            return x


@numba.njit(**INLINE_OPTIONS)
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
