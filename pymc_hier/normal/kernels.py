"""Exact conditional draws for the marginal hierarchical normal model (NumPy kernels).

With ``theta`` integrated out, NUTS samples only ``(mu, tau)``; each group's effect then
follows its normal conditional::

    theta_j | mu, tau, y ~ Normal(mu + w_j (y_j - mu), sigma_j sqrt(w_j)),
    w_j = tau**2 / (sigma_j**2 + tau**2)

written with ``hypot`` so that tau = 0 (w = 0: theta_j = mu) and tau >> sigma_j
(w -> 1: theta_j ~ Normal(y_j, sigma_j)) need no special cases and never overflow.
"""

from __future__ import annotations

import numpy as np

#: Accepted values of the ``theta_storage`` option: dtype of the stored theta draws, or
#: ``"none"`` to skip them.
THETA_STORAGE = ("float64", "float32", "none")
#: Elements (draws x groups) generated per block: 2 MB per temporary, cache-sized.
_BATCH_ELEMENTS = 2**18


def conditional_moments(mu, tau, y, sigma):
    """Mean and sd of ``theta | mu, tau, y`` (broadcast: ``mu``/``tau`` (..., 1), ``y`` (J,)).

    Parameters
    ----------
    mu, tau : array_like
        Population mean and scale (tau >= 0).
    y, sigma : array_like
        Group estimates and their standard errors (sigma > 0).

    Returns
    -------
    mean, sd : numpy.ndarray
    """
    mu, tau = np.asarray(mu, dtype=float), np.asarray(tau, dtype=float)
    r = np.hypot(sigma, tau)
    w = (tau / r) ** 2
    return mu + w * (np.asarray(y) - mu), np.asarray(sigma) * (tau / r)


def draw_theta(mu, tau, y, sigma, *, rng: np.random.Generator, dtype="float64",
               batch_elements: int = _BATCH_ELEMENTS) -> np.ndarray:
    """Draw ``theta`` for every posterior draw of ``(mu, tau)`` from its exact conditional.

    Parameters
    ----------
    mu, tau : numpy.ndarray
        Posterior draws, same shape ``S`` (e.g. ``(chain, draw)``).
    y, sigma : numpy.ndarray
        Shape ``(J,)``.
    rng : numpy.random.Generator
        Source of the normal variates.
    dtype : {"float64", "float32"}
        Dtype of the result and of the standard normal variates (the moments are computed
        in float64 either way).
    batch_elements : int
        Draws are generated in blocks of about this many elements, so the memory used on
        top of the result is bounded whatever ``S`` and ``J``.

    Returns
    -------
    numpy.ndarray
        Shape ``S + (J,)``.
    """
    shape = np.shape(mu)
    mu_flat, tau_flat = np.ravel(mu), np.ravel(tau)
    y, sigma = np.asarray(y, dtype=float), np.asarray(sigma, dtype=float)
    out = np.empty((mu_flat.size, y.size), dtype=dtype)
    step = max(1, int(batch_elements) // max(1, y.size))
    for start in range(0, mu_flat.size, step):  # loop over blocks of draws, not groups
        sl = slice(start, start + step)
        m, t = mu_flat[sl, None], tau_flat[sl, None]
        # the moments of conditional_moments, in place (cache-sized blocks, few temporaries)
        c = np.hypot(sigma, t)
        np.divide(t, c, out=c)  # tau / r
        z = rng.standard_normal(c.shape, dtype=out.dtype)
        z *= sigma * c  # sd
        c *= c  # w
        mean = y - m
        mean *= c
        mean += m
        np.add(mean, z, out=out[sl], casting="same_kind")
    return out.reshape(shape + (y.size,))
