"""Exact draws of every widget's ``(t0, N0)`` given the decay rate: :func:`draw_widgets`.

Write ``M = N0 exp(-alpha (t1 - t0))`` for the amount left at the measurement. Given
``t0``, ``M`` is uniform on ``[0, A(t0)]`` with ``A(t0) = N0_max exp(-alpha (t1 - t0))``, so
the prior of ``(t0, M)`` has density ``1 / (D A(t0))`` on ``{M < A(t0)}`` (``D`` the length
of the day), and the measurement ``y ~ Normal(M, sigma)`` depends on ``M`` alone. Hence,
given ``alpha`` and ``y``:

- ``M`` has density proportional to ``phi((y - M) / sigma) h(M)`` on ``[0, A_e]`` with
  ``h(M) = min(1 / A_s, 1 / M) - 1 / A_e`` (``A_s``, ``A_e``: ``A`` at the day's start and
  end), a non-increasing function. It is drawn by rejection: propose from the normal
  truncated to ``[0, A_e]`` (exactly, :func:`~pymc_hier.decay.draw_kernels.log_fraction`),
  accept with probability ``h(M) / h(0)``;
- ``t0`` given ``M`` has density proportional to ``exp(-alpha t0)`` on
  ``[max(start, t_M), end]``, ``t_M`` the time at which ``A(t_M) = M``: a truncated
  exponential, drawn by inversion;
- ``N0 = M exp(alpha (t1 - t0))``.

Amounts are drawn as the logarithm of the fraction ``M / A`` (``N0 = N0_max M / A``
with known ``t0``): ``A`` underflows to 0 once ``alpha dt`` passes about 745, where ``M
exp(alpha dt)`` would be ``0 * inf = NaN``; in log space every draw is finite.

The acceptance probability is at least ``exp(-alpha D)`` unless the measurement lies near
or above ``A_e`` with ``sigma`` much smaller than ``A_e - A_s``; pairs still rejected after
a few rounds are drawn instead by inverting ``t0``'s tabulated conditional CDF
(:func:`~pymc_hier.decay.kernels.day_pieces`), then ``M`` given ``t0``. Both routes
are exact, and a rejection sampler's accepted draws do not depend on how many proposals
were rejected before, so switching route after a fixed number of rounds keeps the draws
exact. The rejection route runs compiled, one pair at a time
(:func:`pymc_hier.decay.draw_kernels.widget_pairs`), and so do the draws with known ``t0``
(:func:`~pymc_hier.decay.draw_kernels.known_n0`); both in chunks of :data:`CHUNK` rates, each
with its own generator spawned from the caller's, spread over threads (:func:`in_chunks`):
the draws depend on the seed only, not on the number of threads.
"""

from __future__ import annotations

import itertools
import os
import threading

import numpy as np

from pymc_hier.decay.draw_kernels import known_n0, log_fractions, widget_pairs
from pymc_hier.decay.kernels import DRAW_GL_NODES, day_log_likelihood, day_pieces
from pymc_hier.numerics.quadrature import piece_table

#: Rejection rounds before the remaining pairs switch to CDF inversion (whose NumPy set-up
#: costs a millisecond however few pairs it draws: on the lecture's data 6 rounds left a
#: pair or two per 4000 draws to it, 16 rounds none in 40,000).
ROUNDS = 16
#: Draws of ``alpha`` per chunk of the compiled routes (one spawned generator each).
CHUNK = 500
#: Threads that run the chunks (the machine's cores, at most 8).
THREADS = min(8, os.cpu_count() or 1)


def in_chunks(n_rows: int, rng, run, *, threads: int | None = None) -> None:
    """Call ``run(rows, generator)`` for chunks of :data:`CHUNK` rows, on up to ``threads``.

    Each chunk gets its own generator, spawned from ``rng`` in chunk order, so what a
    chunk draws depends on the seed only, not on the number of threads or on which thread
    runs it. The chunks are handed out to the calling thread and ``threads - 1`` helper
    threads (default :data:`THREADS`, read at call time) as each finishes its previous
    one; ``run`` must release the GIL to gain from them (the compiled kernels do). The
    first exception raised by ``run`` is re-raised once every thread has stopped.
    """
    chunks = [slice(lo, min(lo + CHUNK, n_rows)) for lo in range(0, n_rows, CHUNK)]
    gens = rng.spawn(len(chunks))
    workers = max(1, min(THREADS if threads is None else int(threads), len(chunks)))
    if workers == 1:
        for rows, gen in zip(chunks, gens, strict=True):
            run(rows, gen)
        return
    order = itertools.count()   # next() on a count is atomic: each chunk is run once
    errors = []

    def work():
        try:
            for i in iter(lambda: next(order), None):
                if i >= len(chunks) or errors:
                    return
                run(chunks[i], gens[i])
        except BaseException as err:  # noqa: BLE001 (re-raised in the calling thread)
            errors.append(err)

    helpers = [threading.Thread(target=work, daemon=True) for _ in range(workers - 1)]
    for h in helpers:
        h.start()
    work()
    for h in helpers:
        h.join()
    if errors:
        raise errors[0]


def _t0_by_inversion(y, sigma, t1, start, end, log_n0_max, alpha, rng):
    """Draw ``t0`` for each (flat) pair from its tabulated conditional CDF."""
    pieces = day_pieces(y, sigma, t1, start, end, log_n0_max, alpha)
    _, log_f = day_log_likelihood(pieces, y, sigma, t1, log_n0_max, alpha, DRAW_GL_NODES)
    return piece_table(pieces, log_f).quantile(rng.uniform(size=y.shape + (1,)))[..., 0]


