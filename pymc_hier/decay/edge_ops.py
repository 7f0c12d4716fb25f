"""A fused PyTensor op for the latent manufacture times' map.

The op behind :class:`~pymc_hier.decay.edges.EdgeTransform`:

``(z, start, end, alpha, t1, log N0_max, sigma, y, edge) -> (t0, log |dt0 / dz|)``,
elementwise: for a widget without an edge (``edge == 0``) the probit map of its day, for
one with an edge the logistic-step map of :mod:`pymc_hier.decay.edges`. The same
formulas as the symbolic twin (:func:`pymc_hier.decay.graph.edge_map_graph`), written
once as scalar kernels that take only the branch they need, with the derivatives in
``z`` and ``alpha`` in closed form (NUTS needs no others):

- ``dx / dz = dS phi(z) / sigmoid(x)`` and ``dx / dalpha`` through the softplus
  ``S(x)``, weighted in logs so that no ratio overflows;
- ``dt0 = (kappa / alpha) (dx - dx_start)`` (less ``(t0 - start) / alpha`` in ``alpha``);
- ``d log |dt0/dz| = -sigmoid(-x) dx - z dz + d log dS - dalpha / alpha``.

Why: differentiated symbolically, the twin's many branches become one fused loop with
dozens of outputs, which Numba takes 10 s to compile on first use (19 s for the default
decay model's gradient instead of 9 s) and which computes every branch for every widget.

Derivatives in the data (``start``, ``end``, ``t1``, ``log N0_max``, ``sigma``, ``y``)
are not implemented: asking for them raises PyTensor's ``NullTypeGradError``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, grad, grad_not_implemented, grad_undefined
from pytensor.tensor.elemwise import Elemwise

from pymc_hier.decay.graph import edge_map_graph
from pymc_hier.decay.kernels import HALF_LOG_2PI
from pymc_hier.decay.ops import (
    PY_FUNCTIONS,
    _DecayScalarOp,
    kernel_key,
    numba_functions,
)

__all__ = ["edge_map", "make_edge_kernels"]

_SQRT1_2 = float(1.0 / np.sqrt(2.0))
_LOG_HALF = float(np.log(0.5))
_KAPPA = 1.7        # kappa = sigma / (1.7 y): the logistic twin of the normal CDF's edge


def make_edge_kernels(exp, log, log1p, expm1, erfc, erfcx, jit=lambda f: f):
    """Build the scalar kernels from elementary functions (Python or Numba's).

    Returns ``(value, slopes)``: ``(z, start, end, alpha, t1, log_n0_max, sigma, y, edge)
    -> (t0, log |dt0/dz|)`` and ``-> (dt0/dz, dt0/dalpha, dlogjac/dz, dlogjac/dalpha)``.
    """

    @jit
    def softplus(u):
        # PyTensor's branches, so that the twins agree to rounding
        if u < -37.0:
            return exp(u)
        if u < 18.0:
            return log1p(exp(u))
        if u < 33.3:
            return u + exp(-u)
        return u

    @jit
    def log1mexp(a):
        # log(1 - e^a), a < 0
        return log1p(-exp(a)) if a < _LOG_HALF else log(-expm1(a))

    @jit
    def log_softplus(u):
        return u if u < -30.0 else log(softplus(u))

    @jit
    def log_ndtr_lower(u):
        # log Phi(u) for u <= 0
        if u < -1.0:
            return _LOG_HALF + log(erfcx(-u * _SQRT1_2)) - 0.5 * u * u
        return log1p(-0.5 * erfc(u * _SQRT1_2))

    @jit
    def edge_parts(z, start, end, alpha, t1, log_n0_max, sigma, y):
        kappa = sigma / (_KAPPA * y)
        v_edge = log(y)
        x_s = (log_n0_max - alpha * (t1 - start) - v_edge) / kappa
        x_e = (log_n0_max - alpha * (t1 - end) - v_edge) / kappa
        ls_s, ls_e = log_softplus(x_s), log_softplus(x_e)
        log_ds = ls_e + log1mexp(min(ls_s - ls_e, -1e-300))
        log_tail = log_ndtr_lower(-abs(z))
        if z > 0:
            log_s = ls_e + log1mexp(min(log_tail + log_ds - ls_e, -1e-300))
        else:
            b = log_tail + log_ds
            hi, lo = max(ls_s, b), min(ls_s, b)
            log_s = hi + log1p(exp(lo - hi))
        if log_s < -30.0:
            x = log_s
        else:
            s = exp(log_s)
            x = s + log(-expm1(-s))
        raw = start + kappa * (x - x_s) / alpha
        return kappa, x_s, x_e, log_ds, log_tail, x, raw

    @jit
    def value(z, start, end, alpha, t1, log_n0_max, sigma, y, edge):
        if edge == 0.0:
            width = end - start
            return (start + width * (0.5 * erfc(-z * _SQRT1_2)),
                    log(width) - 0.5 * z * z - HALF_LOG_2PI)
        kappa, x_s, x_e, log_ds, log_tail, x, raw = edge_parts(
            z, start, end, alpha, t1, log_n0_max, sigma, y)
        t = min(max(raw, start), end)
        jac = (log(kappa) - log(alpha) + softplus(-x) + log_ds - 0.5 * z * z
               - HALF_LOG_2PI)
        return t, jac

    @jit
    def slopes(z, start, end, alpha, t1, log_n0_max, sigma, y, edge):
        if edge == 0.0:
            return (end - start) * exp(-0.5 * z * z - HALF_LOG_2PI), 0.0, -z, 0.0
        kappa, x_s, x_e, log_ds, log_tail, x, raw = edge_parts(
            z, start, end, alpha, t1, log_n0_max, sigma, y)
        dxs, dxe = -(t1 - start) / kappa, -(t1 - end) / kappa      # d x_s, x_e / d alpha
        neg_log_sig = softplus(-x)                                 # -log sigmoid(x)
        dx_dz = exp(log_ds - 0.5 * z * z - HALF_LOG_2PI + neg_log_sig)
        # S = S_s (1 - Phi(z)) + S_e Phi(z): weights of dS_s, dS_e in dx, each at most 1
        log_rest = log1mexp(log_tail)
        log_phi, log_1m_phi = (log_rest, log_tail) if z > 0 else (log_tail, log_rest)
        w_s = exp(log_1m_phi - softplus(-x_s) + neg_log_sig)
        w_e = exp(log_phi - softplus(-x_e) + neg_log_sig)
        dx_da = w_s * dxs + w_e * dxe
        if start < raw < end:
            dt_dz = kappa / alpha * dx_dz
            dt_da = kappa / alpha * (dx_da - dxs) - (raw - start) / alpha
        else:
            dt_dz, dt_da = 0.0, 0.0
        sig_neg = exp(-softplus(x))                                # sigmoid(-x)
        dlog_ds = exp(-softplus(-x_e) - log_ds) * dxe - exp(-softplus(-x_s) - log_ds) * dxs
        return (dt_dz, dt_da, -sig_neg * dx_dz - z,
                -1.0 / alpha - sig_neg * dx_da + dlog_ds)

    return value, slopes


_PY_VALUE, _PY_SLOPES = make_edge_kernels(**PY_FUNCTIONS)


def _disconnected(g):
    return isinstance(g.type, DisconnectedType)


class EdgeMap(_DecayScalarOp):
    """``(z, start, end, alpha, t1, log_n0_max, sigma, y, edge) -> (t0, log |dt0/dz|)``."""

    nin = 9
    _py = staticmethod(_PY_VALUE)

    def L_op(self, inputs, outputs, output_grads):
        g_t, g_jac = output_grads
        dt_dz, dt_da, dj_dz, dj_da = scalar_slopes(*inputs)
        terms_z, terms_a = [], []
        if not _disconnected(g_t):
            terms_z.append(g_t * dt_dz)
            terms_a.append(g_t * dt_da)
        if not _disconnected(g_jac):
            terms_z.append(g_jac * dj_dz)
            terms_a.append(g_jac * dj_da)
        gz, ga = sum(terms_z[1:], terms_z[0]), sum(terms_a[1:], terms_a[0])
        grads = [gz]
        grads += [grad_not_implemented(self, i, inputs[i],
                                       "edge_map: derivatives in the data are not implemented")
                  for i in (1, 2)]
        grads.append(ga)
        grads += [grad_not_implemented(self, i, inputs[i],
                                       "edge_map: derivatives in the data are not implemented")
                  for i in (4, 5, 6, 7)]
        grads.append(grad_undefined(self, 8, inputs[8], "edge_map: the edge flag is discrete"))
        return grads

    def expand(self, z, start, end, alpha, t1, log_n0_max, sigma, y, edge):
        return list(edge_map_graph(z, start, end, alpha, t1, log_n0_max, sigma, y, edge))


class EdgeMapSlopes(_DecayScalarOp):
    """``(...) -> (dt0/dz, dt0/dalpha, dlogjac/dz, dlogjac/dalpha)`` of :class:`EdgeMap`."""

    nin = 9
    nout = 4
    _py = staticmethod(_PY_SLOPES)

    def L_op(self, inputs, outputs, output_grads):
        raise NotImplementedError("edge_map: second derivatives are not implemented")

    def expand(self, z, start, end, alpha, t1, log_n0_max, sigma, y, edge):
        args = pt.broadcast_arrays(z, start, end, alpha, t1, log_n0_max, sigma, y, edge)
        t, jac = edge_map_graph(*args)
        return [*grad(t.sum(), [args[0], args[3]]), *grad(jac.sum(), [args[0], args[3]])]


scalar_value = EdgeMap(name="edge_map")
scalar_slopes = EdgeMapSlopes(name="edge_map_slopes")
_edge_map = Elemwise(scalar_value)


def edge_map(z, start, end, alpha, t1, log_n0_max, sigma, y, edge):
    """``(t0, log |dt0/dz|)`` of the t0 map, elementwise: the fused op.

    ``edge`` is 1.0 where a widget's map knows its edge, 0.0 where it is the probit map.
    """
    args = [pt.as_tensor_variable(v) for v in (z, start, end, alpha, t1, log_n0_max, sigma,
                                               y, edge)]
    return _edge_map(*[pt.cast(a, "float64") for a in args])


# -- Numba ------------------------------------------------------------------------------
_KERNEL_KEY = kernel_key(make_edge_kernels, numba_functions)


def _register_numba():
    from pytensor.link.numba.dispatch.scalar import register_scalar_funcify, scalar_op_cache_key

    kernels = []

    def compiled(index):
        if not kernels:
            kernels.extend(make_edge_kernels(**numba_functions()))
        return kernels[index]

    @register_scalar_funcify(EdgeMap)
    def _value(op, node, **kwargs):
        return compiled(0), scalar_op_cache_key(op, kernels=_KERNEL_KEY)

    @register_scalar_funcify(EdgeMapSlopes)
    def _slopes(op, node, **kwargs):
        return compiled(1), scalar_op_cache_key(op, kernels=_KERNEL_KEY)


_register_numba()
