"""Exact posterior of the hierarchical normal model (Bayesian Data Analysis, section 5.4).

For ``y_j ~ Normal(theta_j, sigma_j)``, ``theta_j ~ Normal(mu, tau)``, a Normal or flat
prior on ``mu`` and any prior density on ``tau > 0``, ``theta`` and ``mu`` integrate out
analytically given ``tau``::

    y_j | mu, tau ~ Normal(mu, V_j),        V_j = sigma_j**2 + tau**2
    mu | tau, y   ~ Normal(mu_hat, V_mu),   1 / V_mu = 1 / s0**2 + sum_j 1 / V_j
    p(tau | y)    ∝ p(tau) sqrt(V_mu) prod_j V_j**-0.5 exp(-Q / 2)
    theta_j | mu, tau, y ~ Normal((y_j tau**2 + mu sigma_j**2) / V_j, sigma_j**2 tau**2 / V_j)

with ``Q = sum_j (y_j - mu_hat)**2 / V_j + (mu_hat - m0)**2 / s0**2``. The marginal of
``tau`` is computed on an adaptive grid in ``log(tau)`` (heavy tails decay exponentially
there); the marginals of ``mu``, ``theta_j`` and ``theta_new`` are then mixtures of normals
over that grid, and i.i.d. draws follow the chain tau -> mu -> theta.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import xarray as xr

from pymc_hier._validation import check_draw_request
from pymc_hier.exceptions import PriorDominatedWarning
from pymc_hier.normal.data import SchoolsData
from pymc_hier.normal.kernels import THETA_STORAGE, draw_theta
from pymc_hier.normal.moments import VARIABLES, MomentTables, label
from pymc_hier.normal.problem import as_schools_data, check_proper, resolve_schools_priors
from pymc_hier.numerics.grid import (
    LogGrid,
    adaptive_log_grid,
    mixture_cdf,
    mixture_pdf,
    mixture_quantile,
)
from pymc_hier.priors import Prior
from pymc_hier.spec import get_spec

__all__ = ["HierarchicalNormalPosterior", "hierarchical_normal_posterior"]

#: Posterior quantiles reported by :meth:`HierarchicalNormalPosterior.quantiles`.
DEFAULT_PROBS = (0.025, 0.25, 0.5, 0.75, 0.975)
_VARS = VARIABLES
_BLOCK = 2**21
_MIXTURE_NODES = 1000
#: What sums over the groups and draws theta (see :func:`hierarchical_normal_posterior`).
BACKENDS = ("numpy", "jax")


def hierarchical_normal_posterior(data, *, priors=None, grid_size: int = 4001,
                                  backend: str = "numpy"):
    """Compute the exact posterior of the hierarchical normal model.

    Parameters
    ----------
    data : SchoolsData, mapping, DataFrame, Dataset or pymc.Model
        The estimates and standard errors (see
        :func:`pymc_hier.normal.model.as_schools_data`), or a model built by
        ``hierarchical_normal_model``/``eight_schools_model``, whose data and priors are
        then used (``priors`` must be None).
    priors : str or mapping, optional
        A preset name (``"default"``, ``"bda"``) or a mapping with ``"mu"`` (a Normal or
        Flat :class:`~pymc_hier.Prior`) and ``"tau"`` (any Prior with support tau > 0, or a
        callable returning the log density of an array of tau values, up to a constant),
        merged into the default preset.
    grid_size : int, default 4001
        Number of grid nodes in ``log(tau)``, placed adaptively where the mass is.
    backend : {"numpy", "jax"}, default "numpy"
        What computes the sums over groups at every ``tau`` of the grid and draws
        ``theta`` (the costs that grow with the groups): NumPy, or JAX on its default
        device, a GPU when one is visible (:mod:`pymc_hier.normal.exact_jax`;
        ``pip install 'pymc_hier[jax]'``). The grid, the draws of ``tau``, ``mu`` and
        ``theta_new`` are the same for both, so their posteriors agree to rounding; the
        draws of ``theta`` from ``"jax"`` are other draws from the same conditionals.

    Returns
    -------
    HierarchicalNormalPosterior

    Raises
    ------
    ValueError
        For invalid data or priors, an unknown backend, or an improper posterior (flat
        priors with too few groups, or a tau density that does not decay).

    Warns
    -----
    PriorDominatedWarning
        With a single group (``tau`` is then prior-dominated).

    Examples
    --------
    >>> from pymc_hier import EIGHT_SCHOOLS
    >>> from pymc_hier.exact import hierarchical_normal_posterior
    >>> post = hierarchical_normal_posterior(EIGHT_SCHOOLS, priors="bda")
    >>> round(float(post.quantile(0.5, var="tau")), 2)
    5.24
    """
    spec = get_spec(data) if hasattr(data, "free_RVs") else None
    if spec is not None:
        if not isinstance(spec.data, SchoolsData):
            raise ValueError(f"data: a {spec.family.name!r} model, not a hierarchical normal "
                             "model")
        if priors is not None:
            raise ValueError("priors: must be None when data is a model (its own priors "
                             "are used)")
        data, priors = spec.data, dict(spec.priors)
    elif hasattr(data, "free_RVs"):
        raise ValueError("data: a PyMC model not built by a pymc_hier factory")
    data = as_schools_data(data)
    if not (isinstance(grid_size, int | np.integer) and grid_size >= 101):
        raise ValueError(f"grid_size: must be an integer >= 101, got {grid_size!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend: must be one of {', '.join(map(repr, BACKENDS))}, "
                         f"got {backend!r}")
    return HierarchicalNormalPosterior(data, priors=priors, grid_size=int(grid_size),
                                       backend=backend)


class HierarchicalNormalPosterior(MomentTables):
    """Exact posterior of ``mu``, ``tau``, ``theta`` and ``theta_new`` (see module docs).

    Build it with :func:`hierarchical_normal_posterior`. The summaries take ``var`` in
    ``{"mu", "tau", "theta_new", "theta"}``. For ``"theta"`` results have a trailing axis
    over the groups: ``x`` in :meth:`pdf`/:meth:`cdf` broadcasts against it (pass
    ``x[..., None]`` to evaluate the same points in every group), and :meth:`quantile`
    returns shape ``q.shape + (J,)``. :meth:`quantiles`, :meth:`means` and :meth:`sds`
    give labelled :class:`xarray.Dataset` s comparable with ``posterior.quantile(...)``.

    Attributes
    ----------
    data : SchoolsData
    priors : dict
        ``{"mu": Prior, "tau": Prior or callable}``.
    grid : LogGrid
        The grid in ``log(tau)`` carrying the marginal posterior of ``tau``.
    prior_dominated : bool
        True with a single group: the data then cannot inform ``tau``.
    backend : {"numpy", "jax"}
        What sums over the groups and draws ``theta``.
    """

    def __init__(self, data, *, priors, grid_size: int, backend: str = "numpy"):
        tau_fn = None
        if isinstance(priors, Mapping) and callable(priors.get("tau")) \
                and not isinstance(priors.get("tau"), Prior):
            tau_fn = priors["tau"]
            priors = {k: v for k, v in priors.items() if k != "tau"}
        resolved = resolve_schools_priors(priors)
        self.data = data
        self.priors = {"mu": resolved["mu"], "tau": tau_fn or resolved["tau"]}
        self._y = np.asarray(data.y, dtype=float)
        self._s2 = np.asarray(data.sigma, dtype=float) ** 2
        self._m0, self._prec0 = _mu_prior(resolved["mu"])
        check_proper(data.n_groups, mu_flat=self._prec0 == 0.0,
                     tau_flat=tau_fn is None and resolved["tau"].dist == "HalfFlat")
        self.prior_dominated = data.n_groups == 1
        if self.prior_dominated:
            warnings.warn(
                "a single group cannot inform tau: its posterior is prior-dominated (with a "
                "flat prior on mu it equals the prior)", PriorDominatedWarning, stacklevel=3)
        self._log_prior_tau = tau_fn or resolved["tau"].logp_function()
        self.backend = backend
        self._device = None
        if backend == "jax":
            from pymc_hier.normal.exact_jax import JaxConditionals

            self._device = JaxConditionals(self._y, np.sqrt(self._s2), self._m0, self._prec0)
        center = float(np.log(np.sqrt(np.median(self._s2))))
        self.grid: LogGrid = adaptive_log_grid(self._log_density_t, center=center,
                                               size=grid_size)
        # Mixtures (mu, theta, theta_new given tau) use every stride-th node: the trapezoid
        # rule on these smooth integrands, negligible at both ends, converges geometrically,
        # and ~1000 nodes keep J = 10**4 groups cheap.
        stride = max(1, (grid_size - 1) // _MIXTURE_NODES)
        t, self._w = self.grid.nodes(stride)
        self._tau_nodes = np.exp(t)
        self._mix = {}

    def __repr__(self) -> str:
        return (f"HierarchicalNormalPosterior({self.data.n_groups} groups, mu ~ "
                f"{label(self.priors['mu'])}, tau ~ {label(self.priors['tau'])})")

    # -- NumPy kernels ---------------------------------------------------------------------
    def _conditionals(self, tau):
        """Return log p(y | tau) (up to a constant), mu_hat and V_mu for each tau."""
        if self._device is not None:
            return self._device(tau)
        tau = np.asarray(tau, dtype=float)
        flat = tau.reshape(-1)
        loglik, mu_hat, v_mu = (np.empty(flat.shape) for _ in range(3))
        step = max(1, _BLOCK // len(self._y))
        for i in range(0, len(flat), step):
            sl = slice(i, i + step)
            v = self._s2 + flat[sl, None] ** 2
            prec = 1.0 / v
            p = prec.sum(axis=1) + self._prec0
            m = ((prec * self._y).sum(axis=1) + self._prec0 * self._m0) / p
            q = (prec * (self._y - m[:, None]) ** 2).sum(axis=1) + self._prec0 * (m - self._m0) ** 2
            loglik[sl] = -0.5 * (np.log(v).sum(axis=1) + np.log(p) + q)
            mu_hat[sl], v_mu[sl] = m, 1.0 / p
        return loglik.reshape(tau.shape), mu_hat.reshape(tau.shape), v_mu.reshape(tau.shape)

    def _log_density_tau(self, tau):
        """Unnormalised log p(tau | y)."""
        return np.asarray(self._log_prior_tau(tau), dtype=float) + self._conditionals(tau)[0]

    def _log_density_t(self, t):
        return self._log_density_tau(np.exp(t)) + t

    def _components(self, var):
        """Locations and scales, shape (K, M), of ``var`` given each tau node."""
        if var not in self._mix:
            tau = self._tau_nodes[:, None]
            _, m, v_mu = (a[:, None] for a in self._conditionals(self._tau_nodes))
            if var == "mu":
                loc, var_ = m, v_mu
            elif var == "theta_new":
                loc, var_ = m, v_mu + tau**2
            else:
                b = self._s2 / (self._s2 + tau**2)  # shrinkage towards mu
                loc = b * m + (1 - b) * self._y
                var_ = self._s2 * (1 - b) + b**2 * v_mu
            self._mix[var] = (loc, np.sqrt(var_))
        return self._mix[var]

    def _check_var(self, var):
        if var not in _VARS:
            raise ValueError(f"var: unknown variable {var!r} (known: {', '.join(_VARS)})")

    def _mixture(self, fn, x, var):
        loc, scale = self._components(var)
        x = np.asarray(x, dtype=float)
        if var == "theta":
            try:
                xb = np.broadcast_to(x, np.broadcast_shapes(x.shape, loc.shape[1:]))
            except ValueError:
                raise ValueError(f"x: shape {x.shape} does not broadcast against the "
                                 f"{loc.shape[1]} groups (use x[..., None])") from None
            return fn(xb.reshape(-1, loc.shape[1]), self._w, loc, scale).reshape(xb.shape)
        return fn(x.reshape(-1, 1), self._w, loc, scale).reshape(x.shape)

    # -- scalar summaries --------------------------------------------------------------------
    def pdf(self, x, *, var: str = "tau") -> np.ndarray:
        """Posterior density of ``var`` at ``x``."""
        self._check_var(var)
        x = np.asarray(x, dtype=float)
        if var != "tau":
            return self._mixture(mixture_pdf, x, var)
        logp = self._log_density_tau(np.maximum(x, 0.0)) - self.grid.log_norm
        return np.where(x >= 0, np.exp(logp), 0.0)

    def cdf(self, x, *, var: str = "tau") -> np.ndarray:
        """Posterior CDF of ``var`` at ``x``."""
        self._check_var(var)
        x = np.asarray(x, dtype=float)
        if var != "tau":
            return self._mixture(mixture_cdf, x, var)
        with np.errstate(divide="ignore"):
            return np.where(x > 0, self.grid.cdf_t(np.log(np.maximum(x, 1e-300))), 0.0)

    def quantile(self, q, *, var: str = "tau") -> np.ndarray:
        """Posterior quantiles of ``var`` at probabilities ``q``."""
        self._check_var(var)
        q = np.asarray(q, dtype=float)
        if var == "tau":
            return np.exp(self.grid.quantile_t(q))
        loc, scale = self._components(var)
        out = mixture_quantile(q.reshape(-1), self._w, loc, scale)
        return out.reshape(q.shape + (loc.shape[1],)) if var == "theta" \
            else out.reshape(q.shape)

    def mean(self, *, var: str = "tau"):
        """Posterior mean of ``var``: ``inf`` where it does not exist, with a warning.

        ``tau``'s posterior decays like its prior times ``tau**-J`` (``tau**-(J-1)`` with a
        flat prior on ``mu``); where that tail is too heavy for a moment the moment of
        ``tau`` (and the standard deviations of ``mu``, ``theta`` and ``theta_new``, which
        grow with ``tau``) is infinite.

        Warns
        -----
        InfiniteMomentWarning
            When the mean is infinite, naming the tail.
        """
        self._check_var(var)
        if var == "tau":
            if self.grid.moment_limits[1]:
                return float(self._w @ self._tau_nodes)
            self._warn_infinite("mean", var, 1)
            return np.inf
        loc, _ = self._components(var)
        out = self._w @ loc
        return out if var == "theta" else float(out[0])

    def sd(self, *, var: str = "tau"):
        """Posterior standard deviation of ``var``: ``inf`` where it does not exist.

        Warns
        -----
        InfiniteMomentWarning
            When the standard deviation is infinite, naming the tail.
        """
        self._check_var(var)
        if var == "tau":
            if not self.grid.moment_limits[2]:
                self._warn_infinite("standard deviation", var, 2)
                return np.inf
            m = self._w @ self._tau_nodes
            return float(np.sqrt(self._w @ (self._tau_nodes - m) ** 2))
        loc, scale = self._components(var)
        second = self._w @ (scale**2 + loc**2)
        tail = self._w[-1] * (scale[-1] ** 2 + loc[-1] ** 2)
        out = np.where(tail < 1e-12 * second, np.sqrt(np.maximum(second - (self._w @ loc) ** 2,
                                                                 0.0)), np.inf)
        if not np.all(np.isfinite(out)):
            self._warn_infinite("standard deviation", var, 2)
        return out if var == "theta" else float(out[0])

    # -- a new group's estimate ----------------------------------------------------------------
    def _predictive_components(self, sigma):
        """Locations and variances, shape (K, ...), of ``y_new`` given each tau node."""
        loc, scale = self._components("theta_new")
        s2 = np.asarray(sigma, dtype=float) ** 2
        return loc[:, 0].reshape((-1,) + (1,) * s2.ndim), \
            (scale[:, 0] ** 2).reshape((-1,) + (1,) * s2.ndim) + s2

    def predictive_logpdf(self, y, sigma) -> np.ndarray:
        """Log density of a new group's estimate ``y`` measured with standard error ``sigma``.

        ``y_new ~ Normal(theta_new, sigma)`` and ``theta_new ~ Normal(mu, tau)`` under the
        posterior: a mixture over ``tau`` of ``Normal(mu_hat(tau), sqrt(V_mu(tau) + tau**2
        + sigma**2))``. ``y`` and ``sigma`` broadcast. With the data less group ``j``, it
        is the exact leave-one-group-out density of ``y_j``.
        """
        from scipy.special import logsumexp

        y, sigma = np.broadcast_arrays(np.asarray(y, dtype=float),
                                       np.asarray(sigma, dtype=float))
        if np.any(sigma < 0):
            raise ValueError("sigma: standard errors must be >= 0")
        loc, var = self._predictive_components(sigma)
        logf = -0.5 * (np.log(2.0 * np.pi * var) + (y - loc) ** 2 / var)
        w = np.log(self._w).reshape((-1,) + (1,) * y.ndim)
        return logsumexp(logf + w, axis=0)

    def predictive_cdf(self, y, sigma) -> np.ndarray:
        """CDF of a new group's estimate (see :meth:`predictive_logpdf`)."""
        from scipy.special import ndtr

        y, sigma = np.broadcast_arrays(np.asarray(y, dtype=float),
                                       np.asarray(sigma, dtype=float))
        loc, var = self._predictive_components(sigma)
        w = self._w.reshape((-1,) + (1,) * y.ndim)
        return (w * ndtr((y - loc) / np.sqrt(var))).sum(axis=0)

    def _dataset(self, values: dict, extra_dim=None, attrs=None) -> xr.Dataset:
        dim = self.data.dim
        lead = () if extra_dim is None else (extra_dim[0],)
        coords = {dim: list(self.data.names)}
        if extra_dim is not None:
            coords[extra_dim[0]] = extra_dim[1]
        data_vars = {v: (lead + ((dim,) if v == "theta" else ()), np.asarray(values[v]))
                     for v in _VARS}
        return xr.Dataset(data_vars, coords=coords, attrs=self._attrs(**(attrs or {})))

    def quantiles(self, probs=DEFAULT_PROBS) -> xr.Dataset:
        """Posterior quantiles of every variable, dim ``quantile`` (like ``Dataset.quantile``)."""
        probs = np.asarray(probs, dtype=float).reshape(-1)
        return self._dataset({v: self.quantile(probs, var=v) for v in _VARS},
                             extra_dim=("quantile", probs))

    def _attrs(self, **extra) -> dict:
        return {"method": "exact: BDA 5.4, tau on a grid in log(tau), mu and theta normal "
                          "given tau",
                "grid_size": len(self.grid.t),
                "prior_mu": label(self.priors["mu"]),
                "prior_tau": label(self.priors["tau"]),
                "data_hash": self.data.fingerprint(), "backend": self.backend, **extra}

    # -- i.i.d. draws -------------------------------------------------------------------------
    #: Posterior variables of :meth:`sample`'s draws.
    variables = ("mu", "tau", "theta", "theta_new")
    #: Default ``theta_storage`` of :meth:`sample`.
    theta_storage = "float64"

    def sample(self, draws: int = 1000, chains: int = 4, random_seed=None, *,
               theta_storage: str | None = None, var_names=None) -> xr.DataTree:
        """Draw i.i.d. from the posterior, shaped like an MCMC result.

        Parameters
        ----------
        draws, chains : int
            Output shape ``(chains, draws)``; all draws are independent.
        random_seed : int or numpy.random.Generator, optional
            Seed of the draws (recorded in the attrs when an int).
        theta_storage : {"float64", "float32", "none"}, optional
            Dtype of the ``theta`` draws (drawn in cache-sized blocks, so memory beyond
            the result stays bounded), or ``"none"`` to skip them: ``chains * draws``
            numbers per group, 8 GB in float64 for 10^6 groups and 1000 draws. Default:
            the attribute :attr:`theta_storage`, or ``"none"`` when ``var_names`` leaves
            ``theta`` out.
        var_names : sequence of str, optional
            The variables wanted (of :attr:`variables`).

        Returns
        -------
        xarray.DataTree
            Groups ``posterior`` (``mu``, ``tau``, ``theta``, ``theta_new`` with dims
            ``chain``, ``draw`` and the group dim), ``observed_data`` (``y``) and
            ``constant_data`` (``sigma``).
        """
        check_draw_request(draws, chains, var_names, self.variables)
        if var_names is not None and theta_storage is None and "theta" not in var_names:
            theta_storage = "none"
        if theta_storage is None:
            theta_storage = self.theta_storage
        if theta_storage not in THETA_STORAGE:
            raise ValueError(f"theta_storage: unknown value {theta_storage!r} (accepted: "
                             f"{', '.join(map(repr, THETA_STORAGE))})")
        rng = np.random.default_rng(random_seed)
        mu, tau, theta_new = population_draws(self.grid, self._conditionals, (chains, draws),
                                              rng)
        posterior = {"mu": mu, "tau": tau, "theta_new": theta_new}
        if theta_storage != "none":
            draw = draw_theta
            if self.backend == "jax":
                from pymc_hier.normal.exact_jax import draw_theta as draw
            posterior["theta"] = draw(mu, tau, self._y, np.sqrt(self._s2), rng=rng,
                                      dtype=theta_storage)
        seed = random_seed if isinstance(random_seed, int | np.integer) else None
        attrs = self._attrs(sampler="exact i.i.d.",
                            **({"random_seed": int(seed)} if seed is not None else {}))
        return schools_tree(self.data, posterior, attrs)


