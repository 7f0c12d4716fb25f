"""A fused PyTensor op for :class:`~pymc_hier.decay.transforms.AmountRankTransform`.

The transform maps a widget's rank ``r`` (the probit of the amount's conditional CDF given
the measurement) back to the amount ``M`` and supplies ``log |dM / dr|``. Written with
PyTensor's elementwise ops, every branch of it and of its gradient is evaluated for every
widget and the graph is large (slow to compile, slow to run). This op computes, for each
element, ``(M, dM/dr, dM/dlog A, J, dJ/dr, dJ/dlog A)`` with ``J = log |dM / dr|``, taking
only the branch it needs, with the derivatives in closed form:

- ``Phi(z) = Phi(a) + u D`` (``u = Phi(r)``, ``D = Phi(b) - Phi(a)``) gives
  ``dz/dr = D phi(r) / phi(z)`` and ``dz/dlog A = u phi(b) (A / sigma) / phi(z)``;
  ``M = clip(y + sigma z, 0, A)``;
- ``J = log sigma + log D + z^2 / 2 + log sqrt(2 pi) + log phi(r)``;
- on the narrow branch (``[0, A]`` much narrower than the noise) ``M = A u`` and
  ``J = log A + log phi(r)``.

The transform's ``backward`` and ``log_jac_det`` each take one output of the same node,
which PyTensor merges, so one kernel call serves both. Backends as for
:mod:`pymc_hier.decay.ops`: Numba kernels, a rewrite to the symbolic twin for
JAX-like backends, Python kernels otherwise.
"""

from __future__ import annotations

import numpy as np
import pytensor.scalar as ps
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, grad, grad_not_implemented
from pytensor.tensor.elemwise import Elemwise
from scipy import special

from pymc_hier.decay.graph import rank_backward_graph, rank_log_jac_graph
from pymc_hier.decay.kernels import HALF_LOG_2PI
from pymc_hier.decay.ops import (
    PY_FUNCTIONS,
    _DecayScalarOp,
    kernel_key,
    make_kernels,
    numba_functions,
    numba_scalar,
)

__all__ = ["amount_rank"]

_LOG_HALF = float(np.log(0.5))
_SQRT1_2 = float(1.0 / np.sqrt(2.0))


def make_rank_kernel(exp, log, log1p, expm1, erfc, erfcx, ndtri_exp, jit=lambda f: f):
    """Build ``(r, y, sigma, log A) -> (M, dM/dr, dM/dlog A, J, dJ/dr, dJ/dlog A)``."""
    log_diff = make_kernels(exp, log, log1p, expm1, erfc, erfcx, jit=jit)[0]

    @jit
    def log_ndtr(x):
        if x < -1.0:
            return _LOG_HALF + log(erfcx(-x * _SQRT1_2)) - 0.5 * x * x
        return log1p(-0.5 * erfc(x * _SQRT1_2))

    @jit
    def logaddexp(p, q):
        hi = max(p, q)
        if hi == -np.inf:
            return hi
        return hi + log1p(exp(-abs(p - q)))

    @jit
    def rank(r, y, sigma, log_upper):
        # u = Phi(r): the ranks are standard normal in the sampler's coordinates
        log_u = log_ndtr(r)
        log_1mu = log_ndtr(-r)
        log_phi_r = -0.5 * r * r - HALF_LOG_2PI
        ld, narrow, w, c, s, a, b = log_diff(y, sigma, log_upper)
        if narrow:
            m = exp(log_upper + log_u)
            return (m, exp(log_upper + log_phi_r), m, log_upper + log_phi_r, -r, 1.0)
        # Phi(z) = Phi(a) + u D, or, resolving the upper tail, Phi(-z) = Phi(-b) + (1 - u) D
        lp_lo = logaddexp(log_ndtr(a), log_u + ld)
        if lp_lo < _LOG_HALF:
            z = ndtri_exp(lp_lo)
        else:
            z = -ndtri_exp(min(logaddexp(log_ndtr(-b), log_1mu + ld), _LOG_HALF))
        log_sigma = log(sigma)
        half_z2 = 0.5 * z * z
        dz_dr = exp(ld + log_phi_r + half_z2 + HALF_LOG_2PI)
        log_phi_b = -0.5 * b * b - HALF_LOG_2PI
        dz_dlu = exp(log_u + log_phi_b + half_z2 + HALF_LOG_2PI + log_upper - log_sigma)
        dld_dlu = exp(log_upper - log_sigma + log_phi_b - ld)     # d log D / d log A
        upper = exp(log_upper) if log_upper > -700.0 else exp(-700.0)
        m = y + sigma * z
        if m < 0.0:
            m, dm_dr, dm_dlu = 0.0, 0.0, 0.0
        elif m > upper:
            m, dm_dr, dm_dlu = upper, 0.0, (upper if log_upper > -700.0 else 0.0)
        else:
            dm_dr, dm_dlu = sigma * dz_dr, sigma * dz_dlu
        jac = log_sigma + ld + half_z2 + HALF_LOG_2PI + log_phi_r
        return (m, dm_dr, dm_dlu, jac, z * dz_dr - r, dld_dlu + z * dz_dlu)

    return rank


