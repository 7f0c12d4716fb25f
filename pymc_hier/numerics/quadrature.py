"""Piecewise Gauss-Legendre quadrature of 1-D densities, with CDFs and inverse CDFs.

A density known up to a constant (as a vectorised log density) is represented on pieces
``[e_0, e_1], ..., [e_{P-1}, e_P]`` by its values at ``K`` Gauss-Legendre nodes per piece
and at the edges. From that:

- the normaliser (Gauss-Legendre, exact for polynomials of degree ``2K - 1`` per piece);
- the CDF at every node, by integrating the piece's interpolating polynomial (a spectral
  integration matrix), so the CDF is as accurate as the quadrature;
- the CDF between nodes and its inverse, by cubic Hermite interpolation of the CDF with the
  density as its derivative (error ``O(h^4)`` in the node spacing ``h``).

The inverse CDF of a single table (no batch axes) at many probabilities (more than
:data:`COMPILED_FROM`), as exact samplers ask for, runs compiled (:func:`_quantile_1d`),
one query at a time: the same safeguarded Newton iteration as NumPy's batch path, with
each piece's interpolant as Legendre coefficients (the same numbers to rounding, several
times faster, and no BLAS call whose threads compete with the caller's). Fewer queries
take NumPy's path, which answers them before the compiled one is loaded from Numba's cache.

:func:`adaptive_pieces` chooses the pieces for a smooth but possibly sharply peaked density
by bisecting pieces until the quadrature on a piece agrees with that on its two halves.
Everything works on leading batch axes (``(..., P)``), so many densities (one per widget
and draw) are handled at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numba
import numpy as np
from scipy import special


@cache
def _rule(k: int):
    """Gauss-Legendre rule on ``[0, 1]`` with its interpolation and integration bases.

    Returns nodes, weights, ``coef`` (Legendre coefficients on ``[-1, 1]`` of the Lagrange
    basis polynomials, one column each) and ``icoef`` (of their integrals from -1).
    """
    x, w = np.polynomial.legendre.leggauss(k)
    coef = np.linalg.inv(np.polynomial.legendre.legvander(x, k - 1))
    icoef = np.polynomial.legendre.legint(coef, lbnd=-1.0, axis=0)
    # smat[j, i]: integral of l_i from the left edge to node j, on [0, 1]
    smat = 0.5 * (np.polynomial.legendre.legvander(x, k) @ icoef)
    nodes, weights = 0.5 * (x + 1.0), 0.5 * w
    for arr in (nodes, weights, coef, icoef, smat):
        arr.setflags(write=False)
    return nodes, weights, coef, icoef, smat


def legendre_rule(k: int):
    """Gauss-Legendre rule with ``k`` nodes on ``[0, 1]`` and its polynomial bases (cached).

    Returns
    -------
    nodes, weights : numpy.ndarray
        Shape ``(k,)``.
    coef : numpy.ndarray
        ``(k, k)``: Legendre coefficients (on ``[-1, 1]``) of the Lagrange basis polynomials
        of the nodes, one column each: the interpolant at ``u`` is
        ``legvander(u, k - 1) @ coef @ values``.
    icoef : numpy.ndarray
        ``(k + 1, k)``: coefficients of their integrals from ``-1``.
    smat : numpy.ndarray
        ``(k, k)``: ``smat[j, i]`` is the integral of basis polynomial ``i`` from the left
        end to node ``j``, on ``[0, 1]``.
    """
    return _rule(int(k))


def piece_nodes(edges, k: int):
    """Gauss-Legendre nodes of every piece: shape ``(..., P, k)``."""
    nodes = _rule(k)[0]
    left = edges[..., :-1, None]
    return left + np.diff(edges, axis=-1)[..., None] * nodes


@dataclass(frozen=True)
class PieceTable:
    """A 1-D density on pieces, normalised: see :func:`piece_table`.

    Attributes
    ----------
    edges : numpy.ndarray
        Piece edges, ``(..., P + 1)``.
    f : numpy.ndarray
        Normalised density at the Gauss-Legendre nodes, ``(..., P, K)``.
    start : numpy.ndarray
        CDF at the edges, ``(..., P + 1)``.
    log_norm : numpy.ndarray
        Log of the normaliser of the unnormalised density, ``(...)``.
    cdf_nodes : numpy.ndarray
        CDF at the nodes, ``(..., P, K)``.
    """

    edges: np.ndarray
    f: np.ndarray
    start: np.ndarray
    log_norm: np.ndarray
    cdf_nodes: np.ndarray

    def _gather(self, piece):
        """Left edge, length, CDF at the left edge and node values of each query's piece."""
        left = np.take_along_axis(self.edges, piece, axis=-1)
        right = np.take_along_axis(self.edges, piece + 1, axis=-1)
        start = np.take_along_axis(self.start, piece, axis=-1)
        values = np.take_along_axis(self.f, piece[..., None], axis=-2)
        return left, right - left, start, values

    def _poly(self, t, values):
        """CDF increment (per unit length) and density at ``t`` in ``[0, 1]`` of a piece."""
        k = values.shape[-1]
        _, _, coef, icoef, _ = _rule(k)
        u = 2.0 * t - 1.0
        integral = np.polynomial.legendre.legvander(u, k) @ icoef   # (..., n, K)
        density = np.polynomial.legendre.legvander(u, k - 1) @ coef
        return 0.5 * np.sum(integral * values, axis=-1), np.sum(density * values, axis=-1)

    def _at(self, x):
        """``(x, length, CDF at the left edge, CDF increment, density)`` of each ``x``'s piece."""
        x = np.asarray(x, dtype=float)
        edges = self.edges
        piece = np.clip(np.sum(edges[..., None, :] <= x[..., None], axis=-1) - 1,
                        0, edges.shape[-1] - 2)
        left, length, start, values = self._gather(piece)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.clip(np.where(length > 0, (x - left) / length, 0.0), 0.0, 1.0)
        return (x, length, start, *self._poly(t, values))

    def cdf(self, x):
        """CDF at ``x``, shape ``(..., n)`` against the table's batch shape ``(...)``."""
        x, length, start, inc, _ = self._at(x)
        edges = self.edges
        out = start + length * inc
        out = np.where(x <= edges[..., :1], 0.0, np.where(x >= edges[..., -1:], 1.0, out))
        return np.clip(out, 0.0, 1.0)

    def pdf(self, x):
        """Normalised density at ``x`` (the table's interpolating polynomials; 0 outside).

        Accurate to the table's tolerance relative to its peak: in the far tails, where the
        density is within that tolerance of 0, prefer the function the table came from.
        """
        x, length, _, _, density = self._at(x)
        edges = self.edges
        inside = (x >= edges[..., :1]) & (x <= edges[..., -1:]) & (length > 0)
        return np.where(inside, np.maximum(density, 0.0), 0.0)

    def quantile(self, v, *, iterations: int = 60):
        """Solve ``CDF(x) = v`` (shape ``(..., n)``) by safeguarded Newton within a piece."""
        v = np.asarray(v, dtype=float)
        if self.edges.ndim == 1 and v.ndim == 1 and v.size > COMPILED_FROM:
            return self._quantile_compiled(v, iterations)
        return self._quantile_batch(v, iterations)

    def _quantile_batch(self, v, iterations: int):
        """:meth:`quantile` in NumPy, on whole arrays (any batch shape)."""
        start = self.start
        piece = np.clip(np.sum(start[..., None, :] <= v[..., None], axis=-1) - 1,
                        0, start.shape[-1] - 2)
        left, length, s0, values = self._gather(piece)
        s1 = np.take_along_axis(start, piece + 1, axis=-1)
        # bracket between the nodes whose CDF values straddle v, then interpolate
        nodes = _rule(values.shape[-1])[0]
        cn = np.take_along_axis(self.cdf_nodes, piece[..., None], axis=-2)
        knots = np.concatenate([s0[..., None], cn, s1[..., None]], axis=-1)
        tk = np.concatenate([[0.0], nodes, [1.0]])
        j = np.clip(np.sum(knots <= v[..., None], axis=-1) - 1, 0, len(tk) - 2)
        c0 = np.take_along_axis(knots, j[..., None], axis=-1)[..., 0]
        c1 = np.take_along_axis(knots, j[..., None] + 1, axis=-1)[..., 0]
        t_lo, t_hi = tk[j], tk[j + 1]
        shape = piece.shape
        left, length, s0, v, c0, c1, t_lo, t_hi = (
            np.broadcast_to(a, shape).ravel()
            for a in (left, length, s0, v, c0, c1, t_lo, t_hi))
        values = np.broadcast_to(values, shape + values.shape[-1:]).reshape(-1, values.shape[-1])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(c1 > c0, t_lo + (v - c0) / (c1 - c0) * (t_hi - t_lo), t_lo)
        t = np.clip(t, t_lo, t_hi)
        lo, hi = t_lo.copy(), t_hi.copy()
        active = np.flatnonzero((length > 0) & (c1 > c0))
        tol = _NEWTON_TOL
        for _ in range(iterations):
            if not active.size:
                break
            ta = t[active]
            inc, dens = self._poly(ta, values[active])
            resid = s0[active] + length[active] * inc - v[active]
            la = np.where(resid <= 0, ta, lo[active])
            ha = np.where(resid > 0, ta, hi[active])
            with np.errstate(divide="ignore", invalid="ignore"):
                step = ta - resid / (length[active] * dens)
            inside = np.isfinite(step) & (step > la) & (step < ha)
            exact = np.abs(resid) <= tol
            new = np.where(exact, ta, np.where(inside, step, 0.5 * (la + ha)))
            t[active], lo[active], hi[active] = new, la, ha
            done = exact | (np.abs(new - ta) <= tol) | (ha - la <= tol)
            active = active[~done]
        return (left + t * length).reshape(shape)

    def _quantile_compiled(self, v, iterations: int):
        """:meth:`quantile` of a single table at the 1-D ``v`` (:func:`_quantile_1d`)."""
        k = self.f.shape[-1]
        nodes, _, coef, icoef, _ = _rule(k)
        out = np.empty(v.shape)
        _quantile_1d(np.ascontiguousarray(self.edges, dtype=np.float64),
                     np.ascontiguousarray(self.start, dtype=np.float64),
                     np.ascontiguousarray(self.cdf_nodes, dtype=np.float64),
                     np.ascontiguousarray(self.f @ coef.T), np.ascontiguousarray(self.f @ icoef.T),
                     np.ascontiguousarray(nodes), np.ascontiguousarray(v), int(iterations), out)
        return out


