"""PyTensor likelihood graphs of the decay model built on the fused density op.

:func:`log_day_marginal_pdf` is the measurement density with ``N0`` integrated in closed form
and ``t0`` integrated over its manufacture day (the ``t0="marginal"`` variant).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from pymc_hier.decay.kernels import STEP_HALF_WIDTH, gauss_legendre
from pymc_hier.decay.ops import log_uniform_normal_pdf

#: Gauss-Legendre nodes per piece of the day in the model's ``t0="marginal"`` likelihood.
#: On the lecture's data 8 nodes give the total log-likelihood to 1e-14 (the exact reference
#: uses 16; with a sharp step inside the day and sigma ~ 1e-3 a widget's term can be off by
#: up to ~1e-5, far below Monte Carlo error); an evaluation costs a third of the 16-node one.
MODEL_GL_NODES = 8


def log_day_marginal_pdf(y, sigma, t_measured, day_start, day_end, log_n0_max, alpha,
                         n: int = MODEL_GL_NODES):
    """``log p(y | alpha)`` with ``N0`` integrated in closed form and ``t0`` over its day.

    The symbolic twin of :func:`pymc_hier.decay.kernels.log_day_marginal_pdf`: the
    day is cut into five pieces around the step of the likelihood (they move with
    ``alpha``, and the gradient follows them), each integrated by ``n``-node
    Gauss-Legendre, and the nodes are combined by log-sum-exp. Inputs are per-widget
    vectors (``alpha`` and ``log_n0_max`` scalars); the result is a vector.
    """
    y, sigma, t1, start, end = (pt.as_tensor_variable(v)[:, None]
                                for v in (y, sigma, t_measured, day_start, day_end))
    positive = y > 0
    y_pos = pt.switch(positive, y, 1.0)
    t_star = t1 - (log_n0_max - pt.log(y_pos)) / alpha
    t_c = pt.clip(t_star, start, end)
    log_upper_c = log_n0_max - alpha * (t1 - t_c)
    x_c = (pt.exp(log_upper_c) - y) / sigma
    # in logs: A(t_c) may underflow, and the unused side of the minimum must keep a
    # finite gradient
    log_half = (np.log(STEP_HALF_WIDTH) + pt.log(sigma) - pt.log(alpha) - log_upper_c
                - pt.log(pt.maximum(1.0, -x_c)))
    half = pt.exp(pt.minimum(log_half, pt.log(end - start)))
    t_c = pt.switch(positive, t_c, end)
    half = pt.switch(positive, half, 0.0)
    cuts = pt.concatenate(
        [pt.clip(c, start, end) for c in (start, t_c - 4.0 * half, t_c - half, t_c,
                                           t_c + half, end)], axis=1)
    length = cuts[:, 1:] - cuts[:, :-1]                                  # (W, 5)
    x, w = gauss_legendre(n)
    nodes = cuts[:, :-1, None] + length[:, :, None] * x                  # (W, 5, n)
    log_w = (pt.log(pt.maximum(length, 1e-300) / (end - start))[:, :, None]
             + np.log(w))
    log_f = log_uniform_normal_pdf(y[:, :, None], sigma[:, :, None],
                                   log_n0_max - alpha * (t1[:, :, None] - nodes))
    terms = (log_f + log_w).reshape((log_f.shape[0], -1))
    return pt.logsumexp(terms, axis=1)
