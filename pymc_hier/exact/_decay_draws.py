"""Exact draws of every widget's ``(t0, N0)`` given the decay rate: :func:`draw_widgets`.

Write ``M = N0 exp(-alpha (t1 - t0))`` for the amount left at the measurement. Given
``t0``, ``M`` is uniform on ``[0, A(t0)]`` with ``A(t0) = N0_max exp(-alpha (t1 - t0))``, so
the prior of ``(t0, M)`` has density ``1 / (D A(t0))`` on ``{M < A(t0)}`` (``D`` the length
of the day), and the measurement ``y ~ Normal(M, sigma)`` depends on ``M`` alone. Hence,
given ``alpha`` and ``y``:

- ``M`` has density proportional to ``phi((y - M) / sigma) h(M)`` on ``[0, A_e]`` with
  ``h(M) = min(1 / A_s, 1 / M) - 1 / A_e`` (``A_s``, ``A_e``: ``A`` at the day's start and
  end), a non-increasing function. It is drawn by rejection: propose from the normal
  truncated to ``[0, A_e]`` (exactly, :func:`truncated_normal_draws`), accept with
  probability ``h(M) / h(0)``;
- ``t0`` given ``M`` has density proportional to ``exp(-alpha t0)`` on
  ``[max(start, t_M), end]``, ``t_M`` the time at which ``A(t_M) = M``: a truncated
  exponential, drawn by inversion;
- ``N0 = M exp(alpha (t1 - t0))``.

The acceptance probability is at least ``exp(-alpha D)`` unless the measurement lies near
or above ``A_e`` with ``sigma`` much smaller than ``A_e - A_s``; pairs still rejected after
a few rounds are drawn instead by inverting ``t0``'s tabulated conditional CDF
(:func:`~pymc_hier.exact._decay_kernels.day_pieces`), then ``M`` given ``t0``. Both routes
are exact, and a rejection sampler's accepted draws do not depend on how many proposals
were rejected before, so switching route after a fixed number of rounds keeps the draws
exact.
"""

from __future__ import annotations

import numpy as np

from pymc_hier.exact._decay_kernels import (
    DRAW_GL_NODES,
    day_log_likelihood,
    day_pieces,
    truncated_normal_draws,
)
from pymc_hier.exact._quadrature import piece_table

#: Rejection rounds before the remaining pairs switch to CDF inversion.
ROUNDS = 6


def _draw_amount(y, sigma, log_a_start, log_a_end, rng, rounds):
    """Draw ``M`` by rejection; return the draws and the indices still rejected."""
    out = np.empty(y.shape)
    todo = np.arange(y.size)
    width = log_a_end - log_a_start                      # alpha * D >= 0
    with np.errstate(divide="ignore"):
        log_norm = np.log(-np.expm1(-width))             # log(1 - A_s / A_e)
    for _ in range(rounds):
        if not todo.size:
            break
        m = truncated_normal_draws(y[todo], sigma[todo], np.exp(log_a_end[todo]), rng)
        with np.errstate(divide="ignore", invalid="ignore"):
            lm = np.minimum(width[todo], log_a_end[todo] - np.log(m))
            # log(h(M) / h(0)) = log((A_e / min(A_s, M) - 1) / (A_e / A_s - 1))
            log_ratio = lm - width[todo] + np.log(-np.expm1(-lm)) - log_norm[todo]
        log_ratio = np.where(lm >= width[todo], 0.0, log_ratio)
        ok = np.log(rng.uniform(size=todo.size)) < log_ratio
        out[todo[ok]] = m[ok]
        todo = todo[~ok]
    return out, todo


def _t0_by_inversion(y, sigma, t1, start, end, log_n0_max, alpha, rng):
    """Draw ``t0`` for each (flat) pair from its tabulated conditional CDF."""
    pieces = day_pieces(y, sigma, t1, start, end, log_n0_max, alpha)
    _, log_f = day_log_likelihood(pieces, y, sigma, t1, log_n0_max, alpha, DRAW_GL_NODES)
    return piece_table(pieces, log_f).quantile(rng.uniform(size=y.shape + (1,)))[..., 0]


