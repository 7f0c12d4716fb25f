"""Exact answers for the hierarchical normal family beyond its posterior.

- :class:`PooledNormalPosterior`: the conjugate posteriors of complete pooling
  (``theta_j = mu``) and no pooling (independent ``theta_j``) with a Normal or flat prior;
- :func:`exact_logo`: exact leave-one-group-out predictive densities at every level of
  pooling, ``log p(y_j | y_-j)``;
- :func:`resolve_options`: ``parametrization="auto"`` choosing the groups to centre.

With a ``Normal(m0, s0)`` prior (precision ``p0 = 1 / s0**2``, zero when flat)::

    complete:  mu | y ~ Normal(m, 1 / P),  P = p0 + sum_j 1 / sigma_j**2,
               m = (p0 m0 + sum_j y_j / sigma_j**2) / P
    none:      theta_j | y_j ~ Normal((p0 m0 + y_j / sigma_j**2) / P_j, 1 / P_j),
               P_j = p0 + 1 / sigma_j**2

A left-out group's estimate is predicted by ``Normal(m_-j, sqrt(1 / P_-j + sigma_j**2))``
(complete pooling: the others' posterior of ``mu``) or by its prior predictive
``Normal(m0, sqrt(s0**2 + sigma_j**2))`` (no pooling: the others say nothing about it;
``-inf`` under a flat prior, whose predictive is improper). With partial pooling the
left-out group is predicted from the others' exact posterior by quadrature over ``tau``
(:meth:`~pymc_hier.HierarchicalNormalPosterior.predictive_logpdf`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pymc as pm
import xarray as xr

from pymc_hier._validation import check_draw_request
from pymc_hier.normal.data import SchoolsData
from pymc_hier.normal.exact import HierarchicalNormalPosterior, _mu_prior, schools_tree
from pymc_hier.normal.problem import AUTO, centered_groups
from pymc_hier.priors import Prior
from pymc_hier.spec import ModelSpec, current_priors

__all__ = ["PooledNormalPosterior", "exact_logo", "pooled_posterior", "resolve_options"]

_LOG_2PI = float(np.log(2.0 * np.pi))
#: Grid nodes in log(tau) of each leave-one-group-out posterior (partial pooling).
LOGO_GRID = 2001


def _normal_logpdf(x, loc, var):
    return -0.5 * (_LOG_2PI + np.log(var) + (x - loc) ** 2 / var)


class PooledNormalPosterior:
    """Exact posterior of complete pooling or of no pooling (see the module docstring).

    Build it with :func:`pooled_posterior`. Complete pooling draws ``mu``, ``theta`` (equal
    to ``mu`` in every group) and ``theta_new`` (``mu`` too); no pooling draws ``theta``.

    Attributes
    ----------
    data : SchoolsData
    pooling : {"complete", "none"}
    loc, scale : numpy.ndarray
        Posterior mean and sd of ``mu`` (complete pooling, shape ``()``) or of each
        ``theta_j`` (no pooling, shape ``(J,)``).
    """

    def __init__(self, data: SchoolsData, prior: Prior, pooling: str):
        if pooling not in ("complete", "none"):
            raise ValueError(f"pooling: expected 'complete' or 'none', got {pooling!r}")
        self.data, self.pooling, self.prior = data, pooling, prior
        m0, p0 = _mu_prior(prior)
        y = np.asarray(data.y, dtype=float)
        prec = 1.0 / np.asarray(data.sigma, dtype=float) ** 2
        if pooling == "complete":
            total = p0 + prec.sum()
            self.loc = np.asarray((p0 * m0 + (prec * y).sum()) / total)
            self.scale = np.asarray(np.sqrt(1.0 / total))
            self.variables = ("mu", "theta", "theta_new")
        else:
            total = p0 + prec
            self.loc = (p0 * m0 + prec * y) / total
            self.scale = np.sqrt(1.0 / total)
            self.variables = ("theta",)

    def __repr__(self) -> str:
        return (f"PooledNormalPosterior({self.pooling} pooling, {self.data.n_groups} groups, "
                f"prior {self.prior.label()})")

    def sample(self, draws: int = 1000, chains: int = 4, random_seed=None, *,
               var_names=None) -> xr.DataTree:
        """Independent draws, shaped like an MCMC result (see :class:`ExactPosterior`).

        Returns
        -------
        xarray.DataTree
            ``posterior`` (``mu``, ``theta``, ``theta_new`` or ``theta``),
            ``observed_data`` (``y``) and ``constant_data`` (``sigma``).
        """
        check_draw_request(draws, chains, var_names, self.variables)
        rng = np.random.default_rng(random_seed)
        j = self.data.n_groups
        if self.pooling == "complete":
            mu = self.loc + self.scale * rng.standard_normal((chains, draws))
            posterior = {"mu": mu, "theta": np.repeat(mu[..., None], j, axis=-1),
                         "theta_new": mu.copy()}
        else:
            posterior = {"theta": self.loc + self.scale * rng.standard_normal((chains, draws,
                                                                                 j))}
        if var_names:
            posterior = {k: v for k, v in posterior.items() if k in var_names}
        seed = random_seed if isinstance(random_seed, int | np.integer) else None
        attrs = {"method": f"exact: conjugate normal ({self.pooling} pooling)",
                 "sampler": "exact i.i.d.", "prior": self.prior.label(),
                 **({"random_seed": int(seed)} if seed is not None else {})}
        return schools_tree(self.data, posterior, attrs)


def pooled_posterior(data: SchoolsData, priors: Mapping[str, Prior],
                     pooling: str) -> PooledNormalPosterior:
    """Return the exact posterior of complete (prior ``mu``) or no pooling (prior ``theta``).

    Raises
    ------
    ValueError
        For a prior that is neither Normal nor flat.
    """
    name = "mu" if pooling == "complete" else "theta"
    return PooledNormalPosterior(data, priors[name], pooling)


def _without(data: SchoolsData, j: int) -> SchoolsData:
    keep = np.arange(data.n_groups) != j
    return SchoolsData(np.asarray(data.y)[keep], np.asarray(data.sigma)[keep],
                       names=[n for k, n in enumerate(data.names) if keep[k]], dim=data.dim)


def logo_densities(data: SchoolsData, priors: Mapping[str, Prior], pooling: str,
                   *, grid_size: int = LOGO_GRID) -> np.ndarray:
    """``log p(y_j | y_-j)`` of every group (NaN where the others' posterior is improper)."""
    y = np.asarray(data.y, dtype=float)
    s2 = np.asarray(data.sigma, dtype=float) ** 2
    if pooling == "none":
        m0, p0 = _mu_prior(priors["theta"])
        if p0 == 0.0:
            return np.full(y.shape, -np.inf)
        return _normal_logpdf(y, m0, 1.0 / p0 + s2)
    if pooling == "complete":
        m0, p0 = _mu_prior(priors["mu"])
        prec = 1.0 / s2
        total = p0 + prec.sum() - prec
        with np.errstate(divide="ignore", invalid="ignore"):
            loc = (p0 * m0 + (prec * y).sum() - prec * y) / total
            out = _normal_logpdf(y, loc, 1.0 / total + s2)
        return np.where(total > 0, out, np.nan)
    out = np.full(y.shape, np.nan)
    for j in range(data.n_groups):
        try:
            post = HierarchicalNormalPosterior(_without(data, j), priors=dict(priors),
                                               grid_size=grid_size)
        except ValueError:  # improper without group j (flat priors, few groups)
            continue
        out[j] = post.predictive_logpdf(y[j], np.sqrt(s2[j]))
    return out


def exact_logo(model: pm.Model, spec: ModelSpec) -> xr.DataArray:
    """Exact ``log p(y_j | y_-j)`` of each group (the family's ``exact_logo``).

    Each group holds one estimate, so leaving a group out is leaving an observation out:
    these are the exact leave-one-out and leave-one-group-out densities alike. Priors
    are the model's current ones. Partial pooling fits the exact posterior once per
    group (``J`` one-dimensional quadratures of ``J - 1`` groups each).

    Returns
    -------
    xarray.DataArray
        Along the group dim; NaN where the others alone give an improper posterior
        (flat priors and too few groups), ``-inf`` for no pooling under a flat prior.
    """
    data = spec.data
    priors = current_priors(model, spec)
    values = logo_densities(data, priors, spec.options["pooling"])
    return xr.DataArray(values, dims=(data.dim,), coords={data.dim: list(data.names)},
                        name="elpd", attrs={"method": "exact (conjugate normal and "
                                                      "quadrature over tau)"})


def typical_tau(data: SchoolsData, priors: Mapping[str, Prior]) -> float:
    """Return a typical ``tau``: its exact posterior median (moments if unavailable)."""
    try:
        post = HierarchicalNormalPosterior(data, priors=dict(priors), grid_size=1001)
        return float(post.quantile(0.5, var="tau"))
    except ValueError:  # a prior on mu the exact posterior does not take
        y, s2 = np.asarray(data.y, dtype=float), np.asarray(data.sigma, dtype=float) ** 2
        return float(np.sqrt(max(np.var(y) - np.mean(s2), 0.0)))


def resolve_options(options: dict, data: SchoolsData, priors) -> dict:
    """Choose the groups to centre for ``parametrization="auto"`` (the family's hook).

    Groups whose standard error lies below :func:`typical_tau` are centred
    (:func:`~pymc_hier.normal.problem.centered_groups`); a ``centered`` list given by the
    user is kept, and is refused with any other parametrization.
    """
    auto = options["parametrization"] == AUTO and options["pooling"] == "partial"
    if options.get("centered") is not None and not auto:
        raise ValueError("centered: only applies to parametrization='auto' with partial "
                         "pooling")
    if auto and options.get("centered") is None:
        chosen = centered_groups(data.sigma, typical_tau(data, priors))
        options["centered"] = [n for n, c in zip(data.names, chosen, strict=True) if c]
    return options
