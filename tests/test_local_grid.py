"""Tabulating an expensive 1-D log density (:mod:`pymc_hier.numerics.local_grid`)."""

import numpy as np

from pymc_hier.numerics.local_grid import chebyshev_log_density, find_mode, remembered


def _counted(calls):
    def log_density(u):
        u = np.asarray(u, dtype=float)
        calls.append(u.size)
        return -0.5 * ((u - 0.3) / 0.02) ** 2 + 0.1 * np.sin(u)

    return log_density


def test_remembered_skips_repeated_points_and_gives_the_same_values():
    calls = []
    plain, memo = _counted([]), remembered(_counted(calls))
    for u in (0.1, 0.2, 0.1, 0.2, 0.1):
        np.testing.assert_array_equal(memo(np.array([u])), plain(np.array([u])))
    assert calls == [1, 1]
    grid = np.linspace(0, 1, 5)   # several points: passed through, every time
    np.testing.assert_array_equal(memo(grid), plain(grid))
    memo(grid)
    assert calls == [1, 1, 5, 5]
    # a value handed out is a copy: changing it does not change the next answer
    value = memo(np.array([0.1]))
    value[0] = 99.0
    assert memo(np.array([0.1]))[0] == plain(np.array([0.1]))[0]


def test_the_local_table_is_unchanged_by_remembering():
    calls_plain, calls_memo = [], []
    out = []
    for log_density in (_counted(calls_plain), remembered(_counted(calls_memo))):
        mode, sd = find_mode(log_density, 0.25, 0.05, lower=-1.0, upper=2.0)
        lower, upper, interpolant, error = chebyshev_log_density(log_density, mode, sd,
                                                                 log_range=60.0)
        out.append((mode, sd, lower, upper, error, interpolant(np.linspace(lower, upper, 7))))
    for a, b in zip(*out, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(calls_memo) < len(calls_plain)
