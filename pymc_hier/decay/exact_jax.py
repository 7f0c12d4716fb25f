"""The JAX backend of the exact decay posterior (``decay_posterior(..., backend="jax")``).

Two pieces, each the twin of a NumPy piece with the same signature, on JAX's default
device (a GPU when one is visible) in float64:

- :class:`JaxLogLikelihood`: ``alpha -> sum_i log p(y_i | alpha)`` with ``N0`` integrated
  in closed form and ``t0`` by Gauss-Legendre quadrature over its day (as
  :func:`pymc_hier.decay.exact._log_likelihood`), the widgets streamed through the device in
  chunks so that memory stays bounded whatever their number;
- :func:`draw_widgets`: every widget's ``(t0, N0)`` given each ``alpha`` from their exact
  conditionals (as :func:`pymc_hier.decay.draws.draw_widgets`): ``t0`` by inverting its
  tabulated conditional CDF on the day, then the amount at measurement from its truncated
  normal by inversion in log space (:mod:`pymc_hier.decay.kernels_jax`), in blocks of
  (draw, widget) pairs.

The tabulation of the posterior of ``alpha`` (where to evaluate, the table, its inversion
for i.i.d. draws of ``alpha``) is the NumPy path's own (:mod:`pymc_hier.decay.exact`): only
the sums over widgets, which are what grows with the data, run on the device.

64-bit floats are enabled for these computations only, and PyMC's JAX set-up is left
intact (:mod:`pymc_hier.scale.jax_device`).

Randomness: a key made from two 32-bit words of the caller's NumPy generator, folded with
each draw's index and each widget chunk's index (chunks of :data:`WIDGET_CHUNK` widgets), so
the draws depend on the seed only, not on how the work is cut into blocks or on the device.
"""

from __future__ import annotations

import functools

import numpy as np

from pymc_hier.scale.jax_device import (
    DrawBlocks,
    device_kind,
    import_jax,
    jax_context,
    key_from,
    pow2_floor,
)

__all__ = ["JaxLogLikelihood", "draw_widgets"]

#: Widgets per chunk of the random stream (part of what a seed means here).
WIDGET_CHUNK = 128
#: (alpha, widget) pairs evaluated at once by default: on a GPU, on other devices.
CELLS = {"gpu": 2**21, "other": 2**14}
#: (draw, widget) pairs drawn at once by default: on a GPU, on other devices.
DRAW_CELLS = {"gpu": 2**22, "other": 2**15}
#: Batch sizes of ``alpha`` compiled for (a batch is padded up to the next one).
ALPHA_BUCKETS = (1, 8, 64)


