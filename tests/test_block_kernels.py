"""The compiled per-widget sums of the decay likelihood (:mod:`pymc_hier.decay.block_kernels`).

The day integral's kernel reads the special functions at the interval's fixed end from a
per-widget table instead of recomputing them at every node: it must give the generic
kernel's numbers to the last bit, on every branch.
"""

import numpy as np
import pytest

from pymc_hier.decay import block_kernels as bk
from pymc_hier.decay.kernels import _branches, log_day_marginal_pdf


def _grid():
    """(y, sigma, log A) over every branch: series, lower tail, plain, mirrored or not."""
    y = np.array([-50.0, -3.0, -0.2, 0.0, 1e-3, 0.4, 1.0, 2.5, 9.0, 40.0, 1e4])
    sigma = np.array([1e-3, 0.05, 0.3, 1.0, 7.0])
    log_upper = np.concatenate([np.linspace(-800.0, -650.0, 4), np.linspace(-30.0, 12.0, 57)])
    return (a.ravel() for a in np.meshgrid(y, sigma, log_upper, indexing="ij"))


def _with_constants(y, sigma, log_upper, const):
    return np.array([bk._log_diff_day(yi, si, ci, lu)
                     for yi, si, ci, lu in zip(y, sigma, const, log_upper, strict=True)])


def test_day_kernel_equals_the_generic_kernel_bit_for_bit():
    y, sigma, log_upper = _grid()
    const = np.empty((y.size, 6))
    bk._widget_constants(y, sigma, const)
    got = _with_constants(y, sigma, log_upper, const)
    want = np.array([bk._LOG_DIFF(yi, si, lu)[0]
                     for yi, si, lu in zip(y, sigma, log_upper, strict=True)])
    np.testing.assert_array_equal(got, want)
    # every branch was taken: series (narrow), tail (hi < -1) and plain, both mirrorings
    _, _, c, _, _, series, tail = _branches(y, sigma, log_upper)
    for taken in (series, tail & (c > 0), tail & (c <= 0), ~series & ~tail & (c > 0),
                  ~series & ~tail & (c <= 0), log_upper < -700):
        assert taken.sum() >= 10
    # a deliberately wrong table (another widget's constants) is caught
    wrong = np.roll(const, 1, axis=0)
    assert not np.array_equal(_with_constants(y, sigma, log_upper, wrong), want)


@pytest.mark.parametrize("alpha", [1e-4, 0.08, 3.0])
def test_block_sums_match_the_numpy_twin(alpha):
    rng = np.random.default_rng(23)
    n = 400
    start = rng.uniform(0.0, 50.0, n)
    end = start + 1.0
    t1 = end + rng.uniform(0.0, 30.0, n)
    sigma = rng.uniform(0.01, 1.0, n)
    y = 10.0 * np.exp(-0.08 * (t1 - start)) * rng.uniform(0, 1, n) + sigma * rng.normal(size=n)
    got = bk.log_likelihoods(y, sigma, t1, np.log(10.0), [alpha], day_start=start,
                             day_end=end)[0]
    want = log_day_marginal_pdf(y, sigma, t1, start, end, np.log(10.0), alpha)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
