"""Latent manufacture times that know where the data rule them out: :class:`EdgeTransform`.

A widget measured at ``y`` with error ``sigma`` held at least about ``y`` at its
measurement: ``A = N0_max exp(-alpha (t1 - t0)) >= y``. Given ``alpha`` the part of its day
before the *edge* ``t1 - log(N0_max / y) / alpha`` is ruled out, within
``sigma / (y alpha)`` in time, and the edge moves with ``alpha``. When that width is a
fraction of a day (a widget made with nearly ``N0_max`` and measured precisely), the plain
probit map of the day leaves NUTS a moving wall in ``(alpha, t0)``: it diverges.

:class:`EdgeTransform` maps the sampler's ``z`` to the day through the probit map
(:class:`ProbitIntervalTransform`, what data without such edges get) for most widgets
and, for the widgets with an edge (chosen from the data by :func:`edge_widgets`), through
the CDF of an approximate conditional density of ``t0`` given ``alpha``: in
``v = log A`` (linear in ``t0``) a logistic step
``sigmoid((v - log y) / kappa)``, ``kappa = sigma / (1.7 y)`` (the logistic twin of the
normal CDF's edge), whose CDF (a softplus) and its inverse are closed-form. In ``z`` the
conditional is then close to a standard normal on either side of the edge. Both maps are
exact bijections onto the day with exact Jacobians: the posterior is unchanged.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pymc.logprob.transforms import Transform
from pytensor.graph.basic import Variable

from pymc_hier.decay.edge_ops import edge_map
from pymc_hier.decay.graph import _log_softplus, probit_map_graph, probit_of_logs
from pymc_hier.decay.transforms import _float_inputs

__all__ = ["EDGE_Z", "EdgeTransform", "ProbitIntervalTransform", "edge_widgets"]

#: Widgets measured more than ``EDGE_Z`` standard errors above 0 can have an edge. Below,
#: the likelihood never falls far: as ``A -> 0`` it tends to ``phi(y / sigma) / sigma``, a
#: floor ``(y / sigma) phi(y / sigma)`` (``6e-11`` at 7) of its level above the edge, which
#: a logistic step would miss.
EDGE_Z = 7.0


def edge_widgets(data, alpha_range) -> np.ndarray:
    """Return the indices of the widgets whose edge is sharp and can fall in their day.

    Parameters
    ----------
    data : DecayData
        The widgets.
    alpha_range : tuple of float
        The range of ``alpha`` the posterior holds (its 1e-6 and 1 - 1e-6 quantiles).

    Returns
    -------
    numpy.ndarray
        Integer indices: widgets with ``y > EDGE_Z sigma`` whose edge is narrower than
        their day for some ``alpha`` in the range and lies in the day for some ``alpha`` in
        the range.
    """
    y, sigma = np.asarray(data.n_measured, dtype=float), np.asarray(data.sigma, dtype=float)
    start, end = np.asarray(data.day_start, dtype=float), np.asarray(data.day_end, dtype=float)
    t1 = np.asarray(data.t_measured, dtype=float)
    lo, hi = (float(a) for a in alpha_range)
    above = y > EDGE_Z * sigma
    safe_y = np.where(above, y, 1.0)
    sharp = sigma / (safe_y * hi * (end - start)) < 1.0
    # the edge is in the day for alpha in [d / (t1 - start), d / (t1 - end)]
    depth = np.log(data.n0_max) - np.log(safe_y)
    with np.errstate(divide="ignore"):
        enters, leaves = depth / (t1 - start), depth / np.maximum(t1 - end, 0.0)
    return np.flatnonzero(above & sharp & (depth > 0) & (enters <= hi) & (leaves >= lo))


def _edge_forward(t, start, end, alpha, t1, log_n0_max, sigma, y):
    kappa = sigma / (1.7 * y)
    v_edge = pt.log(y)

    def x_of(s):
        return (log_n0_max - alpha * (t1 - s) - v_edge) / kappa

    ls_s, ls_e, ls_x = (_log_softplus(x_of(v)) for v in (start, end, t))
    log_ds = ls_e + pt.log1mexp(pt.minimum(ls_s - ls_e, -1e-300))
    log_g = ls_x + pt.log1mexp(pt.minimum(ls_s - ls_x, -1e-300)) - log_ds
    log_h = ls_e + pt.log1mexp(pt.minimum(ls_x - ls_e, -1e-300)) - log_ds
    return probit_of_logs(log_g, log_h)


def _probit_map(value, start, end):
    return probit_map_graph(value, start, end)[0]


def _probit_forward(value, start, end):
    width = end - start
    log_width = pt.log(width)
    return probit_of_logs(pt.log(value - start) - log_width, pt.log(end - value) - log_width)


def _probit_jac(value, start, end):
    return probit_map_graph(value, start, end)[1]


class ProbitIntervalTransform(Transform):
    """``x in (lower, upper) -> z`` with ``x = lower + (upper - lower) Phi(z)``.

    A uniform prior on the interval becomes exactly a standard normal in ``z``: for the
    manufacture times of widgets without a sharp edge, which the data barely inform, NUTS
    then meets a near-Gaussian target (on the lecture's data 7.0 leapfrog steps a draw
    instead of the 8.7 of the default log-odds transform). The bounds are read from the
    distribution (a ``Uniform``), so that PyMC's model transformations keep it working.
    """

    name = "probit"
    ndim_supp = 0

    def forward(self, value, *inputs):
        """Map ``x`` to ``z = Phi^-1((x - lower) / (upper - lower))`` (nearer tail)."""
        return _probit_forward(value, *_float_inputs(inputs, 2, "ProbitIntervalTransform"))

    def backward(self, value, *inputs):
        """Map ``z`` back to ``x``."""
        return _probit_map(value, *_float_inputs(inputs, 2, "ProbitIntervalTransform"))

    def log_jac_det(self, value, *inputs):
        """``log |dx / dz| = log(upper - lower) + log phi(z)``."""
        return _probit_jac(value, *_float_inputs(inputs, 2, "ProbitIntervalTransform"))


class EdgeTransform(Transform):
    """``t0`` in ``(start, end)`` from ``z``: the probit map, edge-aware for some widgets.

    See the module docstring. The distribution it is attached to must have ``(start, end,
    alpha, t_measured, log_n0_max, sigma)`` as its floating-point parameters, in that order:
    the transform reads the model's data from its distribution, never from variables it
    holds, so that PyMC's model transformations (``clone_model``, ``pm.do``) keep it working.

    Parameters
    ----------
    y : array_like
        The measurements (they place the edges).
    index : array_like of int
        The widgets with an edge (:func:`edge_widgets`; may be empty).
    """

    name = "edge"
    ndim_supp = 0

    def __init__(self, y, index):
        self._y, self._index = y, index
        self.y = pt.as_tensor_variable(y)
        self.index = pt.as_tensor_variable(index if isinstance(index, Variable)
                                           else np.asarray(index, dtype="int64"))

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the data-dependent arrays (see :meth:`with_arrays`)."""
        if isinstance(self._y, Variable):
            return {}
        return {"y": np.asarray(self._y, dtype=float),
                "index": np.asarray(self._index, dtype="int64")}

    def with_arrays(self, tensors) -> EdgeTransform:
        """Return the same map reading ``y`` and ``index`` from ``tensors``.

        A compiled model can then take another data set's (:func:`pymc_hier.sbc`).
        """
        return EdgeTransform(tensors.get("y", self._y), tensors.get("index", self._index))

    def edge_mask(self):
        """Return 1.0 for the widgets with an edge, 0.0 for the others (one per measurement).

        The flags :func:`~pymc_hier.decay.edge_ops.edge_map` takes, as a tensor; the
        decay family's fused density (:mod:`pymc_hier.decay.fused`) passes them on too.
        """
        if not isinstance(self._y, Variable) and not isinstance(self._index, Variable):
            mask = np.zeros(np.shape(self._y))
            mask[np.asarray(self._index, dtype="int64")] = 1.0
            return pt.as_tensor_variable(mask)
        return pt.set_subtensor(pt.zeros_like(self.y, dtype="float64")[self.index], 1.0)

    def _map(self, value, inputs):
        start, end, alpha, t1, log_n0_max, sigma = _float_inputs(inputs, 6, "EdgeTransform")
        return edge_map(value, start, end, alpha, t1, log_n0_max, sigma, self.y, self.edge_mask())

    def backward(self, value, *inputs):
        """Map ``z`` to ``t0`` (the fused op :func:`pymc_hier.decay.edge_ops.edge_map`)."""
        return self._map(value, inputs)[0]

    def forward(self, value, *inputs):
        """Map ``t0`` to ``z`` (for initial points)."""
        start, end, alpha, t1, log_n0_max, sigma = _float_inputs(inputs, 6, "EdgeTransform")
        i = self.index
        z = _probit_forward(value, start, end)
        edge = (start[i], end[i], alpha, t1[i], log_n0_max, sigma[i], self.y[i])
        return pt.set_subtensor(z[i], _edge_forward(value[i], *edge))

    def log_jac_det(self, value, *inputs):
        """``log |dt0 / dz|``."""
        return self._map(value, inputs)[1]
