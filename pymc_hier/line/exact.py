"""The straight line's exact posterior: Gaussian in ``(m, b)`` (:class:`LinePosterior`).

With ``y_i ~ Normal(m x_i + b, sigma_i)`` and independent normal (or flat) priors on ``m``
and ``b``, the posterior is normal with precision ``A' W A + P`` and mean
``(A' W A + P)^-1 (A' W y + P m0)``, where ``A = [x, 1]``, ``W = diag(1 / sigma^2)`` and
``P``, ``m0`` the prior precisions and means (zero precision for a flat prior): weighted
least squares when both priors are flat.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from pymc_hier.line.data import LineData

__all__ = ["LinePosterior", "line_posterior"]


class LinePosterior:
    """The normal posterior of ``(m, b)``: :attr:`mean`, :attr:`cov` and i.i.d. draws."""

    variables = ("m", "b")

    def __init__(self, mean: np.ndarray, cov: np.ndarray):
        self.mean = np.asarray(mean, dtype=float)
        self.cov = np.asarray(cov, dtype=float)

    def sample(self, draws: int = 1000, chains: int = 4, random_seed=None, *,
               var_names=None) -> xr.DataTree:
        """Independent draws shaped like an MCMC result (a ``posterior`` group).

        Parameters
        ----------
        draws, chains : int
            Output shape ``(chains, draws)``.
        random_seed : int or numpy.random.Generator, optional
            Seed of the draws.
        var_names : sequence of str, optional
            The variables wanted (of :attr:`variables`).

        Returns
        -------
        xarray.DataTree
        """
        for name, v in (("draws", draws), ("chains", chains)):
            if not (isinstance(v, int | np.integer) and v >= 1):
                raise ValueError(f"{name}: must be a positive integer, got {v!r}")
        wanted = list(self.variables if var_names is None else var_names)
        unknown = sorted(set(wanted) - set(self.variables))
        if unknown:
            raise ValueError(f"var_names: {unknown} are not drawn here (variables: m, b)")
        rng = np.random.default_rng(random_seed)
        values = rng.multivariate_normal(self.mean, self.cov, size=(chains, draws),
                                         method="cholesky")
        coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
        post = xr.Dataset({name: (("chain", "draw"), values[..., k])
                           for k, name in enumerate(self.variables) if name in wanted},
                          coords=coords, attrs={"method": "exact (normal posterior)"})
        return xr.DataTree.from_dict({"posterior": post})


def _precision(prior, name: str) -> tuple[float, float]:
    if prior.dist == "Flat":
        return 0.0, 0.0
    if prior.dist == "Normal" and np.ndim(prior.params["mu"]) == 0 \
            and np.ndim(prior.params["sigma"]) == 0:
        return 1.0 / float(prior.params["sigma"]) ** 2, float(prior.params["mu"])
    raise ValueError(f"priors: the exact posterior needs a Normal or Flat prior on {name!r}, "
                     f"got {prior.dist}")


def line_posterior(data: LineData, *, priors) -> LinePosterior:
    """Return the exact posterior of ``(m, b)`` given the points and the priors.

    Raises
    ------
    ValueError
        For priors other than (scalar) ``Normal`` or ``Flat``, or flat priors with all
        ``x`` equal (the posterior is then improper).
    """
    design = np.column_stack([data.x, np.ones(len(data))])
    weights = 1.0 / np.asarray(data.sigma_y) ** 2
    (pm_, mm), (pb, mb) = _precision(priors["m"], "m"), _precision(priors["b"], "b")
    precision = design.T @ (weights[:, None] * design) + np.diag([pm_, pb])
    if np.linalg.cond(precision) > 1e12:
        raise ValueError("x: all points share one x, so flat priors give an improper "
                         "posterior for the slope")
    cov = np.linalg.inv(precision)
    mean = cov @ (design.T @ (weights * np.asarray(data.y)) + np.array([pm_ * mm, pb * mb]))
    return LinePosterior(mean, 0.5 * (cov + cov.T))
