"""The hierarchical normal's exact posterior on data in blocks (:func:`pymc_hier.fit_partitioned`).

The marginal likelihood of ``tau`` (BDA 5.4, :mod:`pymc_hier.normal.exact`) needs, at every
``tau`` of the grid, four sums over the groups: ``S0 = sum 1/V_j``, the precision-weighted
mean ``M``, the weighted sum of squares about it ``M2 = sum (y_j - M)^2 / V_j`` and
``L = sum log V_j`` (``V_j = sigma_j^2 + tau^2``). Each block computes them for its groups
(its own mean first, then the squares about it) and the blocks' are combined in block
order by the pairwise update of Chan, Golub and LeVeque,
``M2 = sum_b [M2_b + S0_b (M_b - M)^2]``, which loses no precision when the estimates are
far from 0. The grid in ``log(tau)`` is placed by
:func:`~pymc_hier.numerics.grid.adaptive_log_grid` around the median standard error of up to
:data:`CENTER_SAMPLE` evenly spaced groups (all of them for smaller data, as in memory);
``tau``, ``mu`` and ``theta_new`` are drawn here (:func:`~pymc_hier.normal.exact.population_draws`),
``theta`` by each block (:func:`~pymc_hier.normal.kernels.draw_theta`).
"""

from __future__ import annotations

import numpy as np

from pymc_hier.normal.data import SchoolsData
from pymc_hier.normal.exact import _mu_prior, population_draws
from pymc_hier.normal.moments import label
from pymc_hier.normal.problem import check_proper, resolve_schools_priors
from pymc_hier.numerics.grid import adaptive_log_grid

__all__ = ["NORMAL_PARTITIONED", "NormalPartitioned", "PartitionedNormalPosterior"]

#: Groups (evenly spaced) whose median standard error centres the grid's search.
CENTER_SAMPLE = 10_000
#: (tau, group) pairs a block evaluates at once.
_CELLS = 2**21


class PartitionedNormalPosterior:
    """The exact posterior of ``(mu, tau)`` from groups in blocks; ``theta`` drawn by block.

    Attributes
    ----------
    grid : LogGrid
        The marginal posterior of ``tau`` on a grid in ``log(tau)``.
    n_groups : int
        Number of groups.
    priors : dict
        ``{"mu": Prior, "tau": Prior}``.
    """

    population = ("mu", "tau", "theta_new")
    units = ("theta",)

    def __init__(self, grid, conditionals, *, n_groups, priors):
        self.grid, self._conditionals = grid, conditionals
        self.n_groups, self.priors = int(n_groups), priors
        self.unit_draws = ThetaDraws()
        self.attrs = {"method": "exact: BDA 5.4, tau on a grid in log(tau), mu and theta "
                                "normal given tau (pymc_hier.normal.exact_partitioned)",
                      "grid_size": len(grid.t), "prior_mu": label(priors["mu"]),
                      "prior_tau": label(priors["tau"])}

    def __repr__(self) -> str:
        return f"PartitionedNormalPosterior({self.n_groups} groups)"

    def quantile(self, q) -> np.ndarray:
        """Posterior quantiles of ``tau``."""
        return np.exp(self.grid.quantile_t(np.asarray(q, dtype=float)))

    def cdf(self, x) -> np.ndarray:
        """Posterior CDF of ``tau``."""
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            return np.where(x > 0, self.grid.cdf_t(np.log(np.maximum(x, 1e-300))), 0.0)

    def sample_population(self, chains: int, draws: int, rng) -> dict:
        """I.i.d. draws of ``mu``, ``tau`` and ``theta_new``, ``(chains, draws)``."""
        mu, tau, theta_new = population_draws(self.grid, self._conditionals,
                                              (chains, draws), rng)
        return {"mu": mu, "tau": tau, "theta_new": theta_new}


class ThetaDraws:
    """Draws one block's ``theta`` given ``(mu, tau)`` (picklable; runs on the block)."""

    def __call__(self, block, population, rng, names) -> dict:
        """``{"theta": (D, B)}`` from the normal conditionals."""
        from pymc_hier.normal.kernels import draw_theta

        return {"theta": draw_theta(population["mu"], population["tau"], block["y"],
                                    block["sigma"], rng=rng)}


