"""The compiled inverse CDF of a single piecewise Gauss-Legendre table (PieceTable.quantile).

A 1-D table's quantiles at many probabilities run compiled; fewer, and tables with batch
axes, take the NumPy path. Both solve the same equation by the same iteration, so they agree
to rounding, and both agree with SciPy's normal quantiles to the table's accuracy.
"""

import numpy as np
import pytest
from scipy import stats

from pymc_hier.numerics.quadrature import adaptive_pieces, piece_nodes, piece_table

K = 16


def _normal_table(edges):
    return piece_table(edges, stats.norm.logpdf(piece_nodes(edges, K)))


@pytest.fixture(scope="module")
def table():
    """The standard normal on [-9, 9], pieces chosen adaptively (accurate to ~1e-13)."""
    edges = adaptive_pieces(stats.norm.logpdf, -9.0, 9.0, k=K, rtol=1e-13)
    return _normal_table(edges)


PROBS = np.concatenate([[0.0, 1e-300, 1e-15, 1e-9, 0.5, 1 - 1e-9, 1 - 1e-15, 1.0],
                        np.random.default_rng(1).uniform(size=2000)])


def test_compiled_quantiles_equal_numpys_to_rounding(table):
    compiled = table._quantile_compiled(PROBS, 60)
    batch = table._quantile_batch(PROBS, 60)
    # Newton stops within 4 eps of the probability: within that over the density in x
    np.testing.assert_allclose(table.cdf(compiled), table.cdf(batch), rtol=0, atol=2e-15)
    np.testing.assert_allclose(compiled, batch, rtol=0, atol=1e-12)


def test_quantile_takes_the_compiled_path_for_many_probabilities(table, monkeypatch):
    from pymc_hier.numerics import quadrature

    taken = []
    for path in ("_quantile_compiled", "_quantile_batch"):
        real = getattr(quadrature.PieceTable, path)
        monkeypatch.setattr(quadrature.PieceTable, path,
                            lambda self, v, it, real=real, path=path: (taken.append(path),
                                                                      real(self, v, it))[1])
    few = PROBS[: quadrature.COMPILED_FROM]
    many = np.resize(PROBS, quadrature.COMPILED_FROM + 1)
    table.quantile(few)
    table.quantile(many)
    assert taken == ["_quantile_batch", "_quantile_compiled"]


@pytest.mark.parametrize("path", ["_quantile_compiled", "_quantile_batch"])
def test_compiled_quantiles_invert_the_cdf(table, path):
    x = getattr(table, path)(PROBS, 60)
    assert np.all(np.diff(x[np.argsort(PROBS)]) >= 0)
    np.testing.assert_allclose(table.cdf(x), PROBS, rtol=0, atol=1e-13)
    inner = (PROBS > 1e-6) & (PROBS < 1 - 1e-6)
    np.testing.assert_allclose(x[inner], stats.norm.ppf(PROBS[inner]), rtol=0, atol=1e-10)
    assert -9.0 <= x.min() and x.max() <= 9.0


def test_quantiles_of_another_density_are_not_these(table):
    """The check above can fail: the quantiles of a table of N(0.01, 1) miss by 0.01."""
    edges = table.edges
    shifted = piece_table(edges, stats.norm.logpdf(piece_nodes(edges, K), loc=0.01))
    inner = (PROBS > 1e-6) & (PROBS < 1 - 1e-6)
    miss = np.abs(shifted.quantile(PROBS[inner]) - stats.norm.ppf(PROBS[inner]))
    assert np.all(miss > 5e-3)


def test_empty_pieces_and_batch_tables():
    """Repeated edges (empty pieces) are skipped; a batch of tables takes the NumPy path
    and gives each table's compiled quantiles."""
    edges = np.array([-9.0, -2.0, -2.0, 0.0, 0.5, 0.5, 9.0])
    one = _normal_table(edges)
    q = np.linspace(0.0, 1.0, 101)
    x = one._quantile_compiled(q, 60)
    np.testing.assert_allclose(one.quantile(q), x, atol=1e-12)   # NumPy's, for 101
    assert np.all(np.isfinite(x)) and np.all(np.diff(x) >= 0)
    np.testing.assert_allclose(x[1:-1], stats.norm.ppf(q[1:-1]), atol=1e-4)  # 6 pieces
    np.testing.assert_allclose(one.cdf(x[1:-1]), q[1:-1], atol=1e-14)
    both = _normal_table(np.stack([edges, np.linspace(-9, 9, 7)]))
    got = both.quantile(np.stack([q, q]))
    np.testing.assert_allclose(got[0], x, atol=1e-12)
    np.testing.assert_allclose(got[1], _normal_table(np.linspace(-9, 9, 7)).quantile(q),
                               atol=1e-12)
