"""The map of a positive parameter through its exact posterior's quantiles."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats

from pymc_hier.quantile_map import QuantileTransform, integrate_log_slopes, quantile_map

_MODE = pytensor.compile.mode.Mode(linker="py", optimizer=None)


def test_quantile_transform_round_trip_jacobian_and_arrays():
    z_nodes = np.linspace(-3, 3, 13)
    log_slopes = -0.5 + 0.3 * np.sin(z_nodes)           # any smooth positive slope
    values = integrate_log_slopes(0.5, log_slopes, 6, -14.0)
    tr = QuantileTransform(-3.0, 0.5, values, log_slopes)
    z = pt.dvector("z")
    fn = pytensor.function([z], [tr.backward(z), tr.forward(tr.backward(z)),
                                 tr.log_jac_det(z)], mode=_MODE)
    grid = np.linspace(-9, 9, 37)                       # beyond the nodes: linear
    x, again, jac = fn(grid)
    assert np.all(np.diff(x) > 0)
    np.testing.assert_allclose(again, grid, atol=1e-9)
    h = 1e-6
    num = (fn(grid + h)[0] - fn(grid - h)[0]) / (2 * h)
    np.testing.assert_allclose(jac, np.log(num), atol=1e-6)
    np.testing.assert_allclose(np.log(fn(z_nodes)[0]), values, rtol=1e-13)
    assert tr.median() == pytest.approx(np.exp(values[6]))
    # the same map through tensors (what sbc's compiled copies use)
    shared = {k: pytensor.shared(v) for k, v in tr.arrays().items()}
    fn2 = pytensor.function([z], tr.with_arrays(shared).log_jac_det(z), mode=_MODE)
    np.testing.assert_array_equal(fn2(grid), jac)
    with pytest.raises(ValueError, match="increasing"):
        QuantileTransform(-3.0, 0.5, values[::-1], log_slopes)


def test_quantile_map_follows_a_skewed_posterior():
    """For a log-normal posterior the map is exact: z's density is the standard normal's."""
    dist = stats.lognorm(s=0.7, scale=3e-7)
    z0, step, values, log_slopes, _ = quantile_map(dist.ppf, dist.logpdf)
    tr = QuantileTransform(z0, step, values, log_slopes)
    z = pt.dvector("z")
    fn = pytensor.function([z], [tr.backward(z), tr.log_jac_det(z)], mode=_MODE)
    grid = np.linspace(-5, 5, 21)
    x, jac = fn(grid)
    np.testing.assert_allclose(dist.logpdf(x) + jac, stats.norm.logpdf(grid), atol=1e-6)
    assert quantile_map(lambda q: np.full_like(q, 1.0), dist.logpdf) is None   # not increasing
