"""The truncated normal samplers of pymc_hier.numerics.truncnorm, proposal by proposal.

:func:`tail_offset` chooses among a uniform, a half-normal and an exponential proposal by
the interval; :func:`std_central` among a uniform and a normal one. Each case is held
against SciPy's truncated normal by a Kolmogorov-Smirnov test whose power is shown on a
deliberately wrong sampler (the proposal accepted without its correction).
"""

import math

import numba
import numpy as np
import pytest
from scipy import special, stats

from pymc_hier.numerics.truncnorm import (
    HALF_NORMAL_BELOW,
    UNIFORM_SPAN,
    std_central,
    tail_offset,
)

N = 20_000


@numba.njit
def _offsets(a, width, rng, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = tail_offset(a, width, rng)
    return out


@numba.njit
def _central(lo, hi, rng, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = std_central(lo, hi, rng)
    return out


def _proposal(a, width):
    if width * (a + 0.5 * width) <= UNIFORM_SPAN:
        return "uniform"
    if a < HALF_NORMAL_BELOW and width >= HALF_NORMAL_BELOW:
        return "half-normal"
    return "exponential"


def _tail_cdf(a, width):
    """CDF of the offset x - a, x ~ N(0, 1) truncated to [a, a + width], by upper tails."""
    def cdf(d):
        # Phi(-a) - Phi(-(a + d)) over Phi(-a) - Phi(-(a + width)), in erfc (no cancellation)
        top = special.erfc(a / math.sqrt(2)) - special.erfc((a + np.minimum(d, width))
                                                             / math.sqrt(2))
        return top / (special.erfc(a / math.sqrt(2)) - special.erfc((a + width) / math.sqrt(2)))
    return cdf


CASES = [  # (a, width, proposal)
    (0.0, 0.3, "uniform"),
    (0.3, 0.5, "uniform"),
    (5.0, 0.05, "uniform"),
    (0.07, 15.0, "half-normal"),
    (0.5, math.inf, "half-normal"),
    (0.0, 1.2, "half-normal"),
    (1.07, 0.627, "exponential"),
    (0.6, 5.0, "exponential"),
    (1.0, math.inf, "exponential"),
    (1.5, 2.0, "exponential"),
    (5.0, 3.0, "exponential"),
    (30.0, math.inf, "exponential"),
]


@pytest.mark.parametrize(("a", "width", "proposal"), CASES)
def test_tail_offsets_follow_the_truncated_normal(a, width, proposal, rng):
    assert _proposal(a, width) == proposal   # every proposal is exercised
    d = _offsets(a, width, rng, N)
    assert np.all((d >= 0) & (d <= width))
    assert stats.kstest(d, _tail_cdf(a, width)).pvalue > 1e-3


def _uncorrected(a, width, rng):
    """The proposal of each sampler taken as it is (no acceptance step): wrong draws."""
    proposal = _proposal(a, width)
    if proposal == "uniform":
        return width * rng.uniform(size=N)
    if proposal == "half-normal":   # |z| - a, those below a kept at 0 rather than rejected
        d = np.maximum(np.abs(rng.standard_normal(4 * N)) - a, 0.0)
        return d[d <= width][:N]
    lam = 0.5 * (a + math.sqrt(a * a + 4))
    e = rng.exponential(1.0 / lam, size=4 * N)
    return e[e <= width][:N]


@pytest.mark.parametrize(("a", "width"), [(0.3, 0.5), (0.07, 15.0), (1.5, 2.0)])
def test_the_tail_test_has_power(a, width, rng):
    """Each proposal without its correction fails the test the samplers pass."""
    assert stats.kstest(_uncorrected(a, width, rng), _tail_cdf(a, width)).pvalue < 1e-6


def test_far_tail_offsets_keep_their_precision(rng):
    """Beyond a = 1e8 the offset is exponential with rate a to double precision."""
    a, width = 1e10, 3e-10
    d = _offsets(a, width, rng, N)
    assert np.all((d > 0) & (d <= width))
    ref = stats.truncexpon(a * width, scale=1.0 / a)
    assert stats.kstest(d, ref.cdf).pvalue > 1e-3


@pytest.mark.parametrize(("lo", "hi"), [(-0.5, 0.3), (-0.95, 0.04), (-3.9, 10.0), (-0.02, 5.0),
                                        (-40.0, 0.1)])
def test_central_draws_follow_the_truncated_normal(lo, hi, rng):
    x = _central(lo, hi, rng, N)
    assert np.all((x >= lo) & (x <= hi))
    assert stats.kstest(x, stats.truncnorm(lo, hi).cdf).pvalue > 1e-3
    # power: the same draws shifted by a tenth of a standard deviation fail it
    assert stats.kstest(x + 0.1, stats.truncnorm(lo, hi).cdf).pvalue < 1e-6


def test_draws_are_reproducible_from_the_seed():
    one = _offsets(1.5, 2.0, np.random.default_rng(3), 100)
    assert np.array_equal(one, _offsets(1.5, 2.0, np.random.default_rng(3), 100))
    assert not np.array_equal(one, _offsets(1.5, 2.0, np.random.default_rng(4), 100))