#: A single table's quantiles at more probabilities than this run compiled. For a quantile
#: map's grid (481 probabilities) NumPy's batch path takes 1 ms, the compiled one 0.1 ms
#: after 0.1 s of loading it from Numba's cache in each process, or 0.5 s of compiling it
#: on first use (two cores): a model built for nutpie never loads it. An exact sampler's
#: 4000 draws of ``alpha`` keep the compiled path (the batch path made ``run decay
#: --sampler exact``'s sampling stage 0.06 -> 0.2 s, warm).
COMPILED_FROM = 1_000

#: Newton's iteration in :meth:`PieceTable.quantile` stops at this residual or step.
_NEWTON_TOL = 4 * float(np.finfo(float).eps)


@numba.njit(cache=True, nogil=True)
def _legendre_sums(u, dens, integral):
    """``sum_m dens[m] P_m(u)`` and ``sum_m integral[m] P_m(u)`` in one pass.

    Legendre polynomials by their three-term recurrence, ``integral`` one term longer.
    """
    p0, p1 = 1.0, u
    d = dens[0] + dens[1] * p1
    s = integral[0] + integral[1] * p1
    for m in range(2, dens.size):
        p0, p1 = p1, ((2.0 - 1.0 / m) * u * p1 - (1.0 - 1.0 / m) * p0)
        d += dens[m] * p1
        s += integral[m] * p1
    m = dens.size
    p1 = (2.0 - 1.0 / m) * u * p1 - (1.0 - 1.0 / m) * p0
    return d, s + integral[m] * p1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _quantile_1d(edges, start, cdf_nodes, dens_coef, int_coef, nodes, v, iterations, out):
    """:meth:`PieceTable.quantile` of one table, query by query, into ``out``.

    ``dens_coef[p]`` (``(P, K)``) and ``int_coef[p]`` (``(P, K + 1)``) are the Legendre
    coefficients, on ``[-1, 1]``, of piece ``p``'s interpolating polynomial and of its
    integral from the left end (``coef @ f[p]`` and ``icoef @ f[p]``). The steps are those
    of the batch path: the piece whose CDF range holds ``v``, the nodes that bracket it,
    linear interpolation between them, then Newton steps kept inside the shrinking bracket
    (bisection where a step leaves it) until the residual or the step is within
    ``4 eps``.
    """
    n_pieces = edges.size - 1
    k = nodes.size
    tol = _NEWTON_TOL
    for i in range(v.size):
        vi = v[i]
        # the piece: (# of CDF values at the edges <= v) - 1, by bisection (they ascend)
        below, above = 0, n_pieces + 1
        while below < above:
            mid = (below + above) // 2
            if start[mid] <= vi:
                below = mid + 1
            else:
                above = mid
        piece = min(max(below - 1, 0), n_pieces - 1)
        left = edges[piece]
        length = edges[piece + 1] - left
        s0, s1 = start[piece], start[piece + 1]
        # knots: CDF at the left edge, the nodes, the right edge; j = (# knots <= v) - 1
        count = (1 if s0 <= vi else 0) + (1 if s1 <= vi else 0)
        for m in range(k):
            if cdf_nodes[piece, m] <= vi:
                count += 1
        j = min(max(count - 1, 0), k)
        c0 = s0 if j == 0 else cdf_nodes[piece, j - 1]
        c1 = s1 if j == k else cdf_nodes[piece, j]
        t_lo = 0.0 if j == 0 else nodes[j - 1]
        t_hi = 1.0 if j == k else nodes[j]
        t = t_lo + (vi - c0) / (c1 - c0) * (t_hi - t_lo) if c1 > c0 else t_lo
        t = min(max(t, t_lo), t_hi)
        lo, hi = t_lo, t_hi
        if length > 0 and c1 > c0:
            for _ in range(iterations):
                u = 2.0 * t - 1.0
                dens, inc = _legendre_sums(u, dens_coef[piece], int_coef[piece])
                inc *= 0.5
                resid = s0 + length * inc - vi
                la = t if resid <= 0 else lo
                ha = t if resid > 0 else hi
                step = t - resid / (length * dens)
                if abs(resid) <= tol:
                    new = t
                elif math.isfinite(step) and la < step < ha:
                    new = step
                else:
                    new = 0.5 * (la + ha)
                done = abs(resid) <= tol or abs(new - t) <= tol or ha - la <= tol
                t, lo, hi = new, la, ha
                if done:
                    break
        out[i] = left + t * length


