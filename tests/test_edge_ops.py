"""The fused op of the latent manufacture times' map against its symbolic twin."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import NullTypeGradError, grad

from pymc_hier.decay.edge_ops import edge_map
from pymc_hier.decay.graph import edge_map_graph

LOG_N0_MAX = float(np.log(10.0))
DAY = 86_400.0
NAMES = ("z", "start", "end", "t1", "sigma", "y", "edge")


def _points():
    """Widgets with and without an edge; alpha placing the edge before, in, after the day."""
    rng = np.random.default_rng(20261203)
    rows = []
    y, sigma, t1, start = 3.43, 0.002, 1.2e7, 3.0e6
    for frac in (-3.0, 0.02, 0.3, 0.7, 0.98, 1.05, 4.0):
        alpha = (LOG_N0_MAX - np.log(y)) / (t1 - start - frac * DAY)
        for z in (-9.0, -4.0, -1.3, -0.2, 0.0, 0.4, 2.5, 6.0, 9.0):
            rows.append((z, start, start + DAY, alpha, t1, sigma, y, 1.0))
    # a blunt edge (noisy measurement), and widgets on the probit map
    for z in rng.normal(0.0, 3.0, size=12):
        rows.append((z, start, start + DAY, 1.1e-7, t1, 0.05, 2.0, 1.0))
        rows.append((z, start, start + DAY, 1.1e-7, t1, 0.05, -0.4, 0.0))
    return np.array(rows).T


def _functions(mode):
    z, start, end, t1, sigma, y, edge = pt.dvectors(*NAMES)
    alpha = pt.dvector("alpha")
    args = (z, start, end, alpha, t1, LOG_N0_MAX, sigma, y, edge)
    fused = edge_map(*args)
    twin = edge_map_graph(*args)
    outs = []
    for t, jac in (fused, twin):
        outs += [t, jac, *grad(t.sum(), [z, alpha]), *grad(jac.sum(), [z, alpha])]
    return pytensor.function([z, start, end, alpha, t1, sigma, y, edge], outs, mode=mode,
                             on_unused_input="ignore")


def _call(fn, cols):
    z, start, end, alpha, t1, sigma, y, edge = cols
    out = fn(z, start, end, alpha, t1, sigma, y, edge)
    return np.array(out[:6]), np.array(out[6:])


@pytest.mark.parametrize("mode", ["NUMBA", pytensor.compile.mode.Mode(linker="py",
                                                                      optimizer=None)],
                         ids=["numba", "python"])
def test_fused_map_and_derivatives_are_the_twin(mode):
    cols = _points()
    fused, twin = _call(_functions(mode), cols)
    assert np.all(np.isfinite(fused))
    # value and log-Jacobian to rounding
    np.testing.assert_allclose(fused[:2], twin[:2], rtol=1e-13, atol=0)
    # derivatives to the cancellation in d log dS, relative to each one's largest; not at
    # z = 0 exactly, where the twin's autodiff of |z| (slope 0 there) loses d/dz
    # (test_derivatives_match_finite_differences covers z = 0)
    away = cols[0] != 0.0
    for got, want in zip(fused[2:, away], twin[2:, away], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9 * np.abs(want).max())


def test_derivatives_match_finite_differences():
    """An independent check of the closed forms (not the twin's autodiff)."""
    cols = _points()
    inner = np.abs(cols[0]) < 5            # away from clipping at the day's ends
    cols = cols[:, inner]
    assert np.any(cols[0] == 0.0)
    fn = _functions("NUMBA")
    base = _call(fn, cols)[0]
    for row, k, out in ((2, 0, 0), (3, 3, 0), (4, 0, 1), (5, 3, 1)):   # dt/dz, dt/da, dj/dz, dj/da
        h = 1e-6 * np.maximum(np.abs(cols[k]), 1e-3 if k == 0 else 0.0)
        up, down = cols.copy(), cols.copy()
        up[k] += h
        down[k] -= h
        slope = (_call(fn, up)[0][out] - _call(fn, down)[0][out]) / (2 * h)
        np.testing.assert_allclose(base[row], slope, rtol=2e-4,
                                   atol=2e-4 * np.abs(slope).max())


def test_a_wrong_twin_is_caught():
    """The comparison can fail: a twin whose step is 10% wider differs in value and slope."""
    cols = _points()
    z, start, end, alpha, t1, sigma, y, edge = cols
    good = _call(_functions("NUMBA"), cols)[0]
    wrong = _call(_functions("NUMBA"), (z, start, end, alpha, t1, 1.1 * sigma, y, edge))[0]
    on = edge == 1.0
    assert not np.allclose(good[:, on], wrong[:, on], rtol=1e-7)


def test_data_derivatives_are_refused_and_second_derivatives_raise():
    z, start, end, t1, sigma, y, edge = pt.dvectors(*NAMES)
    alpha = pt.dscalar("alpha")
    t, jac = edge_map(z, start, end, alpha, t1, LOG_N0_MAX, sigma, y, edge)
    with pytest.raises(NullTypeGradError, match="edge_map"):
        grad(jac.sum(), sigma)
    g = grad(jac.sum(), alpha)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        grad(g, alpha)


def test_jax_backends_get_the_twin():
    """The graph rewrite for backends without the kernels replaces both ops by the twin."""
    pytest.importorskip("jax")
    cols = _points()
    fused, twin = _call(_functions("JAX"), cols)
    np.testing.assert_allclose(fused, twin, rtol=1e-9, atol=1e-9)
