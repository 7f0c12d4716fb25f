"""Tests of discrete uniformity for SBC ranks: chi-square over bins and the ECDF test.

A rank ``r`` of a reference draw among ``L`` posterior draws is uniform on ``{0, ..., L}``
when inference is calibrated. For ``N`` ranks:

- :func:`chi_square_ranks`: Pearson's test over bins of whole ranks (each bin's expected
  share is exact, ``bin size / (L + 1)``, whether or not the bins divide ``L + 1``);
- :func:`ecdf_test`: the graphical test of Säilynoja, Bürkner and Vehtari (2022). At
  evaluation points ``z_j = k_j / (L + 1)`` the count of ranks below ``k_j`` is exactly
  ``Binomial(N, z_j)``; the statistic is the smallest two-sided pointwise tail probability
  over the points, its null distribution is simulated, and its ``1 - prob`` quantile
  ``gamma`` gives pointwise bands at level ``1 - gamma`` that hold simultaneously with
  probability ``prob`` (the bands drawn around the ECDF difference).

NumPy and SciPy only; no model.

References
----------
Säilynoja, T., Bürkner, P.-C. and Vehtari, A. (2022). Graphical test for discrete
uniformity and its applications in goodness-of-fit evaluation and multiple sample
comparison. *Statistics and Computing* 32, 32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = ["EcdfTest", "chi_square_ranks", "default_bins", "ecdf_points", "ecdf_test"]

#: Seed of the simulated null distribution: the test is a deterministic function of the ranks.
NULL_SEED = 20221110
#: Simulated samples of the null distribution.
NULL_SIMULATIONS = 4000


def _check_ranks(ranks, n_draws: int) -> np.ndarray:
    ranks = np.asarray(ranks)
    if ranks.ndim < 1 or ranks.shape[0] < 2:
        raise ValueError(f"ranks: need at least 2 ranks along the first axis, got shape "
                         f"{ranks.shape}")
    if not (isinstance(n_draws, int | np.integer) and n_draws >= 1):
        raise ValueError(f"n_draws: must be a positive integer, got {n_draws!r}")
    if np.any(ranks < 0) or np.any(ranks > n_draws) or np.any(ranks != np.round(ranks)):
        raise ValueError(f"ranks: must be whole numbers in [0, {n_draws}]")
    return ranks.astype(np.int64)


def default_bins(n_ranks: int, n_draws: int) -> int:
    """Bins of the chi-square test: about 10 ranks expected per bin, 2 to 20 bins."""
    return int(np.clip(n_ranks // 10, 2, min(20, n_draws + 1)))


def chi_square_ranks(ranks, n_draws: int, *, bins: int | None = None):
    """Pearson's chi-square test of ranks uniform on ``{0, ..., n_draws}``.

    Parameters
    ----------
    ranks : array_like
        Ranks along the first axis (further axes: separate tests).
    n_draws : int
        ``L``: the ranks take values ``0 .. L``.
    bins : int, optional
        Number of bins of consecutive ranks (default :func:`default_bins`).

    Returns
    -------
    statistic, pvalue : numpy.ndarray
        One per test (shape ``ranks.shape[1:]``); ``bins - 1`` degrees of freedom.
    """
    ranks = _check_ranks(ranks, n_draws)
    n = ranks.shape[0]
    bins = default_bins(n, n_draws) if bins is None else int(bins)
    if not 2 <= bins <= n_draws + 1:
        raise ValueError(f"bins: must be between 2 and n_draws + 1 = {n_draws + 1}, got {bins}")
    edges = np.floor(np.arange(bins + 1) * (n_draws + 1) / bins).astype(np.int64)
    expected = n * np.diff(edges) / (n_draws + 1)
    which = np.searchsorted(edges, ranks, side="right") - 1
    observed = np.stack([(which == b).sum(axis=0) for b in range(bins)])
    statistic = (((observed - expected.reshape((-1,) + (1,) * (ranks.ndim - 1))) ** 2)
                 / expected.reshape((-1,) + (1,) * (ranks.ndim - 1))).sum(axis=0)
    return statistic, stats.chi2.sf(statistic, bins - 1)


def ecdf_points(n_ranks: int, n_draws: int) -> np.ndarray:
    """Rank thresholds ``k_j`` of the ECDF test: at most ``n_ranks`` of ``1 .. n_draws``."""
    count = min(n_ranks, n_draws + 1)
    return np.unique(np.round(np.arange(1, count) * (n_draws + 1) / count).astype(np.int64))


def _pointwise(counts, n, z):
    """Two-sided pointwise tail probability of binomial counts, smallest over the points."""
    lower = special.bdtr(counts, n, z)
    upper = np.where(counts > 0, special.bdtrc(counts - 1, n, z), 1.0)
    return np.min(2.0 * np.minimum(lower, upper), axis=-1)


def _null(n: int, z: np.ndarray, simulations: int) -> np.ndarray:
    rng = np.random.default_rng(NULL_SEED)
    out = np.empty(simulations)
    block = max(1, 2**22 // max(n, 1))
    for i in range(0, simulations, block):
        u = np.sort(rng.uniform(size=(min(block, simulations - i), n)), axis=1)
        counts = np.stack([np.searchsorted(row, z, side="left") for row in u])
        out[i:i + len(u)] = _pointwise(counts, n, z)
    return out


@dataclass(frozen=True)
class EcdfTest:
    """Result of :func:`ecdf_test`.

    Attributes
    ----------
    points : numpy.ndarray
        Evaluation points ``z_j = k_j / (L + 1)``.
    difference : numpy.ndarray
        ``ECDF(z_j) - z_j`` per test, shape ``(*tests, J)``.
    lower, upper : numpy.ndarray
        Simultaneous band of the difference at level ``prob`` (shape ``(J,)``).
    pvalue : numpy.ndarray
        Per test: the probability under uniformity of a smallest pointwise tail probability
        at most the one observed.
    gamma : float
        The pointwise level ``1 - gamma`` whose bands hold simultaneously with ``prob``.
    prob : float
        Simultaneous coverage of the band.
    """

    points: np.ndarray
    difference: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    pvalue: np.ndarray
    gamma: float
    prob: float


def ecdf_test(ranks, n_draws: int, *, prob: float = 0.95,
              simulations: int = NULL_SIMULATIONS) -> EcdfTest:
    """ECDF-difference test of ranks uniform on ``{0, ..., n_draws}`` with simultaneous bands.

    Parameters
    ----------
    ranks : array_like
        Ranks along the first axis (further axes: separate tests).
    n_draws : int
        ``L``: the ranks take values ``0 .. L``.
    prob : float, default 0.95
        Simultaneous coverage of the band.
    simulations : int, default 4000
        Samples of the simulated null distribution (seeded: results are deterministic).

    Returns
    -------
    EcdfTest
    """
    ranks = _check_ranks(ranks, n_draws)
    if not 0 < prob < 1:
        raise ValueError(f"prob: must lie in (0, 1), got {prob!r}")
    n = ranks.shape[0]
    k = ecdf_points(n, n_draws)
    z = k / (n_draws + 1)
    flat = ranks.reshape(n, -1)
    counts = np.stack([(flat < kj).sum(axis=0) for kj in k], axis=-1)   # (tests, J)
    observed = _pointwise(counts, n, z)
    null = _null(n, z, int(simulations))
    pvalue = (1.0 + (null[None, :] <= observed[:, None]).sum(axis=1)) / (len(null) + 1.0)
    gamma = float(np.quantile(null, 1.0 - prob))
    lower = stats.binom.ppf(gamma / 2, n, z) / n - z
    upper = stats.binom.ppf(1 - gamma / 2, n, z) / n - z
    rest = ranks.shape[1:]
    return EcdfTest(points=z, difference=(counts / n - z).reshape(rest + (len(z),)),
                    lower=lower, upper=upper, pvalue=pvalue.reshape(rest), gamma=gamma,
                    prob=float(prob))
