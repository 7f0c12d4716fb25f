"""Compiled sums of the decay likelihood over widgets, block by block (the ``"numba"`` backend).

The NumPy kernels (:mod:`pymc_hier.decay.kernels`) evaluate every branch of the measurement
density on whole arrays and pick the one that applies; the fused op's scalar kernels
(:func:`pymc_hier.decay.ops.make_kernels`) take only the branch they need. Here one compiled
loop runs those scalar kernels over every widget and rate, with ``t0`` integrated over its
day on the same five pieces and 16-node Gauss-Legendre rule as
:func:`pymc_hier.decay.kernels.log_day_marginal_pdf` (empty pieces skipped, the log-sum-exp
taken in one pass): the same numbers to rounding, several times faster. The special
functions at the interval's fixed end (``a = -y / sigma``) are computed once per widget
(:func:`_widget_constants`), not at every node and rate: the same numbers to the bit, a
fifth less time.

The widgets are summed in blocks of :data:`BLOCK` rows, each block's sum in NumPy's pairwise
order, then the blocks' sums in order: the arithmetic of the partitioned path
(:mod:`pymc_hier.decay.exact_partitioned`), which sums the same blocks on a cluster, so that
both give the same tables to the last bit.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pymc_hier.decay.kernels import (
    GL_NODES,
    HALF_LOG_2PI,
    LOG_SERIES_TAU,
    MAX_LOG_WIDTH,
    STEP_HALF_WIDTH,
    gauss_legendre,
)
from pymc_hier.decay.ops import make_kernels, numba_functions
from pymc_hier.scale.blocks import BLOCK_SIZE

__all__ = ["BLOCK", "block_log_likelihood", "block_sum", "log_likelihoods"]

#: Widgets per block of the sums: the partitioned path's default blocks.
BLOCK = BLOCK_SIZE

_LOG_DIFF = make_kernels(**numba_functions())[0]


_JIT = {"nogil": True, "error_model": "numpy"}


_FUNCTIONS = numba_functions()
_ERFC, _ERFCX, _LOG = _FUNCTIONS["erfc"], _FUNCTIONS["erfcx"], _FUNCTIONS["log"]
_SQRT1_2 = float(1.0 / np.sqrt(2.0))
_LOG_HALF = float(np.log(0.5))


@numba.njit(**_JIT)
def _widget_constants(y, sigma, out):
    """Write the parts of ``_LOG_DIFF`` that do not depend on ``A``, a row per widget.

    ``log sigma``, ``a = -y / sigma`` and the special functions at ``a`` that every branch
    of ``_LOG_DIFF`` uses at one end of the interval: ``erfc`` and ``erfcx`` of
    ``-a / sqrt 2`` (interval as is) and of ``a / sqrt 2`` (mirrored). Computed with the
    same operations as there, so :func:`_log_diff_day` gives the same numbers to the bit.
    """
    for i in range(y.size):
        a = -y[i] / sigma[i]
        out[i, 0] = _LOG(sigma[i])
        out[i, 1] = a
        out[i, 2] = _ERFC(-a * _SQRT1_2)
        out[i, 3] = _ERFC(a * _SQRT1_2)
        out[i, 4] = _ERFCX(-a * _SQRT1_2)
        out[i, 5] = _ERFCX(a * _SQRT1_2)


@numba.njit(**_JIT)
def _log_diff_day(yi, si, const, log_upper):
    """``_LOG_DIFF(yi, si, log_upper)[0]`` with its widget's constants (:func:`_widget_constants`).

    The operations of :func:`pymc_hier.decay.ops.make_kernels`' ``log_diff``, in the same
    order, with the special functions of the fixed end ``a`` read from ``const``: one
    special function per call instead of two.
    """
    log_sigma, a = const[0], const[1]
    log_w = min(log_upper - log_sigma, MAX_LOG_WIDTH)
    representable = log_upper > -700.0
    upper = math.exp(log_upper) if representable else math.exp(-700.0)
    b = (upper - yi) / si
    if representable:
        w = upper / si
        c = (0.5 * upper - yi) / si
    else:
        w = math.exp(log_w)
        c = 0.5 * w + a
    abs_c = abs(c)
    # (log1p >= 0: a wide interval needs no log1p to fail the test)
    if log_w < LOG_SERIES_TAU and log_w + math.log1p(abs_c) < LOG_SERIES_TAU:
        w2 = w * w
        c2 = c * c
        s = w2 * (c2 - 1.0) / 24.0 + w2 * w2 * (c2 * c2 - 6.0 * c2 + 3.0) / 1920.0
        return log_w - 0.5 * c2 - HALF_LOG_2PI + math.log1p(s)
    mirror = c > 0
    hi = -a if mirror else b
    if hi < -1.0:
        # lo = -b, hi = -a when mirrored; lo = a, hi = b otherwise
        e_hi = const[5] if mirror else _ERFCX(-b * _SQRT1_2)
        e_lo = _ERFCX(b * _SQRT1_2) if mirror else const[4]
        return (_LOG_HALF - 0.5 * hi * hi
                + _LOG((e_hi - e_lo) - e_lo * math.expm1(-w * abs_c)))
    if mirror:
        return _LOG(0.5 * const[3] - 0.5 * _ERFC(b * _SQRT1_2))
    return _LOG(0.5 * _ERFC(-b * _SQRT1_2) - 0.5 * const[2])


@numba.njit(**_JIT)
def _day_value(yi, si, ti, st, en, log_n0_max, a, x, log_w, const):
    """``log p(y | alpha)`` of one widget, ``t0`` uniform on its day (quadrature)."""
    # the pieces of kernels.day_pieces
    t_c, half = en, 0.0
    if yi > 0:
        t_star = ti - (log_n0_max - math.log(yi)) / a
        t_c = min(max(t_star if math.isfinite(t_star) else en, st), en)
        upper_c = math.exp(log_n0_max - a * (ti - t_c))
        x_c = (upper_c - yi) / si
        half = STEP_HALF_WIDTH * si / (a * upper_c * max(1.0, -x_c))
        half = min(half, en - st) if math.isfinite(half) else 0.0
    cuts = (st, min(max(t_c - 4.0 * half, st), en), min(max(t_c - half, st), en),
            min(max(t_c, st), en), min(max(t_c + half, st), en), en)
    day = en - st
    m, s = -math.inf, 0.0
    for p in range(5):
        length = cuts[p + 1] - cuts[p]
        if length > 0:
            lp = math.log(length / day)
            for j in range(x.size):
                lu = log_n0_max - a * (ti - (cuts[p] + length * x[j]))
                v = _log_diff_day(yi, si, const, lu) - lu + lp + log_w[j]
                if v > m:  # a one-pass log-sum-exp
                    s = (s * math.exp(m - v) if m > -math.inf else 0.0) + 1.0
                    m = v
                elif v > -math.inf:
                    s += math.exp(v - m)
    return math.log(s) + m if m > -math.inf else -math.inf


def _day_values_py(y, sigma, t1, start, end, log_n0_max, alphas, x, log_w, const, out):
    """``out[k, i] = log p(y_i | alphas[k])``, ``t0`` uniform on its day (quadrature)."""
    for k in range(alphas.size):
        for i in numba.prange(y.size):
            out[k, i] = _day_value(y[i], sigma[i], t1[i], start[i], end[i], log_n0_max,
                                   alphas[k], x, log_w, const[i])


#: One thread (on a cluster's workers, which run blocks side by side) ...
_day_values = numba.njit(**_JIT)(_day_values_py)
#: ... or all of them (in memory): the same numbers, each element computed alone.
_day_values_parallel = numba.njit(parallel=True, **_JIT)(_day_values_py)


@numba.njit(nogil=True, error_model="numpy")
def _known_values(y, sigma, t1, t0, log_n0_max, alphas, out):
    """``out[k, i] = log p(y_i | alphas[k], t0_i)``."""
    for k in range(alphas.size):
        for i in range(y.size):
            lu = log_n0_max - alphas[k] * (t1[i] - t0[i])
            out[k, i] = _LOG_DIFF(y[i], sigma[i], lu)[0] - lu


def log_likelihoods(y, sigma, t_measured, log_n0_max, alpha, *, day_start=None, day_end=None,
                    t0=None, parallel: bool = False) -> np.ndarray:
    """Every widget's ``log p(y_i | alpha_k)``, shape ``(K, W)`` (compiled).

    Parameters
    ----------
    y, sigma, t_measured : numpy.ndarray
        Per-widget data, ``(W,)``.
    log_n0_max : float
        ``log N0_max``.
    alpha : array_like
        Rates, ``(K,)``.
    day_start, day_end : numpy.ndarray, optional
        Manufacture days: ``t0`` integrated over them.
    t0 : numpy.ndarray, optional
        Known manufacture times instead.
    parallel : bool
        Spread the widgets over Numba's threads (the same numbers).

    Returns
    -------
    numpy.ndarray
    """
    y, sigma, t1 = (np.ascontiguousarray(v, dtype=np.float64) for v in (y, sigma, t_measured))
    alpha = np.ascontiguousarray(np.atleast_1d(alpha), dtype=np.float64)
    out = np.empty((alpha.size, y.size))
    if t0 is not None:
        _known_values(y, sigma, t1, np.ascontiguousarray(t0, dtype=np.float64),
                      float(log_n0_max), alpha, out)
    else:
        x, w = gauss_legendre(GL_NODES)
        const = np.empty((y.size, 6))
        _widget_constants(y, sigma, const)
        kernel = _day_values_parallel if parallel else _day_values
        kernel(y, sigma, t1, np.ascontiguousarray(day_start, dtype=np.float64),
               np.ascontiguousarray(day_end, dtype=np.float64), float(log_n0_max),
               alpha, np.ascontiguousarray(x), np.log(w), const, out)
    return out


def block_log_likelihood(y, sigma, t_measured, log_n0_max, *, day_start=None, day_end=None,
                         t0=None, block: int = BLOCK):
    """Return ``alpha -> sum_i log p(y_i | alpha)``, summed block by block.

    Each block of ``block`` widgets is summed (:func:`block_sum`, on all of Numba's
    threads), then the blocks' sums in order, as the partitioned path does.
    """
    cols = {"n_measured": y, "sigma": sigma, "t_measured": t_measured, "day_start": day_start,
            "day_end": day_end, "t0": t0}
    cols = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items() if v is not None}
    n = cols["n_measured"].size
    blocks = [{k: v[lo:lo + block] for k, v in cols.items()} for lo in range(0, n, block)]
    known = t0 is not None

    def log_likelihood(alpha):
        alpha = np.asarray(alpha, dtype=np.float64)
        sums = [block_sum(b, log_n0_max, alpha.reshape(-1), known=known, parallel=True)
                for b in blocks]
        return np.sum(np.stack(sums), axis=0).reshape(alpha.shape)

    return log_likelihood


def block_sum(columns, log_n0_max, alpha, *, known: bool, parallel: bool = False) -> np.ndarray:
    """Sum over one block's widgets of ``log p(y_i | alpha_k)``, shape ``(K,)``.

    ``columns`` holds the block's ``n_measured``, ``sigma``, ``t_measured`` and
    ``day_start``, ``day_end`` (``known=False``) or ``t0`` (``known=True``).
    """
    days = ({"t0": columns["t0"]} if known else
            {"day_start": columns["day_start"], "day_end": columns["day_end"]})
    values = log_likelihoods(columns["n_measured"], columns["sigma"], columns["t_measured"],
                             log_n0_max, alpha, parallel=parallel, **days)
    return values.sum(axis=1)