def _c_array(v) -> np.ndarray:
    """Return ``v`` as a writable C-ordered float64 array (one compiled signature for any input).

    Numba types a read-only array apart from a writable one (frozen data would compile
    the kernels a second time, and miss those :func:`pymc_hier.decay.family.warm_up`
    compiled): a read-only input is copied.
    """
    out = np.ascontiguousarray(v, dtype=np.float64)
    return out if out.flags.writeable else out.copy()


def _latent_block(y, sigma, t1, day_start, day_end, log_n0_max, alpha, rng, rounds,
                  t_made, n0):
    """Fill ``t_made``, ``n0`` (``(D, W)``) for latent ``t0``: compiled rejection, then inversion.

    The draws are cut into chunks of :data:`CHUNK` rows, each with its own generator
    spawned from ``rng``, run on up to :data:`THREADS` threads (:func:`in_chunks`): the
    result depends on the seed only, not on the number of threads. The outputs are C-ordered
    float64 arrays (rows of the caller's result, written in place).
    """
    y, sigma, t1, start, end, alpha = (_c_array(v) for v in (y, sigma, t1, day_start,
                                                              day_end, alpha))
    accepted = np.empty((alpha.size, y.size), dtype=bool)
    left = []   # pairs each chunk left to inversion (list.append is atomic)

    def run(rows, gen):
        left.append(widget_pairs(y, sigma, t1, start, end, float(log_n0_max), alpha[rows],
                                 gen, rounds, t_made[rows], n0[rows], accepted[rows]))

    in_chunks(alpha.size, rng, run)
    if sum(left):
        rest = np.nonzero(~accepted)
        a = alpha[rest[0]]
        yr, sr, tr, st, en = (v[rest[1]] for v in (y, sigma, t1, start, end))
        t_rest = _t0_by_inversion(yr, sr, tr, st, en, log_n0_max, a, rng)
        t_made[rest] = t_rest
        n0[rest] = n0_given_t0(yr, sr, a * (tr - t_rest), log_n0_max, rng)


def draw_n0_known(y, sigma, dt, log_n0_max, alpha, rng, out=None) -> np.ndarray:
    """Draw every widget's ``N0`` given each ``alpha`` and known ``t0`` (compiled, threaded).

    Parameters
    ----------
    y, sigma : numpy.ndarray
        Per-widget data, ``(W,)``.
    dt : numpy.ndarray
        ``t1 - t0``, ``(W,)`` or ``(D, W)``.
    log_n0_max : float
        ``log N0_max``.
    alpha : numpy.ndarray
        Decay rates, ``(D,)``.
    rng : numpy.random.Generator
        Source of randomness: chunks of :data:`CHUNK` rates get generators spawned from it
        and run on up to :data:`THREADS` threads (:func:`in_chunks`), so the draws depend on
        the seed only.
    out : numpy.ndarray, optional
        C-ordered float64 ``(D, W)`` array to write into.

    Returns
    -------
    numpy.ndarray
        ``(D, W)``: the amount at measurement is ``Normal(y, sigma)`` truncated to
        ``[0, A]``, ``A = N0_max exp(-alpha dt)``, and ``N0 = N0_max M / A``.
    """
    y, sigma, alpha = (_c_array(v) for v in (y, sigma, alpha))
    dt = _c_array(dt)
    dt = dt.reshape(1, -1) if dt.ndim == 1 else dt
    if out is None:
        out = np.empty((alpha.size, y.size))
    per_rate = dt.shape[0] > 1

    def run(rows, gen):
        known_n0(y, sigma, dt[rows] if per_rate else dt, float(log_n0_max), alpha[rows],
                 gen, out[rows])

    in_chunks(alpha.size, rng, run)
    return out


def n0_given_t0(y, sigma, decay, log_n0_max, rng) -> np.ndarray:
    """Draw ``N0`` given ``alpha * (t1 - t0)`` (``decay``), broadcast with ``y, sigma``.

    The amount at measurement ``M`` is ``Normal(y, sigma)`` truncated to ``[0, A]``,
    ``log A = log N0_max - decay``; its fraction ``M / A`` is drawn as a logarithm and
    ``N0 = N0_max M / A``: finite, and precise, however large ``decay`` is.
    """
    y, sigma, decay = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                             for v in (y, sigma, decay)))
    log_upper = log_n0_max - decay
    log_f = np.empty(y.shape)
    log_fractions(*(np.ascontiguousarray(v).ravel() for v in (y, sigma, log_upper)), rng,
                  log_f.reshape(-1))
    return np.exp(log_n0_max + np.minimum(log_f, 0.0))


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
    known = None if t0 is None else np.asarray(t0, dtype=float)
    block = max(1, cells // max(n_widgets, 1))
    for lo in range(0, n_draws, block):
        rows = slice(lo, min(lo + block, n_draws))
        if known is not None:
            times = known if known.ndim == 1 else known[rows]
            t_out[rows] = times
            draw_n0_known(y, sigma, t1 - times, log_n0_max, alpha[rows], rng,
                          out=n0_out[rows])
        else:  # written in place: no copy of the block's draws
            _latent_block(y, sigma, t1, day_start, day_end, log_n0_max, alpha[rows], rng,
                          int(rounds), t_out[rows], n0_out[rows])
    return t_out, n0_out