_PY_RANK = make_rank_kernel(**PY_FUNCTIONS, ndtri_exp=lambda x: float(special.ndtri_exp(x)))
_RANK_KEY = kernel_key(make_rank_kernel)


class AmountRank(_DecayScalarOp):
    """``(r, y, sigma, log A) -> (M, dM/dr, dM/dlog A, J, dJ/dr, dJ/dlog A)``."""

    nin = 4
    nout = 6
    _py = staticmethod(_PY_RANK)

    def L_op(self, inputs, outputs, output_grads):
        r, y, sigma, log_upper = inputs
        g_m, g_jac = output_grads[0], output_grads[3]
        for i in (1, 2, 4, 5):
            if not isinstance(output_grads[i].type, DisconnectedType):
                raise NotImplementedError("amount_rank: second derivatives are not "
                                          "implemented")
        d_r, d_lu = r.zeros_like(), log_upper.zeros_like()
        if not isinstance(g_m.type, DisconnectedType):
            d_r, d_lu = d_r + g_m * outputs[1], d_lu + g_m * outputs[2]
        if not isinstance(g_jac.type, DisconnectedType):
            d_r, d_lu = d_r + g_jac * outputs[4], d_lu + g_jac * outputs[5]
        return [d_r, grad_not_implemented(self, 1, y), grad_not_implemented(self, 2, sigma),
                d_lu]

    def expand(self, r, y, sigma, log_upper):
        # inputs of the output's shape: gradients of sums are elementwise derivatives
        r, y, sigma, log_upper = pt.broadcast_arrays(r, y, sigma, log_upper)
        m = rank_backward_graph(r, y, sigma, log_upper)
        jac = rank_log_jac_graph(r, y, sigma, log_upper)
        return [m, *grad(m.sum(), [r, log_upper]), jac, *grad(jac.sum(), [r, log_upper])]


scalar_rank = AmountRank(name="amount_rank")
#: Elementwise ``(r, y, sigma, log A) -> (M, dM/dr, dM/dlog A, J, dJ/dr, dJ/dlog A)``.
amount_rank = Elemwise(scalar_rank)


def _register_numba():
    from pytensor.link.numba.dispatch.scalar import register_scalar_funcify, scalar_op_cache_key

    kernel = []

    @register_scalar_funcify(AmountRank)
    def _rank(op, node, **kwargs):
        if not kernel:
            kernel.append(make_rank_kernel(**numba_functions(),
                                           ndtri_exp=numba_scalar(ps.ndtri_exp)))
        return kernel[0], scalar_op_cache_key(op, kernels=_RANK_KEY)


_register_numba()


def rank_outputs(r, y, sigma, log_upper):
    """Return the six outputs of :data:`amount_rank` (one node, shared by its users)."""
    return amount_rank(*(pt.as_tensor_variable(v) for v in (r, y, sigma, log_upper)))
