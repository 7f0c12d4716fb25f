"""Uniformity tests of SBC ranks: their size and power, exact bins, and bad input."""

import numpy as np
import pytest
from scipy import stats

from pymc_hier.numerics.uniformity import (
    chi_square_ranks,
    default_bins,
    ecdf_points,
    ecdf_test,
)

L = 99          # ranks 0 .. 99
REPEATS = 400   # data sets per size check


def _binomial_band(p, n, z=4.0):
    """p +- z binomial standard errors: where the rejection rate of a level-p test lies."""
    half = z * np.sqrt(p * (1 - p) / n)
    return p - half, p + half


@pytest.mark.parametrize("n", [30, 300])
def test_tests_hold_their_level_on_uniform_ranks(rng, n):
    ranks = rng.integers(0, L + 1, size=(n, REPEATS))
    lo, hi = _binomial_band(0.05, REPEATS)
    ecdf = ecdf_test(ranks, L)
    assert lo < np.mean(ecdf.pvalue < 0.05) < hi
    _, p = chi_square_ranks(ranks, L)
    assert lo < np.mean(p < 0.05) < hi
    # the band holds the whole ECDF difference with probability prob
    inside = np.all((ecdf.difference >= ecdf.lower - 1e-12)
                    & (ecdf.difference <= ecdf.upper + 1e-12), axis=-1)
    lo, hi = _binomial_band(0.95, REPEATS)
    assert lo < np.mean(inside) < hi


def test_tests_detect_overdispersed_and_shifted_ranks(rng):
    """Ranks of a posterior too narrow (U-shaped) or biased (skewed): both tests fail."""
    n = 300
    for a, b in ((0.6, 0.6), (1.4, 1.0)):
        u = rng.beta(a, b, size=(n, 50))
        ranks = np.minimum(np.floor(u * (L + 1)), L).astype(int)
        assert np.mean(ecdf_test(ranks, L).pvalue < 0.01) > 0.9
        assert np.mean(chi_square_ranks(ranks, L)[1] < 0.01) > 0.5


def test_bins_that_do_not_divide_the_ranks_have_exact_expected_counts():
    """With L + 1 = 7 rank values and 3 bins (sizes 2, 2, 3) the exact uniform counts give
    a zero statistic; equal expected counts would not."""
    ranks = np.repeat(np.arange(7), 10)
    stat, p = chi_square_ranks(ranks, 6, bins=3)
    assert stat == pytest.approx(0.0, abs=1e-12) and p == pytest.approx(1.0)
    assert default_bins(300, 99) == 20 and default_bins(30, 99) == 3 and default_bins(30, 1) == 2


def test_ecdf_points_are_rank_thresholds_and_the_test_is_deterministic(rng):
    assert list(ecdf_points(5, 9)) == [2, 4, 6, 8]       # 5 ranks, 10 values: 4 inner points
    assert list(ecdf_points(50, 9)) == list(range(1, 10))  # at most every rank value
    ranks = rng.integers(0, 20, size=(40, 3))
    a, b = ecdf_test(ranks, 19), ecdf_test(ranks, 19)
    np.testing.assert_array_equal(a.pvalue, b.pvalue)
    assert a.difference.shape == (3, len(a.points))
    assert np.all(a.lower <= 0) and np.all(a.upper >= 0)


def test_extremes_and_exact_small_cases():
    # two ranks among one draw: the smallest case
    res = ecdf_test(np.array([0, 1]), 1)
    assert res.points.tolist() == [0.5] and 0 < res.pvalue <= 1
    # every rank 0: as far from uniform as it gets
    res = ecdf_test(np.zeros((200, 1), dtype=int), L)
    assert res.pvalue[0] < 1e-3
    stat, p = chi_square_ranks(np.zeros(200, dtype=int), L)
    assert p < 1e-30 and stat == pytest.approx(200 * 19, rel=1e-12)   # 20 bins, one full
    # the chi-square p-value is scipy's
    ranks = np.arange(100) % 100
    stat, p = chi_square_ranks(ranks, 99, bins=10)
    assert p == pytest.approx(stats.chi2.sf(stat, 9))


@pytest.mark.parametrize(("ranks", "n_draws", "kwargs", "match"), [
    ([0], 9, {}, "at least 2"),
    ([0, 10], 9, {}, "whole numbers in \\[0, 9\\]"),
    ([0.5, 1], 9, {}, "whole numbers"),
    ([0, 1], 0, {}, "n_draws"),
    ([0, 1], 9, {"prob": 1.0}, "prob"),
])
def test_bad_input(ranks, n_draws, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ecdf_test(ranks, n_draws, **kwargs)
    with pytest.raises(ValueError, match="bins"):
        chi_square_ranks([0, 1, 2], 9, bins=11)
