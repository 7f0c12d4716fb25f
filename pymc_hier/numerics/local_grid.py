"""Tabulating an expensive, sharply peaked 1-D log density with few evaluations.

:func:`~pymc_hier.numerics.quadrature.adaptive_pieces` needs hundreds to thousands of
evaluations of the log density, which is fine while one evaluation is cheap. When each one
sums over 10^5 widgets it is not, and the posterior is then nearly Gaussian and narrow:

1. :func:`find_mode` finds the mode by Brent's method and the curvature there by central
   differences;
2. :func:`chebyshev_log_density` finds where the log density has fallen by ``core_drop``
   and by ``log_range`` on either side, interpolates it on the core at nested Chebyshev
   points (17, 33, 65, ... evaluations) until the density's error relative to its peak,
   checked at the next level's points, is below ``tol``, and each tail linearly.

The interpolant then stands in for the log density wherever many values are needed (the
pieces and nodes of the CDF table). A sum over many widgets is smooth only down to the
sharp features of single terms (a widget measured with a tiny ``sigma`` has a likelihood
that steps within a narrow range of ``alpha``), so convergence is algebraic rather than
spectral: ``tol`` is a practical accuracy, not rounding. The error reported is that of the
last-but-one level (the interpolant returned uses one more level of points), so it is
conservative: on 10^4 widgets it reported 6e-4 where the CDF differed from a ``1e-11``
adaptive table by 3e-6.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import chebyshev
from scipy import fft, optimize


def remembered(log_density):
    """Return ``log_density`` remembering its values at single points.

    Brent's bracketing, the peak and the drop points evaluate some points more than once
    (the start of the search at every widening step, the mode again for the peak); when
    every evaluation sums over all the data, the repeats are worth skipping. Calls with
    more than one point pass straight through; the values are those ``log_density`` gives.
    """
    cache = {}

    def log_density_at(u):
        u = np.asarray(u, dtype=float)
        if u.size != 1:
            return log_density(u)
        key = (float(u.reshape(-1)[0]), u.shape)
        if key not in cache:
            cache[key] = np.asarray(log_density(u), dtype=float)
        return cache[key].copy()

    return log_density_at


def _one(log_density, u: float) -> float:
    return float(np.asarray(log_density(np.array([u], dtype=float)))[0])


def find_mode(log_density, start: float, step: float, *, lower: float,
              upper: float) -> tuple[float, float]:
    """Mode and standard deviation (``(-d2/du2 log f)^(-1/2)``) of a unimodal log density.

    Brent's method on ``[lower, upper]`` finds the mode to ``step / 10``; the curvature
    comes from central differences with step ``step``. Kinks in the log density (sharp
    features of single terms) make the curvature an estimate, which is all it is used for.

    Parameters
    ----------
    log_density : callable
        Vectorised log density of ``u``.
    start : float
        A point near the mode.
    step : float
        First guess of the standard deviation.
    lower, upper : float
        The mode is known to lie in ``[lower, upper]``.

    Returns
    -------
    mode, sd : float

    Raises
    ------
    ValueError
        When the log density is not finite and concave around the mode.
    """
    def neg(u):
        value = _one(log_density, u)
        return -value if np.isfinite(value) else np.inf

    lo, hi = max(lower, start - 10 * step), min(upper, start + 10 * step)
    while lo > lower and neg(lo) <= neg(start):
        lo = max(lower, start - 2 * (start - lo))
    while hi < upper and neg(hi) <= neg(start):
        hi = min(upper, start + 2 * (hi - start))
    res = optimize.minimize_scalar(neg, bounds=(lo, hi), method="bounded",
                                   options={"xatol": step / 10})
    mode, h = float(res.x), float(step)
    f = np.array([_one(log_density, mode - h), -float(res.fun), _one(log_density, mode + h)])
    curv = (f[2] - 2 * f[1] + f[0]) / h**2
    if not (np.all(np.isfinite(f)) and curv < 0):
        raise ValueError("log density not finite and concave at its mode")
    return mode, float(1.0 / np.sqrt(-curv))


def _drop_point(log_density, mode, sd, peak, drop, sign, width=None):
    """Return a point ``sign``-wards of the mode where the log density is ``drop`` down."""
    width = np.sqrt(2 * drop) * sd if width is None else width
    while _one(log_density, mode + sign * width) > peak - drop:
        width *= 1.5
    return mode + sign * width


def _lobatto_coefficients(x, values) -> np.ndarray:
    """Chebyshev coefficients of the interpolant at the points ``x = cos(pi j / n)``.

    ``x`` holds the ``n + 1`` Chebyshev-Lobatto points in any order. The coefficients come
    from a type-I discrete cosine transform, whose sums run in a fixed order: unlike a
    least-squares fit (LAPACK, whose multi-threaded BLAS splits sums by the thread count),
    the result does not depend on how many threads the machine has.
    """
    n = len(x) - 1
    j = np.rint(np.arccos(np.clip(x, -1.0, 1.0)) * n / np.pi).astype(int)
    ordered = np.empty(n + 1)
    ordered[j] = values
    coef = fft.dct(ordered, type=1) / n
    coef[[0, -1]] /= 2
    return coef


def _nested_chebyshev(log_density, lower, upper, peak, tol, max_points):
    """Chebyshev interpolant on ``[lower, upper]`` at nested points; return it and its error.

    The error is the largest difference, at the points of the next level, between the
    interpolant and the log density, weighted by ``exp(log_density - peak)``: the error of
    the density relative to its peak. The interpolant returned uses every point evaluated.
    """
    centre, half = 0.5 * (upper + lower), 0.5 * (upper - lower)
    n = 16
    x = np.cos(np.pi * np.arange(n + 1) / n)
    values = np.asarray(log_density(centre + half * x), dtype=float)
    while True:
        if not np.all(np.isfinite(values)):
            raise ValueError("log density not finite on the interval")
        coef = _lobatto_coefficients(x, values)
        new_x = np.cos(np.pi * np.arange(1, 2 * n, 2) / (2 * n))
        new_values = np.asarray(log_density(centre + half * new_x), dtype=float)
        with np.errstate(invalid="ignore"):
            err = float(np.max(np.abs(chebyshev.chebval(new_x, coef) - new_values)
                               * np.exp(np.minimum(new_values - peak, 0.0))))
        x, values = np.concatenate([x, new_x]), np.concatenate([values, new_values])
        n *= 2
        if not np.all(np.isfinite(new_values)):
            raise ValueError("log density not finite on the interval")
        if err <= tol or 2 * n + 1 > max_points:
            return chebyshev.Chebyshev(_lobatto_coefficients(x, values),
                                       domain=[lower, upper]), err


def chebyshev_log_density(log_density, mode: float, sd: float, *, log_range: float,
                          tol: float = 1e-3, max_points: int = 257, core_drop: float = 25.0):
    """Interval holding the mass and a piecewise Chebyshev interpolant of the log density.

    The core, where the log density lies within ``core_drop`` of its peak, is interpolated
    at nested Chebyshev points until the density's error relative to its peak is below
    ``tol``; each tail, out to ``log_range`` below the peak, is interpolated linearly
    between five points (its density is below ``exp(-core_drop)`` of the peak, so a crude
    fit is plenty).

    Returns
    -------
    lower, upper : float
        The interval: the log density at its ends lies ``log_range`` below the mode's.
    interpolant : callable
        Vectorised approximation of ``log_density`` on ``[lower, upper]``.
    error : float
        Estimated error of the density relative to its peak (the core's check, made on
        the interpolant one level coarser than the one returned).

    Raises
    ------
    ValueError
        When the log density is not finite on the interval or the core's error is still
        above ``1e-2`` with ``max_points`` points.
    """
    peak = _one(log_density, mode)
    core_lo, core_hi = (_drop_point(log_density, mode, sd, peak, core_drop, sign)
                        for sign in (-1.0, 1.0))
    lower = _drop_point(log_density, mode, sd, peak, log_range, -1.0, width=mode - core_lo)
    upper = _drop_point(log_density, mode, sd, peak, log_range, 1.0, width=core_hi - mode)
    core, error = _nested_chebyshev(log_density, core_lo, core_hi, peak, tol, max_points)
    if error > 1e-2:
        raise ValueError(f"log density not resolved by {max_points} Chebyshev points")
    # tails: linear interpolation at 5 points each, the log density floored far below
    # the peak (it may be -inf where the data rule alpha out)
    pts = np.concatenate([np.linspace(lower, core_lo, 5)[:-1], [core_lo, core_hi],
                          np.linspace(core_hi, upper, 5)[1:]])
    tail_values = np.asarray(log_density(np.delete(pts, [4, 5])), dtype=float)
    tail_values = np.insert(tail_values, 4, [core(core_lo), core(core_hi)])
    tail_values = np.maximum(np.nan_to_num(tail_values, nan=-np.inf), peak - 10 * log_range)

    def interpolant(u):
        u = np.asarray(u, dtype=float)
        inside = (u >= core_lo) & (u <= core_hi)
        return np.where(inside, core(np.clip(u, core_lo, core_hi)),
                        np.interp(u, pts, tail_values))

    return lower, upper, interpolant, error
