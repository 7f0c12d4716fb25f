"""Mean and standard deviation of a positive variable tabulated on a log scale, tails included.

A density of ``u = log x`` tabulated where its mass is (:class:`PieceTable`) gives the
quantiles of ``x`` exactly, but its moments can live outside the table: a posterior whose
likelihood tends to a constant as ``x -> infinity`` keeps the prior's tail there, and with a
half-Cauchy prior ``E[x]`` is infinite however little mass that tail holds. Integrating the
table alone would return a number set by where the table stops.

:func:`log_scale_moments` integrates the table and then the tail from the table's end over
:data:`TAIL_SPAN` more e-folds of ``x`` (100 decades; adaptive Gauss-Legendre in ``u``). A
moment is *infinite* when it depends on where that integration stops: when the last
:data:`TAIL_EFOLDS` e-folds carry more than :data:`TAIL_SHARE` of it (the integrand
``x^k p(x)`` does not fall off there). A tail whose contribution vanishes in
floating point (a likelihood that is ``e^-30000`` of its peak once it has flattened) leaves
a finite moment, exact to that share. NumPy and SciPy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from pymc_hier.numerics.quadrature import PieceTable, adaptive_pieces, piece_nodes

__all__ = ["TAIL_EFOLDS", "TAIL_SHARE", "TAIL_SPAN", "LogScaleMoments", "log_scale_moments"]

#: The tail is integrated over this many e-folds of ``x`` beyond the table (100 decades).
TAIL_SPAN = 100 * float(np.log(10.0))
#: The moments' dependence on the upper end is measured over this many e-folds below it ...
TAIL_EFOLDS = 100.0
#: ... and a moment is infinite when that stretch carries more than this share of it.
TAIL_SHARE = 1e-10
_TAIL_NODES = 8


@dataclass(frozen=True)
class LogScaleMoments:
    """Result of :func:`log_scale_moments`.

    Attributes
    ----------
    mean, sd : float
        ``inf`` when infinite.
    tail_share : tuple of float
        Share of ``E[x]`` and ``E[x^2]`` carried by the last :data:`TAIL_EFOLDS` e-folds
        of the integration.
    tail_exponent : float
        ``s`` of the density's far tail, ``p(x) ~ x^s`` (estimated at the end of the
        integration; ``-inf`` when the density vanishes there).
    """

    mean: float
    sd: float
    tail_share: tuple[float, float]
    tail_exponent: float


def log_scale_moments(log_density, table: PieceTable, *, tail_span: float = TAIL_SPAN,
                      tail_efolds: float = TAIL_EFOLDS,
                      tail_share: float = TAIL_SHARE) -> LogScaleMoments:
    """Mean and sd of ``x = e^u`` from the density of ``u``, its tail integrated.

    Parameters
    ----------
    log_density : callable
        Vectorised unnormalised log density of ``u`` (``-inf`` where it vanishes).
    table : PieceTable
        Its tabulation (``log_norm`` is the normaliser used).
    tail_span, tail_efolds, tail_share : float
        See the module docstring.

    Returns
    -------
    LogScaleMoments
    """
    edges = table.edges
    k = table.f.shape[-1]
    weights = _weights(k)
    nodes = piece_nodes(edges, k)
    w = np.diff(edges)[:, None] * weights
    x = np.exp(nodes)
    body = [np.sum(w * table.f * x**j) for j in range(3)]
    u_max = float(edges[-1]) + tail_span
    log_tail = np.full(3, -np.inf)
    log_last = np.full(3, -np.inf)
    tail_nodes = tail_w = log_p = np.empty(0)
    if edges[-1] < u_max:

        def second(u):  # the heaviest integrand decides where the pieces go
            return 2.0 * u + log_density(u) - table.log_norm

        cut = adaptive_pieces(second, float(edges[-1]), u_max, k=_TAIL_NODES, start=16,
                              rtol=1e-6, max_pieces=512)
        tw = _weights(_TAIL_NODES)
        tail_nodes = piece_nodes(cut, _TAIL_NODES).ravel()
        tail_w = (np.diff(cut)[:, None] * tw).ravel()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_p = np.asarray(log_density(tail_nodes), dtype=float) - table.log_norm
            log_p = np.where(np.isnan(log_p), -np.inf, log_p)
            last = tail_nodes > u_max - tail_efolds
            for j in range(3):
                terms = np.log(tail_w) + j * tail_nodes + log_p
                log_tail[j] = special.logsumexp(terms)
                log_last[j] = special.logsumexp(terms[last]) if last.any() else -np.inf
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_total = np.logaddexp(np.log(np.maximum(body, 0.0)), log_tail)
        shares = np.exp(log_last - log_total)
    shares = np.where(np.isfinite(shares), shares, 1.0)
    norm = np.exp(log_total[0])
    infinite = shares[1:] > tail_share
    mean = np.inf if infinite[0] else float(np.exp(log_total[1]) / norm)
    if infinite[0] or infinite[1]:
        sd = np.inf
    else:
        var = np.sum(w * table.f * (x - mean) ** 2)
        if tail_nodes.size:
            with np.errstate(over="ignore", under="ignore", divide="ignore"):
                lead = np.log(tail_w) + log_p + 2 * tail_nodes
                ratio = np.log(np.abs(-np.expm1(np.log(mean) - tail_nodes)))
                var += np.exp(special.logsumexp(lead + 2 * ratio))
        sd = float(np.sqrt(var / norm))
    return LogScaleMoments(mean=mean, sd=sd, tail_share=(float(shares[1]), float(shares[2])),
                           tail_exponent=_tail_exponent(log_density, u_max))


def _weights(k: int) -> np.ndarray:
    return 0.5 * np.polynomial.legendre.leggauss(k)[1]


def _tail_exponent(log_density, u_max: float) -> float:
    """``s`` in ``p(x) ~ x^s`` at the far end (from the density of ``u``: ``s = slope - 1``)."""
    u = np.array([u_max - 50.0, u_max])
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.asarray(log_density(u), dtype=float)
    if not np.all(np.isfinite(g)):
        return -np.inf
    return float((g[1] - g[0]) / 50.0 - 1.0)
