"""A positive parameter sampled through its exact posterior's quantiles: QuantileTransform.

When a family knows the exact marginal posterior of a positive parameter (the decay rate
``alpha``, the hierarchical normal's ``tau``), NUTS can sample it as ``z`` with ``log x =
g(z)``, ``g`` a smooth monotone map that follows the quantile function of ``log x``
against a standard normal (:func:`quantile_map`). The sampler then meets a near standard
normal in ``z`` whatever the posterior's shape: a long tail, or a hard edge where the log
density falls by tens of units within a fraction of a percent, which a plain log scale
leaves to NUTS at step sizes tuned to the bulk (the divergences of issue 21). Any such map
is an exact bijection with an exact Jacobian: it chooses coordinates, never the posterior,
and a stale one (priors changed by ``pm.set_data`` since) stays correct, merely less
efficient.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pymc.logprob.transforms import LogTransform
from scipy import special

__all__ = ["NODES", "Z_MAX", "QuantileTransform", "integrate_log_slopes", "quantile_map"]

#: The map follows the posterior quantiles for ``|z| <= Z_MAX`` (probability 1e-9 beyond)
#: on a grid of :data:`NODES` points; it continues linearly beyond.
Z_MAX = 6.0
NODES = 481
#: Largest ``|log g'|`` kept: slopes beyond come from a density that underflowed.
_MAX_LOG_SLOPE = 200.0


def quantile_map(quantile, log_density, posterior=None):
    """Return the arguments of :class:`QuantileTransform` for a positive parameter, or None.

    Parameters
    ----------
    quantile : callable
        ``q -> x``: the posterior quantile function (vectorised).
    log_density : callable
        ``x -> log p(x)``: the normalised posterior log density (vectorised).
    posterior : object, optional
        Kept with the transform (see :class:`QuantileTransform`).

    Returns
    -------
    tuple or None
        ``(z0, step, values, log_slopes, posterior)``; ``None`` when the quantiles are not
        finite and increasing (the caller keeps a plain log scale).
    """
    z = np.linspace(-Z_MAX, Z_MAX, NODES)
    step = float(z[1] - z[0])
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        x = np.asarray(quantile(special.ndtr(z)), dtype=float)
        u = np.log(x)
        log_slopes = (-0.5 * z * z - 0.5 * np.log(2 * np.pi)
                      - (np.asarray(log_density(x), dtype=float) + u))
    if not (np.all(np.isfinite(u)) and np.all(np.diff(u) > 0)):
        return None
    log_slopes = np.clip(np.where(np.isfinite(log_slopes), log_slopes, _MAX_LOG_SLOPE),
                         -_MAX_LOG_SLOPE, _MAX_LOG_SLOPE)
    middle = NODES // 2
    values = integrate_log_slopes(step, log_slopes, middle, float(u[middle]))
    return float(z[0]), step, values, log_slopes, posterior


class QuantileTransform(LogTransform):
    """``x -> z`` with ``log x = g(z)``, ``g`` a monotone map fitted to a quantile function.

    ``g`` is given on a uniform grid ``z_k = z_0 + k h`` by its values ``u_k`` and the logs
    ``l_k`` of its slopes; between nodes ``log g'`` is linear (so ``g'`` is positive and
    continuous and ``g`` integrates it exactly), beyond the grid ``g`` continues linearly.
    Any such ``g`` is a smooth bijection of the real line with an exact Jacobian, so the
    posterior is unchanged whatever the nodes; with nodes from the quantile function of
    ``log x``'s posterior (:func:`quantile_map`) the sampler's coordinate is close to a
    standard normal, even where that posterior has a hard edge.

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

    Notes
    -----
    A subclass of PyMC's ``LogTransform``: like it, a bijection of the real line onto
    ``(0, inf)`` (tools that read a variable's support from its transform see that).
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


