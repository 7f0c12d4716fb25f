"""Value transforms that make the decay model easy for NUTS.

- :class:`ScaledLogTransform` samples ``log(alpha * T)``: the log of a dimensionless rate.
- :class:`QuantileTransform` samples ``alpha`` through a smooth monotone map fitted to the
  quantile function of its exact marginal posterior, so that the sampler meets a near
  standard normal whatever the posterior's shape (a hard edge included).
- :class:`AmountRankTransform` samples each widget's amount at measurement through its
  conditional rank given the measurement, which removes the curved coupling between the
  per-widget amounts and ``alpha`` (see :func:`pymc_hier.decay_model`).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pymc.logprob.transforms import Transform
from pytensor.graph.basic import Variable

from pymc_hier.decay.graph import log_ndtr_diff, rank_setup
from pymc_hier.decay.rank_op import rank_outputs


class ScaledLogTransform(Transform):
    """``x -> log(x * scale)``: a log transform on a rescaled axis.

    Parameters
    ----------
    scale : float
        The characteristic scale ``T`` (> 0); the unconstrained value is ``log(x * T)``.
    """

    name = "log_scaled"
    ndim_supp = 0

    def __init__(self, scale: float):
        self.log_scale = float(np.log(scale))

    def forward(self, value, *inputs):
        """Map ``x`` to ``log(x * T)``."""
        return pt.log(value) + self.log_scale

    def backward(self, value, *inputs):
        """Map ``log(x * T)`` back to ``x``."""
        return pt.exp(value - self.log_scale)

    def log_jac_det(self, value, *inputs):
        """``log |dx / dvalue|``."""
        return value - self.log_scale


class QuantileTransform(Transform):
    """``x -> z`` with ``log x = g(z)``, ``g`` a monotone map fitted to a quantile function.

    ``g`` is given on a uniform grid ``z_k = z_0 + k h`` by its values ``u_k`` and the logs
    ``l_k`` of its slopes; between nodes ``log g'`` is linear (so ``g'`` is positive and
    continuous and ``g`` integrates it exactly), beyond the grid ``g`` continues linearly.
    Any such ``g`` is a smooth bijection of the real line with an exact Jacobian, so the
    posterior is unchanged whatever the nodes; with nodes from the quantile function of
    ``log x``'s posterior (:func:`pymc_hier.decay.pilot.quantile_map`) the sampler's
    coordinate is close to a standard normal, even where that posterior has a hard edge.

    Parameters
    ----------
    z0, step : float
        First node and spacing of the grid.
    values, log_slopes : array_like
        ``u_k = g(z_k)`` (increasing) and ``l_k = log g'(z_k)``, consistent with each other
        (see :func:`integrate_log_slopes`).
    posterior : object, optional
        The posterior the nodes follow, kept for reuse (the decay family's exact posterior
        returns it rather than tabulating it again); no part of the transform.
    """

    name = "quantile"
    ndim_supp = 0

    def __init__(self, z0: float, step: float, values, log_slopes, posterior=None):
        values = np.asarray(values, dtype=float)
        log_slopes = np.asarray(log_slopes, dtype=float)
        if values.ndim != 1 or values.shape != log_slopes.shape or len(values) < 2:
            raise ValueError("QuantileTransform: values and log_slopes must be 1-D arrays of "
                             "the same length >= 2")
        if not (step > 0 and np.all(np.isfinite(values)) and np.all(np.isfinite(log_slopes))
                and np.all(np.diff(values) > 0)):
            raise ValueError("QuantileTransform: need step > 0 and finite, increasing values")
        self.z0, self.step = float(z0), float(step)
        self.values, self.log_slopes = values, log_slopes
        self.posterior = posterior
        self._tensors = {"values": values, "log_slopes": log_slopes}

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the data-dependent arrays the map is made of (see :meth:`with_arrays`)."""
        return {"values": self.values, "log_slopes": self.log_slopes}

    def with_arrays(self, tensors) -> QuantileTransform:
        """Return the same map reading its arrays from ``tensors`` (shared variables).

        A compiled model can then take another data set's map (:func:`pymc_hier.sbc`).
        """
        out = QuantileTransform(self.z0, self.step, self.values, self.log_slopes,
                                self.posterior)
        out._tensors = dict(tensors)
        return out

    @property
    def nodes(self) -> np.ndarray:
        """The grid ``z_k``."""
        return self.z0 + self.step * np.arange(len(self.values))

    def median(self) -> float:
        """``x`` at ``z = 0``: the posterior median when the map follows the quantiles."""
        return float(np.exp(np.interp(0.0, self.nodes, self.values)))

    def _cell(self, k):
        values = pt.as_tensor_variable(self._tensors["values"])
        log_slopes = pt.as_tensor_variable(self._tensors["log_slopes"])
        c = pt.diff(log_slopes)
        c = pt.switch(pt.abs(c) < _MIN_CURVATURE,
                      pt.switch(c < 0, -_MIN_CURVATURE, _MIN_CURVATURE), c)
        return values[k], log_slopes[k], c[k]

    def _locate(self, value):
        last = len(self.values) - 2
        t = (value - self.z0) / self.step
        k = pt.cast(pt.clip(pt.floor(t), 0, last), "int64")
        return k, t - k

    def backward(self, value, *inputs):
        """Map ``z`` to ``x = exp(g(z))``."""
        return pt.exp(self._g(value))

    def _g(self, value):
        k, t = self._locate(value)
        u, ell, c = self._cell(k)
        inside = pt.clip(t, 0.0, 1.0)
        return (u + self.step * pt.exp(ell) * pt.expm1(c * inside) / c
                + self.step * pt.exp(ell + c * inside) * (t - inside))

    def forward(self, value, *inputs):
        """Map ``x`` to ``z`` (for initial points)."""
        u = pt.log(value)
        inner = pt.as_tensor_variable(self._tensors["values"])[1:-1]
        k = pt.clip(pt.sum(pt.ge(u[..., None], inner), axis=-1), 0, len(self.values) - 2)
        u_k, ell, c = self._cell(k)
        base = self.z0 + self.step * k
        slope = self.step * pt.exp(ell)
        end = u_k + slope * pt.expm1(c) / c
        # inside the cell invert u_k + slope (e^{c t} - 1) / c; beyond the grid, linearly
        t_in = pt.log1p(pt.clip(c * (u - u_k) / slope, -1.0 + 1e-300, np.inf)) / c
        below = (u - u_k) / slope
        above = 1.0 + (u - end) / (self.step * pt.exp(ell + c))
        t = pt.switch(u < u_k, below, pt.switch(u > end, above, t_in))
        return base + self.step * t

    def log_jac_det(self, value, *inputs):
        """``log |dx / dz| = g(z) + log g'(z)``."""
        k, t = self._locate(value)
        _, ell, c = self._cell(k)
        return self._g(value) + ell + c * pt.clip(t, 0.0, 1.0)