def draw_widgets(y, sigma, t_measured, log_n0_max, alpha, rng, *, day_start=None,
                 day_end=None, t0=None, rounds: int = ROUNDS, cells: int = 4_000_000):
    """Draw every widget's ``(t0, N0)`` from its exact conditional given each ``alpha``.

    Parameters
    ----------
    y, sigma, t_measured : numpy.ndarray
        Per-widget data, shape ``(W,)``.
    log_n0_max : float
        ``log N0_max``.
    alpha : numpy.ndarray
        Decay rates, shape ``(D,)``.
    rng : numpy.random.Generator
        Source of randomness.
    day_start, day_end : numpy.ndarray, optional
        Manufacture days (``t0`` latent), shape ``(W,)``.
    t0 : numpy.ndarray, optional
        Known manufacture times, ``(W,)`` or ``(D, W)``; then only ``N0`` is drawn.
    rounds : int
        Rejection rounds before switching to CDF inversion (``0``: inversion only).
    cells : int
        About this many (draw, widget) pairs per block, so memory stays bounded.

    Returns
    -------
    t0, n0 : numpy.ndarray
        Shape ``(D, W)`` each (``t0`` is the known times, broadcast, when given).
    """
    y, sigma, t1 = (np.asarray(v, dtype=float) for v in (y, sigma, t_measured))
    alpha = np.asarray(alpha, dtype=float).reshape(-1)
    n_draws, n_widgets = alpha.size, y.size
    t_out = np.empty((n_draws, n_widgets))
    n0_out = np.empty((n_draws, n_widgets))
    known = None if t0 is None else np.broadcast_to(np.asarray(t0, dtype=float),
                                                    (n_draws, n_widgets))
    block = max(1, cells // max(n_widgets, 1))
    for lo in range(0, n_draws, block):
        rows = slice(lo, min(lo + block, n_draws))
        a = np.broadcast_to(alpha[rows, None], (rows.stop - lo, n_widgets))
        yb, sb, tb = (np.broadcast_to(v, a.shape) for v in (y, sigma, t1))
        if known is not None:
            t_made = known[rows]
            amount = truncated_normal_draws(yb, sb, np.exp(log_n0_max - a * (tb - t_made)), rng)
        else:
            start, end = (np.broadcast_to(np.asarray(v, dtype=float), a.shape)
                          for v in (day_start, day_end))
            flat = [v.ravel() for v in (yb, sb, tb, start, end, a)]
            yf, sf, tf, st, en, af = flat
            log_a_start = log_n0_max - af * (tf - st)
            log_a_end = log_n0_max - af * (tf - en)
            amount, rest = _draw_amount(yf, sf, log_a_start, log_a_end, rng, int(rounds))
            # t0 given M: exp(-alpha t0) on [max(start, t_M), end]
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                t_m = tf - (log_n0_max - np.log(amount)) / af
            low = np.where(t_m > st, t_m, st)
            u = rng.uniform(size=yf.size)
            t_flat = low - np.log1p(u * np.expm1(-af * (en - low))) / af
            if rest.size:
                t_rest = _t0_by_inversion(yf[rest], sf[rest], tf[rest], st[rest], en[rest],
                                          log_n0_max, af[rest], rng)
                t_flat[rest] = t_rest
                amount[rest] = truncated_normal_draws(
                    yf[rest], sf[rest], np.exp(log_n0_max - af[rest] * (tf[rest] - t_rest)), rng)
            t_made = np.clip(t_flat, st, en).reshape(a.shape)
            amount = amount.reshape(a.shape)
        t_out[rows] = t_made
        n0_out[rows] = np.minimum(amount * np.exp(a * (tb - t_made)), np.exp(log_n0_max))
    return t_out, n0_out