class JaxLogLikelihood:
    """``alpha -> sum_i log p(y_i | alpha)`` on JAX's default device.

    Parameters
    ----------
    y, sigma, t_measured : array_like
        Per-widget data, shape ``(W,)``.
    log_n0_max : float
        ``log N0_max``.
    day_start, day_end : array_like, optional
        Manufacture days (``t0`` latent and integrated over its day).
    t0 : array_like, optional
        Known manufacture times (instead of the days).
    cells : int, optional
        ``(alpha, widget)`` pairs evaluated at once (memory: about 80 float64 numbers per
        pair for a latent ``t0``); default :data:`CELLS` by device.

    Notes
    -----
    Calls are batched: up to 64 values of ``alpha`` per compiled call (batches padded to 1,
    8 or 64, so at most three compilations), the widgets scanned in chunks of
    ``cells // batch``.
    """

    def __init__(self, y, sigma, t_measured, log_n0_max, *, day_start=None, day_end=None,
                 t0=None, cells: int | None = None):
        with jax_context() as jax:
            jnp = jax.numpy
            self.known = t0 is not None
            cols = [y, sigma, t_measured] + ([t0] if self.known else [day_start, day_end])
            cols = [np.asarray(c, dtype=np.float64).reshape(-1) for c in cols]
            self.n = cols[0].size
            self.log_n0_max = float(log_n0_max)
            self.cells = int(cells or CELLS[device_kind(jax)])
            # chunk for a single alpha: a power of two; every bucket's chunk divides it
            self._chunk1 = min(pow2_floor(self.cells), 1 << max(0, (self.n - 1).bit_length()))
            padded = -(-self.n // self._chunk1) * self._chunk1
            mask = np.zeros(padded, dtype=bool)
            mask[:self.n] = True
            cols = [np.concatenate([c, np.full(padded - self.n, c[0])]) for c in cols]
            self._data = tuple(jnp.asarray(c) for c in cols) + (jnp.asarray(mask),)

    def _function(self, bucket: int):
        chunk = max(1, min(self._chunk1, pow2_floor(max(1, self.cells // bucket))))
        return _sum_function(chunk, self.known)

    def __call__(self, alpha) -> np.ndarray:
        """Sum of the widgets' log likelihoods at each ``alpha`` (any shape; NumPy float64)."""
        alpha = np.asarray(alpha, dtype=np.float64)
        flat = alpha.reshape(-1)
        out = np.empty(flat.size)
        top = ALPHA_BUCKETS[-1]
        with jax_context():
            for lo in range(0, flat.size, top):
                part = flat[lo:lo + top]
                bucket = next(b for b in ALPHA_BUCKETS if b >= part.size)
                padded = np.concatenate([part, np.full(bucket - part.size, part[0])])
                values = self._function(bucket)(padded, self.log_n0_max, *self._data)
                out[lo:lo + part.size] = np.asarray(values)[:part.size]
        return out.reshape(alpha.shape)


@functools.lru_cache(maxsize=32)
def _sum_function(chunk: int, known: bool):
    """Compiled ``(alpha, log_n0_max, *data) -> sums`` scanning the widgets in chunks."""
    jax = import_jax()
    jnp, lax = jax.numpy, jax.lax
    from pymc_hier.decay import kernels_jax as kj

    def total(alpha, log_n0_max, *data):
        cols = tuple(d.reshape(-1, chunk) for d in data)

        def body(carry, c):
            *v, m = c
            a = alpha[:, None]
            if known:
                y, s, t1, t0 = v
                ll = kj.log_uniform_normal_pdf(y, s, log_n0_max - a * (t1 - t0))
            else:
                ll = kj.log_day_marginal_pdf(*v, log_n0_max, a)
            return carry + jnp.sum(jnp.where(m, ll, 0.0), axis=1), None

        return lax.scan(body, jnp.zeros(alpha.shape), cols)[0]

    return jax.jit(total)


@functools.lru_cache(maxsize=32)
def _draw_function(rows: int, chunks: int, known: bool):
    """Compiled draws of ``rows`` rates by ``chunks`` widget chunks (fixed shapes)."""
    jax = import_jax()
    jnp = jax.numpy
    from pymc_hier.decay import kernels_jax as kj

    def block(key, row0, chunk0, log_n0_max, alpha, y, sigma, t1, a2, b2):
        # uniforms: one key per (draw, widget chunk), two numbers per pair
        r = row0 + jnp.arange(rows)
        c = chunk0 + jnp.arange(chunks)

        def uniforms(ri, ci):
            return jax.random.uniform(jax.random.fold_in(jax.random.fold_in(key, ri), ci),
                                      (2, WIDGET_CHUNK), dtype=jnp.float64)

        u = jax.vmap(lambda ri: jax.vmap(lambda ci: uniforms(ri, ci))(c))(r)
        u = u.transpose(0, 2, 1, 3).reshape(rows, 2, chunks * WIDGET_CHUNK)
        a = alpha[:, None]
        if known:
            t_made = jnp.broadcast_to(a2, (rows,) + a2.shape)
        else:
            t_made = kj.t0_by_inversion(y, sigma, t1, a2, b2, log_n0_max, a, u[:, 0])
        log_upper = log_n0_max - a * (t1 - t_made)
        frac = kj.amount_fraction(y, sigma, log_upper, u[:, 1])
        return t_made, jnp.exp(log_n0_max) * frac

    return jax.jit(block)


def draw_widgets(y, sigma, t_measured, log_n0_max, alpha, rng, *, day_start=None,
                 day_end=None, t0=None, cells: int | None = None):
    """Draw every widget's ``(t0, N0)`` from its exact conditional given each ``alpha``.

    The JAX twin of :func:`pymc_hier.decay.draws.draw_widgets` (same arguments, same
    distributions, other random numbers): ``t0`` by inversion of its conditional CDF on
    the day (tabulated on five Gauss-Legendre pieces, as the NumPy path's inversion route),
    the amount at measurement ``M`` given ``t0`` by inversion of its truncated normal in
    log space, and ``N0 = N0_max * M / A(t0)``, which is finite and in ``[0, N0_max]``
    however small ``A(t0)`` is.

    Parameters
    ----------
    y, sigma, t_measured : numpy.ndarray
        Per-widget data, shape ``(W,)``.
    log_n0_max : float
        ``log N0_max``.
    alpha : numpy.ndarray
        Decay rates, shape ``(D,)``.
    rng : numpy.random.Generator
        Seeds the JAX key (two 32-bit words are drawn from it).
    day_start, day_end : numpy.ndarray, optional
        Manufacture days (``t0`` latent), shape ``(W,)``.
    t0 : numpy.ndarray, optional
        Known manufacture times, ``(W,)``; then only ``N0`` is drawn.
    cells : int, optional
        ``(draw, widget)`` pairs drawn at once (default :data:`DRAW_CELLS` by device).

    Returns
    -------
    t0, n0 : numpy.ndarray
        Shape ``(D, W)`` each, float64.
    """
    alpha = np.asarray(alpha, dtype=np.float64).reshape(-1)
    y, sigma, t1 = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (y, sigma, t_measured))
    n_draws, n_widgets = alpha.size, y.size
    known = t0 is not None
    t_out = np.empty((n_draws, n_widgets))
    n0_out = np.empty((n_draws, n_widgets))
    if n_draws == 0 or n_widgets == 0:
        return t_out, n0_out
    with jax_context() as jax:
        key = key_from(jax, rng)
        plan = DrawBlocks(n_draws, n_widgets, WIDGET_CHUNK,
                          int(cells or DRAW_CELLS[device_kind(jax)]))
        # latent t0: the days; known: t0 (passed twice, the second unused)
        first, second = ((plan.pad_units(t0), plan.pad_units(t0)) if known else
                         (plan.pad_units(day_start), plan.pad_units(day_end)))
        cols = [plan.pad_units(v) for v in (y, sigma, t1, first, second)]
        fn = _draw_function(plan.rows, plan.chunks, known)

        def call(r0, c0):
            sl = slice(c0 * WIDGET_CHUNK, c0 * WIDGET_CHUNK + plan.span)
            return fn(key, r0, c0, float(log_n0_max), plan.pad_rows(alpha, r0),
                      *(c[sl] for c in cols))

        plan.run(call, (t_out, n0_out))
    return t_out, n0_out