#: Smallest ``|c|`` of a cell: ``expm1(c t) / c`` is then ``t`` to rounding.
_MIN_CURVATURE = 1e-9


def cell_curvature(log_slopes) -> np.ndarray:
    """``c_k = l_{k+1} - l_k`` of every cell, kept away from 0 (``|c| >= 1e-9``)."""
    c = np.diff(np.asarray(log_slopes, dtype=float))
    return np.where(np.abs(c) < _MIN_CURVATURE, np.where(c < 0, -1.0, 1.0) * _MIN_CURVATURE, c)


def integrate_log_slopes(step: float, log_slopes, anchor: int, value: float) -> np.ndarray:
    """Node values of :class:`QuantileTransform` from its log slopes, ``u[anchor] = value``.

    Each cell adds ``h e^{l_k} (e^{c_k} - 1) / c_k``, the integral of the slope whose log is
    linear between the nodes, so that values and slopes describe one map.
    """
    log_slopes = np.asarray(log_slopes, dtype=float)
    c = cell_curvature(log_slopes)
    widths = step * np.exp(log_slopes[:-1]) * np.expm1(c) / c
    u = np.concatenate([[0.0], np.cumsum(widths)])
    return u - u[anchor] + value


def _float_inputs(inputs, count, name):
    floats = [v for v in inputs if str(getattr(v.type, "dtype", "")).startswith("float")]
    if len(floats) != count:
        raise ValueError(f"{name}: the distribution must have {count} floating-point "
                         f"parameters, got {len(floats)}")
    return floats