class NormalPartitioned:
    """The hierarchical normal's :class:`~pymc_hier.scale.partitioned.PartitionedExact`."""

    options = {"grid_size": (), "dim": ()}
    unit_attrs = {"theta": {"long_name": "group effect"}}

    def unit_dim(self, options) -> str:
        """Return the ``dim`` option (default ``"school"``, as :class:`~pymc_hier.SchoolsData`)."""
        return options.get("dim") or "school"

    def columns(self, options) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``y`` and ``sigma``."""
        return ("y", "sigma"), ()

    def posterior(self, blocks, *, priors=None, grid_size=None,
                  dim=None) -> PartitionedNormalPosterior:
        """Check the blocks, place the grid and tabulate ``tau`` from per-block sums.

        Raises
        ------
        ValueError
            For invalid data in a block (naming it), a bad ``grid_size``, priors the exact
            posterior does not take, or an improper posterior.
        """
        grid_size = 4001 if grid_size is None else grid_size
        if not (isinstance(grid_size, int | np.integer) and grid_size >= 101):
            raise ValueError(f"grid_size: must be an integer >= 101, got {grid_size!r}")
        blocks.map(_check_block, blocks.block_size)
        resolved = resolve_schools_priors(priors, factory="fit_partitioned")
        m0, prec0 = _mu_prior(resolved["mu"])
        check_proper(blocks.n, mu_flat=prec0 == 0.0, tau_flat=resolved["tau"].dist == "HalfFlat")
        log_prior_tau = resolved["tau"].logp_function()
        sample = np.unique(np.linspace(0, blocks.n - 1, min(CENTER_SAMPLE, blocks.n))
                           .round().astype(int))
        sigma = blocks.rows(sample)["sigma"]
        center = float(np.log(np.sqrt(np.median(sigma**2))))

        def conditionals(tau):
            tau = np.asarray(tau, dtype=float)
            stats = np.stack(blocks.map(_block_stats, tau.reshape(-1)))  # (blocks, 4, K)
            return _combine(stats, m0, prec0, tau.shape)

        def log_density_t(t):
            tau = np.exp(t)
            return np.asarray(log_prior_tau(tau), dtype=float) + conditionals(tau)[0] + t

        grid = adaptive_log_grid(log_density_t, center=center, size=int(grid_size))
        return PartitionedNormalPosterior(grid, conditionals, n_groups=blocks.n,
                                          priors=resolved)


def _check_block(block, index, block_size):
    """Validate one block as :class:`~pymc_hier.SchoolsData` (finite, sigma > 0)."""
    try:
        SchoolsData(y=block["y"], sigma=block["sigma"])
    except ValueError as err:
        lo = index * block_size
        raise ValueError(f"block {index} (rows {lo}-{lo + len(block['y']) - 1}): "
                         f"{err}") from None


def _block_stats(block, index, tau):
    """``(S0, M, M2, L)`` of one block at each ``tau``: shape ``(4, K)``."""
    y, s2 = block["y"], block["sigma"] ** 2
    out = np.empty((4, tau.size))
    step = max(1, _CELLS // max(1, y.size))
    for lo in range(0, tau.size, step):
        t2 = tau[lo:lo + step, None] ** 2
        v = s2 + t2
        prec = 1.0 / v
        s0 = prec.sum(axis=1)
        m = (prec * y).sum(axis=1) / s0
        out[0, lo:lo + step] = s0
        out[1, lo:lo + step] = m
        out[2, lo:lo + step] = (prec * (y - m[:, None]) ** 2).sum(axis=1)
        out[3, lo:lo + step] = np.log(v).sum(axis=1)
    return out


def _combine(stats, m0, prec0, shape):
    """``(log p(y | tau), mu_hat, V_mu)`` from the blocks' ``(S0, M, M2, L)``."""
    s0_b, m_b, m2_b, l_b = (stats[:, i] for i in range(4))
    s0 = np.sum(s0_b, axis=0)
    m = np.sum(s0_b * m_b, axis=0) / s0
    m2 = np.sum(m2_b + s0_b * (m_b - m) ** 2, axis=0)
    p = s0 + prec0
    mu_hat = (s0 * m + prec0 * m0) / p
    q = m2 + s0 * (m - mu_hat) ** 2 + prec0 * (mu_hat - m0) ** 2
    loglik = -0.5 * (np.sum(l_b, axis=0) + np.log(p) + q)
    return loglik.reshape(shape), mu_hat.reshape(shape), (1.0 / p).reshape(shape)


#: The hierarchical normal's partitioned exact posterior (``exact_partitioned``).
NORMAL_PARTITIONED = NormalPartitioned()