def population_draws(grid: LogGrid, conditionals, shape, rng: np.random.Generator):
    """I.i.d. draws of ``(mu, tau, theta_new)``: ``tau`` from the grid, the rest given it.

    ``conditionals(tau) -> (log p(y | tau), mu_hat, V_mu)``; ``mu | tau ~ Normal(mu_hat,
    V_mu)`` and ``theta_new | mu, tau ~ Normal(mu, tau)``.
    """
    tau = np.exp(grid.quantile_t(rng.uniform(size=shape)))
    _, mu_hat, v_mu = conditionals(tau)
    mu = mu_hat + np.sqrt(v_mu) * rng.standard_normal(shape)
    theta_new = mu + tau * rng.standard_normal(shape)
    return mu, tau, theta_new


def _mu_prior(prior: Prior) -> tuple[float, float]:
    """Return (mean, precision) of the prior on mu; precision 0 for a flat prior."""
    if prior.dist == "Flat":
        return 0.0, 0.0
    if prior.dist == "Normal" and set(prior.params) <= {"mu", "sigma"}:
        m0 = float(prior.params.get("mu", 0.0))
        s0 = float(prior.params.get("sigma", 1.0))
        return m0, 1.0 / s0**2
    raise ValueError(f"priors['mu']: the exact reference needs a Normal or Flat prior on mu, "
                     f"got {prior!r}")


def schools_tree(data: SchoolsData, posterior: dict, attrs: dict) -> xr.DataTree:
    """Return exact draws as a fit: ``posterior``, ``observed_data`` and ``constant_data``."""
    from arviz_base import from_dict

    dim = data.dim
    return from_dict(
        {"posterior": posterior,
         "observed_data": {"y": np.asarray(data.y)},
         "constant_data": {"sigma": np.asarray(data.sigma)}},
        coords={dim: list(data.names)},
        dims={"theta": [dim], "y": [dim], "sigma": [dim]},
        attrs={"posterior": attrs},
    )
