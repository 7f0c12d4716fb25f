"""The JAX backend of the exact hierarchical normal posterior (``backend="jax"``).

The twins of the two computations of :class:`~pymc_hier.normal.exact.HierarchicalNormalPosterior`
that grow with the number of groups, on JAX's default device (a GPU when one is visible) in
float64:

- :class:`JaxConditionals`: for each ``tau`` of a grid, ``log p(y | tau)`` (up to a
  constant), ``mu_hat`` and ``V_mu`` (``HierarchicalNormalPosterior._conditionals``), with
  the same two passes over the groups (the precision-weighted mean first, then the
  weighted squares about it), the groups streamed through the device in chunks;
- :func:`draw_theta`: every group's ``theta`` given each ``(mu, tau)`` from its normal
  conditional (the twin of :func:`pymc_hier.normal.kernels.draw_theta`, same moments
  written with ``hypot``), in blocks.

The grid in ``log(tau)``, its CDF and the draws of ``tau``, ``mu`` and ``theta_new`` stay
the NumPy path's, so the two backends' posteriors agree to rounding and their draws of the
scalars for a seed too. Randomness of ``theta``: a key made from the caller's generator,
folded with each draw's index and each chunk of :data:`GROUP_CHUNK` groups.
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

__all__ = ["JaxConditionals", "draw_theta"]

#: Groups per chunk of the random stream (part of what a seed means here).
GROUP_CHUNK = 128
#: (tau, group) pairs evaluated at once by default: on a GPU, on other devices.
CELLS = {"gpu": 2**24, "other": 2**18}
#: (draw, group) pairs drawn at once by default: on a GPU, on other devices.
DRAW_CELLS = {"gpu": 2**24, "other": 2**18}
#: Values of ``tau`` per compiled call (a batch is padded to it).
TAU_BATCH = 256


class JaxConditionals:
    """``tau -> (log p(y | tau), mu_hat, V_mu)`` on JAX's default device.

    Parameters
    ----------
    y, sigma : array_like
        Estimates and standard errors, ``(J,)``.
    m0, prec0 : float
        Mean and precision of the normal prior on ``mu`` (``prec0 = 0``: flat).
    cells : int, optional
        ``(tau, group)`` pairs evaluated at once; default :data:`CELLS` by device.
    """

    def __init__(self, y, sigma, m0: float, prec0: float, *, cells: int | None = None):
        with jax_context() as jax:
            jnp = jax.numpy
            y = np.asarray(y, dtype=np.float64).reshape(-1)
            s2 = np.asarray(sigma, dtype=np.float64).reshape(-1) ** 2
            self.n = y.size
            cells = int(cells or CELLS[device_kind(jax)])
            self._chunk = min(pow2_floor(max(1, cells // TAU_BATCH)),
                              1 << max(0, (self.n - 1).bit_length()))
            padded = -(-self.n // self._chunk) * self._chunk
            mask = np.zeros(padded, dtype=bool)
            mask[:self.n] = True
            fill = np.full(padded - self.n, 1.0)
            self._data = (jnp.asarray(np.concatenate([y, 0.0 * fill])),
                          jnp.asarray(np.concatenate([s2, fill])), jnp.asarray(mask))
            self._prior = (float(m0), float(prec0))

    def __call__(self, tau):
        """``(loglik, mu_hat, v_mu)`` at each ``tau`` (NumPy float64, the shape of ``tau``)."""
        tau = np.asarray(tau, dtype=np.float64)
        flat = tau.reshape(-1)
        out = np.empty((3, flat.size))
        fn = _conditionals_function(self._chunk)
        with jax_context():
            for lo in range(0, flat.size, TAU_BATCH):
                part = flat[lo:lo + TAU_BATCH]
                padded = np.concatenate([part, np.full(TAU_BATCH - part.size, part[0])])
                values = np.asarray(fn(padded, *self._prior, *self._data))
                out[:, lo:lo + part.size] = values[:, :part.size]
        return tuple(o.reshape(tau.shape) for o in out)


@functools.lru_cache(maxsize=8)
def _conditionals_function(chunk: int):
    """Compiled ``(tau, m0, prec0, y, s2, mask) -> (loglik, mu_hat, v_mu)``."""
    jax = import_jax()
    jnp, lax = jax.numpy, jax.lax

    def conditionals(tau, m0, prec0, y, s2, mask):
        cols = tuple(d.reshape(-1, chunk) for d in (y, s2, mask))
        t2 = (tau * tau)[:, None]

        def first(carry, c):
            yc, s2c, m = c
            v = s2c + t2
            prec = jnp.where(m, 1.0 / v, 0.0)
            return (carry[0] + prec.sum(axis=1), carry[1] + (prec * yc).sum(axis=1),
                    carry[2] + jnp.where(m, jnp.log(v), 0.0).sum(axis=1)), None

        zeros = jnp.zeros(tau.shape)
        (p_sum, py_sum, log_v), _ = lax.scan(first, (zeros, zeros, zeros), cols)
        p = p_sum + prec0
        mu_hat = (py_sum + prec0 * m0) / p

        def second(carry, c):
            yc, s2c, m = c
            prec = jnp.where(m, 1.0 / (s2c + t2), 0.0)
            return carry + (prec * (yc - mu_hat[:, None]) ** 2).sum(axis=1), None

        q, _ = lax.scan(second, zeros, cols)
        q = q + prec0 * (mu_hat - m0) ** 2
        return jnp.stack([-0.5 * (log_v + jnp.log(p) + q), mu_hat, 1.0 / p])

    return jax.jit(conditionals)


@functools.lru_cache(maxsize=16)
def _theta_function(rows: int, chunks: int, dtype: str):
    """Compiled draws of ``theta`` for ``rows`` draws by ``chunks`` group chunks."""
    jax = import_jax()
    jnp = jax.numpy

    def block(key, row0, chunk0, mu, tau, y, sigma):
        r = row0 + jnp.arange(rows)
        c = chunk0 + jnp.arange(chunks)

        def normals(ri, ci):
            k = jax.random.fold_in(jax.random.fold_in(key, ri), ci)
            return jax.random.normal(k, (GROUP_CHUNK,), dtype=jnp.dtype(dtype))

        z = jax.vmap(lambda ri: jax.vmap(lambda ci: normals(ri, ci))(c))(r)
        z = z.reshape(rows, chunks * GROUP_CHUNK)
        m, t = mu[:, None], tau[:, None]
        ratio = t / jnp.hypot(sigma, t)                 # tau / sqrt(sigma^2 + tau^2)
        mean = m + ratio * ratio * (y - m)
        return (mean + sigma * ratio * z).astype(dtype)

    return jax.jit(block)


def draw_theta(mu, tau, y, sigma, *, rng: np.random.Generator, dtype="float64",
               cells: int | None = None) -> np.ndarray:
    """Draw ``theta`` for every posterior draw of ``(mu, tau)`` from its exact conditional.

    The JAX twin of :func:`pymc_hier.normal.kernels.draw_theta` (same arguments, same
    conditionals, other random numbers).

    Parameters
    ----------
    mu, tau : numpy.ndarray
        Posterior draws, same shape ``S``.
    y, sigma : numpy.ndarray
        Shape ``(J,)``.
    rng : numpy.random.Generator
        Seeds the JAX key.
    dtype : {"float64", "float32"}
        Dtype of the result and of the standard normal variates (the moments are in
        float64).
    cells : int, optional
        ``(draw, group)`` pairs drawn at once (default :data:`DRAW_CELLS` by device).

    Returns
    -------
    numpy.ndarray
        Shape ``S + (J,)``.
    """
    shape = np.shape(mu)
    mu, tau = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (mu, tau))
    y, sigma = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (y, sigma))
    n_draws, n_groups = mu.size, y.size
    out = np.empty((n_draws, n_groups), dtype=dtype)
    if n_draws and n_groups:
        with jax_context() as jax:
            key = key_from(jax, rng)
            plan = DrawBlocks(n_draws, n_groups, GROUP_CHUNK,
                              int(cells or DRAW_CELLS[device_kind(jax)]))
            y_p, s_p = plan.pad_units(y, 0.0), plan.pad_units(sigma, 1.0)
            fn = _theta_function(plan.rows, plan.chunks, str(np.dtype(dtype)))

            def call(r0, c0):
                sl = slice(c0 * GROUP_CHUNK, c0 * GROUP_CHUNK + plan.span)
                return (fn(key, r0, c0, plan.pad_rows(mu, r0, 0.0), plan.pad_rows(tau, r0, 1.0),
                           y_p[sl], s_p[sl]),)

            plan.run(call, (out,))
    return out.reshape(shape + (n_groups,))

