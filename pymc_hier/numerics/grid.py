"""NumPy kernels for 1-D posteriors on a grid and mixtures of normals.

- :class:`LogGrid`: a positive scale parameter ``tau`` handled in ``t = log(tau)``, where
  heavy tails (HalfCauchy priors, flat priors) decay exponentially. The grid adapts to where
  the mass is (:func:`adaptive_log_grid`); the density is piecewise linear in ``t`` between
  nodes, so the CDF, quantiles and draws are exact for that interpolant.
- :func:`mixture_cdf`, :func:`mixture_pdf`, :func:`mixture_quantile`: a weighted mixture of
  normals (the marginal of a parameter that is normal given ``tau``), with quantiles by
  safeguarded Newton iterations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

#: Log-density drop (from the maximum) treated as "no mass": exp(-40) ~ 4e-18.
NEGLIGIBLE = 40.0
#: Range of the coarse search grid in t = log(tau), relative to log(scale).
SEARCH_SPAN = (-50.0, 70.0)
SEARCH_SIZE = 2401


@dataclass(frozen=True)
class LogGrid:
    """A density on a uniform grid in ``t = log(tau)``, linear between nodes.

    Attributes
    ----------
    t : ndarray
        Nodes, equally spaced.
    logf : ndarray
        Unnormalised log density of ``t`` at the nodes.
    moment_limits : tuple of bool
        ``moment_limits[k]`` is True when the ``k``-th moment of ``tau`` was resolved on the
        search range (False: infinite, or too heavy-tailed to resolve).
    """

    t: np.ndarray
    logf: np.ndarray
    moment_limits: tuple[bool, ...]

    @property
    def step(self) -> float:
        """Grid spacing in ``t``."""
        return float(self.t[1] - self.t[0])

    @property
    def _f(self) -> np.ndarray:
        return np.exp(self.logf - self.logf.max())

    @property
    def _cum(self) -> np.ndarray:
        f = self._f
        cells = 0.5 * self.step * (f[:-1] + f[1:])
        return np.concatenate([[0.0], np.cumsum(cells)])

    @property
    def log_norm(self) -> float:
        """Log of the integral of ``exp(logf)`` over ``t``."""
        return float(np.log(self._cum[-1]) + self.logf.max())

    def nodes(self, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Every ``stride``-th node and its normalised trapezoid weight (for integrals).

        Nodes whose weight underflows to zero are dropped.
        """
        t, w = self.t[::stride], self._f[::stride]
        w[[0, -1]] *= 0.5
        keep = w > 0
        return t[keep], w[keep] / w[keep].sum()

    def cdf_t(self, x) -> np.ndarray:
        """CDF of ``t`` at ``x`` (exact for the piecewise-linear density)."""
        x = np.asarray(x, dtype=float)
        f, cum, h = self._f, self._cum, self.step
        i = np.clip(np.searchsorted(self.t, x, side="right") - 1, 0, len(self.t) - 2)
        s = np.clip(x - self.t[i], 0.0, h)
        mass = cum[i] + f[i] * s + 0.5 * (f[i + 1] - f[i]) / h * s * s
        return np.where(x <= self.t[0], 0.0, np.where(x >= self.t[-1], 1.0, mass / cum[-1]))

    def quantile_t(self, q) -> np.ndarray:
        """Quantiles of ``t`` (inverse of :meth:`cdf_t`)."""
        q = np.asarray(q, dtype=float)
        if np.any((q < 0) | (q > 1)) or np.any(np.isnan(q)):
            raise ValueError(f"q: probabilities must lie in [0, 1], got {q!r}")
        f, cum, h = self._f, self._cum, self.step
        target = q * cum[-1]
        i = np.clip(np.searchsorted(cum, target, side="right") - 1, 0, len(self.t) - 2)
        r = target - cum[i]
        a = 0.5 * (f[i + 1] - f[i]) / h
        b = f[i]
        disc = np.sqrt(np.maximum(b * b + 4.0 * a * r, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(b + disc > 0, 2.0 * r / (b + disc), 0.0)
        return self.t[i] + np.clip(s, 0.0, h)


def adaptive_log_grid(logf, *, center: float, size: int, moments: int = 2,
                      name: str = "tau") -> LogGrid:
    """Place ``size`` nodes in ``t`` where ``logf`` (log density of ``t``) has its mass.

    A coarse search over ``center + SEARCH_SPAN`` finds the region where ``logf(t) + k t``
    (``k = 0 .. moments``, the integrands of the moments of ``tau``) is within
    :data:`NEGLIGIBLE` of its maximum; two refinements then cover that region with
    ``size`` equally spaced nodes, so a sharply peaked density (many groups) gets as many
    nodes as a wide one.

    Raises
    ------
    ValueError
        If the density is not finite somewhere, or does not decay at either end of the
        search range (an improper posterior, or one too heavy-tailed to resolve).
    """
    t = center + np.linspace(*SEARCH_SPAN, SEARCH_SIZE)
    lp = _checked(logf, t, name)
    if lp[0] > lp.max() - NEGLIGIBLE or lp[-1] > lp.max() - NEGLIGIBLE:
        end = "infinity" if lp[-1] > lp.max() - NEGLIGIBLE else "0"
        raise ValueError(
            f"priors: the posterior density of {name} does not decay as {name} -> {end} "
            f"(checked up to {name} = {np.exp(t[-1 if end != '0' else 0]):.3g}); the "
            f"posterior is improper or too heavy-tailed to compute; use a proper prior "
            f"on {name}"
        )
    limits = tuple(bool(lp[-1] + k * t[-1] < (lp + k * t).max() - NEGLIGIBLE)
                   for k in range(moments + 1))
    for _ in range(2):
        keep = np.zeros(len(t), dtype=bool)
        for k in range(moments + 1):
            g = lp + k * t
            keep |= g > g.max() - NEGLIGIBLE
        idx = np.flatnonzero(keep)
        lo, hi = t[max(idx[0] - 1, 0)], t[min(idx[-1] + 1, len(t) - 1)]
        t = np.linspace(lo, hi, size)
        lp = _checked(logf, t, name)
    return LogGrid(t=t, logf=lp, moment_limits=limits)


def _checked(logf, t, name):
    lp = np.asarray(logf(t), dtype=float)
    if lp.shape != t.shape:
        raise ValueError(f"priors[{name!r}]: log density returned shape {lp.shape} for "
                         f"{t.shape} points")
    if np.any(np.isnan(lp)) or np.any(lp == np.inf):
        bad = np.flatnonzero(np.isnan(lp) | (lp == np.inf))[0]
        raise ValueError(f"priors[{name!r}]: log posterior density is {lp[bad]} at "
                         f"{name} = {np.exp(t[bad]):.6g}")
    if not np.isfinite(lp.max()):
        raise ValueError(f"priors[{name!r}]: zero posterior density everywhere on "
                         f"{name} > 0")
    return lp


# -- mixtures of normals ----------------------------------------------------------------------
_CHUNK = 2**18  # elements per (components x points) block


def mixture_cdf(x, w, loc, scale) -> np.ndarray:
    """CDF of ``sum_i w_i Normal(loc[i, m], scale[i, m])`` at ``x[n, m]``.

    ``w`` has shape (K,), ``loc`` and ``scale`` shape (K, M) and ``x`` shape (N, M); the
    result has shape (N, M). Work is done in blocks to bound memory.
    """
    return _mixture_apply(x, w, loc, scale, lambda z, s: ndtr(z))


def mixture_pdf(x, w, loc, scale) -> np.ndarray:
    """Density of the mixture of :func:`mixture_cdf` at ``x[n, m]``."""
    return _mixture_apply(x, w, loc, scale,
                          lambda z, s: np.exp(-0.5 * z * z) / (np.sqrt(2 * np.pi) * s))


def _mixture_apply(x, w, loc, scale, kernel):
    x = np.asarray(x, dtype=float)
    n, m = x.shape
    out = np.empty((n, m))
    cols = max(1, min(m, _CHUNK // len(w)))
    rows = max(1, _CHUNK // (len(w) * cols))
    for j in range(0, m, cols):
        cs = slice(j, j + cols)
        s = scale[:, None, cs]
        for i in range(0, n, rows):
            rs = slice(i, i + rows)
            z = (x[None, rs, cs] - loc[:, None, cs]) / s
            out[rs, cs] = np.einsum("k,knm->nm", w, kernel(z, s))
    return out


def mixture_quantile(q, w, loc, scale, *, xtol: float = 1e-10,
                     max_iter: int = 100) -> np.ndarray:
    """Quantiles ``q`` (shape (N,)) of each of the M mixtures: shape (N, M).

    Each quantile lies between the smallest and the largest component quantile; Newton
    steps inside that bracket (bisection when a step leaves it) converge in a few
    iterations, stopped when a step moves less than ``xtol`` times the mixture's typical
    component scale.
    """
    q = np.asarray(q, dtype=float).reshape(-1)
    if np.any((q <= 0) | (q >= 1)) or np.any(np.isnan(q)):
        raise ValueError(f"q: probabilities must lie in (0, 1), got {q!r}")
    z = ndtri(q)
    lo = np.full((len(q), loc.shape[1]), np.inf)
    hi = np.full_like(lo, -np.inf)
    for k in range(len(w)):  # bracket: smallest and largest component quantile
        comp = loc[k] + scale[k] * z[:, None]
        lo, hi = np.minimum(lo, comp), np.maximum(hi, comp)
    tol = xtol * (w @ scale)
    mean = w @ loc  # start from the normal with the mixture's mean and sd
    sd = np.sqrt(np.maximum(w @ (scale**2 + loc**2) - mean**2, 0.0))
    x = np.clip(mean + sd * z[:, None], lo, hi)
    for _ in range(max_iter):
        err = mixture_cdf(x, w, loc, scale) - q[:, None]
        lo = np.where(err < 0, x, lo)
        hi = np.where(err > 0, x, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x - err / mixture_pdf(x, w, loc, scale)
        small = np.abs(step - x) <= tol  # converged (False for non-finite steps)
        bad = ~np.isfinite(step) | (step < lo) | (step > hi)
        x_new = np.where(small | ~bad, step, 0.5 * (lo + hi))
        done = np.all(small | (hi - lo <= tol))
        x = x_new
        if done:
            break
    return x