def piece_table(edges, log_f_nodes) -> PieceTable:
    """Normalise a density given on pieces by its log values at :func:`piece_nodes`.

    Parameters
    ----------
    edges : numpy.ndarray
        Piece edges, ``(..., P + 1)``, non-decreasing (empty pieces are allowed).
    log_f_nodes : numpy.ndarray
        Unnormalised log density at the nodes, ``(..., P, K)``.

    Returns
    -------
    PieceTable
    """
    k = log_f_nodes.shape[-1]
    weights, smat = _rule(k)[1], _rule(k)[4]
    peak = np.max(log_f_nodes, axis=(-2, -1))
    peak = np.where(np.isfinite(peak), peak, 0.0)
    f = np.exp(log_f_nodes - peak[..., None, None])
    mass = np.diff(edges, axis=-1) * (f @ weights)
    start = np.concatenate([np.zeros(mass.shape[:-1] + (1,)), np.cumsum(mass, axis=-1)],
                           axis=-1)
    total = start[..., -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_norm = peak + np.log(total[..., 0])
        f = f / total[..., None]
        start = start / total
    cdf_nodes = start[..., :-1, None] + np.diff(edges, axis=-1)[..., None] * (f @ smat.T)
    return PieceTable(edges=edges, f=f, start=start, log_norm=log_norm,
                      cdf_nodes=np.minimum(cdf_nodes, start[..., 1:, None]))


def adaptive_pieces(log_density, lower: float, upper: float, *, k: int = 16,
                    start: int = 32, rtol: float = 1e-11, max_pieces: int = 4096):
    """Pieces of ``[lower, upper]`` on which ``k``-node Gauss-Legendre is accurate.

    A piece is split while its integral differs from the sum over its two halves, or its
    interpolating polynomial from the density at the halves' nodes, by more than ``rtol``
    times the current total (all in one vectorised call per round).

    Parameters
    ----------
    log_density : callable
        Vectorised unnormalised log density.
    lower, upper : float
        The interval.
    k : int
        Nodes per piece.
    start : int
        Initial number of equal pieces.
    rtol : float
        Relative tolerance on the total mass.
    max_pieces : int
        Upper limit on the number of pieces.

    Returns
    -------
    numpy.ndarray
        Sorted piece edges.
    """
    nodes, weights, coef = _rule(k)[:3]
    log_w = np.log(weights)
    half_t = np.concatenate([0.5 * nodes, 0.5 + 0.5 * nodes])
    edges = np.linspace(lower, upper, start + 1)
    done = np.zeros(start, dtype=bool)
    log_mass = np.full(start, -np.inf)  # of the pieces that are done
    while True:
        left, right = edges[:-1], edges[1:]
        mid = 0.5 * (left + right)
        todo = ~done
        lo, mi, hi = left[todo], mid[todo], right[todo]
        pts = np.concatenate([lo[:, None] + (hi - lo)[:, None] * nodes,
                              lo[:, None] + (mi - lo)[:, None] * nodes,
                              mi[:, None] + (hi - mi)[:, None] * nodes], axis=1)
        logf = np.asarray(log_density(pts.ravel()), dtype=float).reshape(pts.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            whole = special.logsumexp(logf[:, :k] + log_w, axis=1) + np.log(hi - lo)
            halves = np.logaddexp(
                special.logsumexp(logf[:, k:2 * k] + log_w, axis=1) + np.log(mi - lo),
                special.logsumexp(logf[:, 2 * k:] + log_w, axis=1) + np.log(hi - mi))
            log_total = np.logaddexp(special.logsumexp(log_mass[done]) if done.any()
                                     else -np.inf, special.logsumexp(halves))
            err = np.abs(np.exp(whole - log_total) - np.exp(halves - log_total))
            # the CDF inside a piece comes from the interpolating polynomial: check it
            # against the density at the halves' nodes too
            scale = (hi - lo)[:, None]
            f_whole = np.exp(logf[:, :k] - log_total) * scale
            f_half = np.exp(logf[:, k:] - log_total) * scale
            interp = f_whole @ (np.polynomial.legendre.legvander(2 * half_t - 1, k - 1)
                                @ coef).T
            err = np.maximum(err, np.max(np.abs(interp - f_half), axis=1))
        err = np.where(np.isfinite(err), err, 0.0)
        split_todo = err > rtol
        log_mass[np.flatnonzero(todo)[~split_todo]] = halves[~split_todo]
        split = np.zeros_like(done)
        split[np.flatnonzero(todo)] = split_todo
        done = done | ~split
        if not split.any() or len(edges) + split.sum() > max_pieces + 1:
            return edges
        counts = np.where(split, 2, 1)
        edges = np.sort(np.concatenate([edges, mid[split]]))
        done = np.repeat(done, counts)
        log_mass = np.repeat(np.where(split, -np.inf, log_mass), counts)