class AmountRankTransform(Transform):
    """Amount at measurement ``M in (0, A)`` <-> the logit of its conditional rank.

    For an amount ``M ~ U(0, A)`` measured as ``y ~ Normal(M, sigma)``, the conditional
    distribution of ``M`` given ``y`` is ``Normal(y, sigma)`` truncated to ``[0, A]``. This
    transform maps ``M`` to ``r = logit(F(M))`` with ``F`` that conditional CDF. In ``r`` the
    joint posterior factorises: ``(alpha, t0)`` keep the marginal posterior of the
    ``n0="marginal"`` model and every ``r_i`` is standard logistic, independent of
    everything else, so NUTS meets no funnel or curved ridge.

    The map is an exact bijection for every ``alpha``; where ``A / sigma`` is tiny
    (``[0, A]`` much narrower than the noise) it becomes the plain ``logit(M / A)``, which
    is then the same thing to within ``1e-2`` and avoids resolving a tiny interval.

    Parameters
    ----------
    y : array_like
        The measurements (one per widget).
    sigma : tensor_like, optional
        Their standard deviations; by default read from the distribution.

    Notes
    -----
    The distribution it is attached to must have ``(log A, sigma)`` as its floating-point
    parameters, in that order (``log A`` alone when ``sigma`` is given): the transform reads
    the model's data from its distribution, so that PyMC's model transformations keep it
    working.
    """

    name = "rank"
    ndim_supp = 0

    def __init__(self, y, sigma=None):
        self._args = (y, sigma)
        self.y = pt.as_tensor_variable(y)
        self.sigma = None if sigma is None else pt.as_tensor_variable(sigma)

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the measurements, when given as an array (see :meth:`with_arrays`)."""
        y = self._args[0]
        return {} if isinstance(y, Variable) else {"y": np.asarray(y, dtype=float)}

    def captured(self) -> dict:
        """Return the model variables the transform holds (``sigma``, when given one)."""
        sigma = self._args[1]
        return {"sigma": sigma} if isinstance(sigma, Variable) else {}

    def with_arrays(self, tensors) -> AmountRankTransform:
        """Return the same map reading ``y`` (and ``sigma``) from ``tensors``."""
        return AmountRankTransform(tensors.get("y", self._args[0]),
                                   tensors.get("sigma", self._args[1]))

    def _inputs(self, inputs):
        """``(log A, sigma)``: from the distribution, ``sigma`` unless given."""
        if self.sigma is not None:
            return _float_inputs(inputs, 1, "AmountRankTransform")[0], self.sigma
        log_upper, sigma = _float_inputs(inputs, 2, "AmountRankTransform")
        return log_upper, sigma

    def forward(self, value, *inputs):
        """Map the amount ``M`` to ``logit F(M)`` (used for initial points)."""
        y = self.y
        log_upper, sigma = self._inputs(inputs)
        log_sigma, upper, a, b, narrow, _ = rank_setup(y, sigma, log_upper)
        z = (value - y) / sigma
        below = log_ndtr_diff(a, z, (0.5 * value - y) / sigma, value / sigma,
                              pt.log(value) - log_sigma)
        above = log_ndtr_diff(z, b, (0.5 * (value + upper) - y) / sigma,
                              (upper - value) / sigma, pt.log(upper - value) - log_sigma)
        log_frac = pt.log(value) - log_upper
        plain = log_frac - pt.log1mexp(pt.minimum(log_frac, -1e-300))
        return pt.switch(narrow, plain, below - above)

    def backward(self, value, *inputs):
        """Map ``logit F(M)`` back to the amount ``M`` (the fused op's first output)."""
        log_upper, sigma = self._inputs(inputs)
        return rank_outputs(value, self.y, sigma, log_upper)[0]

    def log_jac_det(self, value, *inputs):
        """``log |dM / dr| = log sigma + log D - log phi(z) + log u + log(1 - u)``."""
        log_upper, sigma = self._inputs(inputs)
        return rank_outputs(value, self.y, sigma, log_upper)[3]
