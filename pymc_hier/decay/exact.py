"""Exact posterior of the decay model: :func:`decay_posterior`.

With ``N0`` integrated out in closed form and ``t0`` integrated over its day by
Gauss-Legendre quadrature (or known), the posterior of the decay rate is one-dimensional:
it is tabulated by adaptive piecewise Gauss-Legendre quadrature in ``log alpha`` (to a
relative accuracy of about ``1e-11``), which gives its density, CDF, moments and quantiles
to near rounding, and exact i.i.d. draws of ``(alpha, t0, N0)`` by inversion:

1. ``alpha`` from its marginal posterior (inverse CDF of the table);
2. each ``t0_i`` given ``alpha`` from its conditional on the day, proportional to the
   marginal likelihood ``p(y_i | alpha, t0_i)`` (inverse CDF of a per-widget table);
3. each ``N0_i`` given ``(alpha, t0_i)``: the amount at measurement is ``Normal(y_i,
   sigma_i)`` truncated to ``[0, A_i]``, and ``N0_i = amount * exp(alpha dt_i)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from pymc_hier.decay.data import DecayData
from pymc_hier.decay.draws import draw_n0_known, draw_widgets
from pymc_hier.decay.kernels import (
    GL_NODES,
    log_day_marginal_pdf,
    log_uniform_normal_pdf,
)
from pymc_hier.decay.moments import AlphaMoments, log_density_u
from pymc_hier.decay.problem import (
    check_alpha_prior,
    check_consistent,
    default_priors,
    prior_logpdf,
    time_scale,
)
from pymc_hier.numerics.local_grid import chebyshev_log_density, find_mode, remembered
from pymc_hier.numerics.quadrature import adaptive_pieces, piece_nodes, piece_table
from pymc_hier.priors import Prior

__all__ = ["DecayPosterior", "decay_posterior"]

#: The posterior is tabulated where its log density is within this of the maximum.
LOG_RANGE = 60.0
_SCAN = 481          # points of the initial scan of log(alpha * T) ("adaptive")
_LOCAL_SCAN = 61     # points of the coarse scan and of its refinement ("local")
_CELLS = 2_000_000   # array elements per block of likelihood evaluations
#: Widgets in the subsample that locates the posterior for ``method="local"``.
_SUBSAMPLE = 200
METHODS = ("auto", "adaptive", "local")
#: What sums the widgets' log likelihoods and draws the widgets (see :func:`decay_posterior`).
BACKENDS = ("numpy", "numba", "jax")
#: Relative accuracy of the ``"adaptive"`` tabulation.
ADAPTIVE_RTOL = 1e-11


class DecayPosterior(AlphaMoments):
    """Exact marginal posterior of ``alpha`` with an exact sampler for ``(alpha, t0, N0)``.

    Build it with :func:`decay_posterior`. Densities, CDF and quantiles are for ``alpha``
    in the data's time unit (per ``data.time_unit``).

    Attributes
    ----------
    data : DecayData
        The data.
    t0 : {"latent", "known", "marginal"}
        How manufacture times enter (``"marginal"`` is a synonym of ``"latent"``).
    prior : Prior or callable
        The prior on ``alpha``.
    method : {"adaptive", "local"}
        How the posterior was tabulated (see :func:`decay_posterior`).
    table_error : float
        Accuracy of the tabulated density relative to its peak: ``1e-11`` for
        ``"adaptive"``, the measured error for ``"local"``. Quantiles, moments and the
        draws of ``alpha`` come from the table.
    backend : {"numpy", "numba", "jax"}
        What computed the sums over widgets and draws the widgets (see
        :func:`decay_posterior`).
    """

    def __init__(self, data, t0, prior, log_prior, log_likelihood, edges, method="adaptive",
                 table_log_density=None, table_error=ADAPTIVE_RTOL, backend="numpy"):
        self.data, self.t0, self.prior, self.method = data, t0, prior, method
        self.backend = backend
        self.table_error = float(table_error)
        self._log_prior, self._log_likelihood = log_prior, log_likelihood
        nodes = piece_nodes(edges, GL_NODES)
        self._nodes = nodes
        values = (log_density_u(nodes, log_prior, log_likelihood)
                  if table_log_density is None else table_log_density(nodes))
        self._table = piece_table(edges, values)
        self._moments_cache = None

    # -- densities ------------------------------------------------------------------
    def logpdf(self, alpha):
        """Log posterior density of ``alpha`` (``-inf`` for ``alpha <= 0``)."""
        alpha = np.asarray(alpha, dtype=float)
        out = np.full(alpha.shape, -np.inf)
        pos = alpha > 0
        if pos.any():
            a = alpha[pos]
            out[pos] = self._log_prior(a) + self._log_likelihood(a) - self._table.log_norm
        return out

    def table_logpdf(self, alpha, *, floor: float = 1e-6):
        """Log posterior density of ``alpha`` read off the table, exact in the far tails.

        The table's polynomials give the density to ``table_error`` of its peak; where they
        fall below ``floor`` times the peak, :meth:`logpdf` evaluates the quadrature
        (few points). Cheaper than :meth:`logpdf` when the data are many: the map of the
        sampler's coordinates (:mod:`pymc_hier.decay.pilot`) reads it at 481 points.
        """
        alpha = np.asarray(alpha, dtype=float)
        out = np.full(alpha.shape, -np.inf)
        pos = alpha > 0
        u = np.log(alpha[pos])
        density = self._table.pdf(u)
        peak = float(np.max(self._table.f))
        with np.errstate(divide="ignore"):
            log_u = np.where(density > floor * peak, np.log(density), np.nan)
        tail = np.isnan(log_u)
        if tail.any():
            log_u[tail] = self.logpdf(alpha[pos][tail]) + u[tail]
        out[pos] = log_u - u  # density of log alpha -> of alpha
        return out

    def pdf(self, alpha):
        """Posterior density of ``alpha``."""
        return np.exp(self.logpdf(alpha))

    def cdf(self, alpha):
        """Posterior CDF of ``alpha``."""
        alpha = np.asarray(alpha, dtype=float)
        with np.errstate(divide="ignore"):
            u = np.log(np.maximum(alpha, 0.0))
        return self._table.cdf(u.ravel()).reshape(alpha.shape)

    def quantile(self, q):
        """Posterior quantiles of ``alpha`` at probabilities ``q``."""
        q = np.asarray(q, dtype=float)
        if np.any((q < 0) | (q > 1)):
            raise ValueError(f"q: probabilities must lie in [0, 1], got {q!r}")
        return np.exp(self._table.quantile(q.ravel())).reshape(q.shape)

    def __repr__(self) -> str:
        label = self.prior.label() if isinstance(self.prior, Prior) else "callable prior"
        m = self._moments()
        return (f"DecayPosterior(t0={self.t0!r}, prior {label}: mean {m.mean:.6g}, "
                f"sd {m.sd:.4g} per {self.data.time_unit})")

    # -- exact draws ------------------------------------------------------------------
    def _draw_widgets(self, alpha, rng, *, times: bool = True):
        """Draw every widget's ``(t0, N0)`` given each ``alpha`` (shape ``(n,)``).

        With known ``t0`` and ``times=False`` the ``t0`` returned is None (the known times
        are not copied into a ``(n, W)`` array).
        """
        d = self.data
        if self.t0 == "known" and not times and self.backend != "jax":
            return None, draw_n0_known(np.asarray(d.n_measured, dtype=float),
                                       np.asarray(d.sigma, dtype=float),
                                       np.asarray(d.t_measured, dtype=float)
                                       - np.asarray(d.t0, dtype=float),
                                       float(np.log(d.n0_max)), alpha, rng)
        days = ({"t0": np.asarray(d.t0, dtype=float)} if self.t0 == "known" else
                {"day_start": np.asarray(d.day_start), "day_end": np.asarray(d.day_end)})
        draw = draw_widgets
        if self.backend == "jax":
            from pymc_hier.decay.exact_jax import draw_widgets as draw
        return draw(np.asarray(d.n_measured, dtype=float), np.asarray(d.sigma),
                    np.asarray(d.t_measured), float(np.log(d.n0_max)), alpha, rng, **days)

    def _draw_t0(self, alpha, rng):
        """Draw every widget's ``t0`` given each ``alpha`` (shape ``(n,)``) from its conditional."""
        return self._draw_widgets(alpha, rng)[0]

    @property
    def variables(self) -> tuple[str, ...]:
        """Posterior variables of :meth:`sample`'s draws."""
        return ("alpha", "N0") if self.t0 == "known" else ("alpha", "t0", "N0")

    def sample(self, draws: int = 1000, chains: int = 4, *, random_seed=None,
               widgets: bool | None = None, var_names=None) -> xr.DataTree:
        """Exact i.i.d. draws of ``(alpha, t0, N0)``, shaped like an MCMC result.

        Parameters
        ----------
        draws, chains : int
            Shape of the result (``chains * draws`` independent draws).
        random_seed : int or numpy.random.Generator, optional
            Seed.
        widgets : bool, optional
            Also draw every widget's ``t0`` and ``N0`` (``chains * draws * 2`` numbers per
            widget: 1.6 GB for 10^5 widgets and 1000 draws). ``False`` draws ``alpha`` only.
            Default: True, unless ``var_names`` names only ``alpha``.
        var_names : sequence of str, optional
            The variables wanted (of :attr:`variables`); the per-widget draws are made only
            when one of them is asked for.

        Returns
        -------
        xarray.DataTree
            A ``posterior`` group with ``alpha`` (chain, draw), ``t0`` (chain, draw, widget;
            unless ``t0="known"``) and ``N0`` (chain, draw, widget).
        """
        if int(draws) < 1 or int(chains) < 1:
            raise ValueError(f"draws, chains: must be >= 1, got {draws}, {chains}")
        if var_names is not None:
            unknown = sorted(set(var_names) - set(self.variables))
            if unknown:
                raise ValueError(f"var_names: {unknown} are not drawn here (variables: "
                                 f"{', '.join(self.variables)})")
            if widgets is None:
                widgets = bool(set(var_names) - {"alpha"})
        widgets = True if widgets is None else bool(widgets)
        draws, chains = int(draws), int(chains)
        rng = np.random.default_rng(random_seed)
        d = self.data
        n = draws * chains
        alpha = np.exp(self._table.quantile(rng.uniform(size=n)))
        coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
        unit = d.time_unit
        data_vars = {"alpha": (("chain", "draw"), alpha.reshape(chains, draws),
                               {"units": f"1/{unit}", "long_name": "decay rate"})}
        if widgets:
            t_made, n0 = self._draw_widgets(alpha, rng, times=self.t0 != "known")
            coords["widget"] = np.asarray(d.widget)
            data_vars["N0"] = (("chain", "draw", "widget"), n0.reshape(chains, draws, -1),
                               {"long_name": "initial amount"})
        if widgets and self.t0 != "known":
            data_vars["t0"] = (("chain", "draw", "widget"), t_made.reshape(chains, draws, -1),
                               {"units": unit, "long_name": "manufacture time"})
        label = self.prior.label() if isinstance(self.prior, Prior) else "callable"
        post = xr.Dataset(data_vars, coords=coords,
                          attrs={"method": "exact i.i.d. draws (pymc_hier.decay.exact)",
                                 "t0": self.t0, "prior_alpha": label,
                                 "tabulation": self.method,
                                 "tabulation_error": self.table_error,
                                 "backend": self.backend})
        return xr.DataTree.from_dict({"posterior": post})


def _log_likelihood(data: DecayData, t0: str, index=None):
    """``alpha -> sum_i log p(y_i | alpha)`` (vectorised over ``alpha``, in blocks).

    ``index`` restricts the sum to those widgets.
    """
    index = slice(None) if index is None else index
    y, sigma, t1 = (np.asarray(v, dtype=float)[index] for v in (data.n_measured, data.sigma,
                                                                data.t_measured))
    log_n0_max = float(np.log(data.n0_max))
    if t0 == "known":
        dt = t1 - np.asarray(data.t0, dtype=float)[index]
        width = len(y)

        def one(a):
            return log_uniform_normal_pdf(y, sigma, log_n0_max - a[:, None] * dt).sum(axis=1)
    else:
        start, end = np.asarray(data.day_start)[index], np.asarray(data.day_end)[index]
        width = len(y) * 5 * GL_NODES * 4

        def one(a):
            return log_day_marginal_pdf(y, sigma, t1, start, end, log_n0_max,
                                        a[:, None]).sum(axis=1)
    block = max(1, _CELLS // width)

    def log_likelihood(alpha):
        alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
        return np.concatenate([one(alpha[i:i + block]) for i in range(0, len(alpha), block)])

    return log_likelihood


def _bracket(log_density, scale, points: int = _SCAN, *, return_scan: bool = False):
    """Range of ``log alpha`` holding the posterior mass (log density within LOG_RANGE).

    Scans ``alpha * T`` from ``1e-8`` to ``1e4`` at ``points`` points and widens the scan
    (up to ``1e-300`` and ``1e40``) while the log density at an end is still within
    ``LOG_RANGE`` of the maximum. The range returned reaches one point beyond the last
    point within ``LOG_RANGE``, so it holds the mode of a unimodal density even when no
    more than one point lies that close to the peak. With ``return_scan`` the last scan's
    points and values come too.
    """
    lo, hi = np.log(1e-8 / scale), np.log(1e4 / scale)
    step = 8 * np.log(10.0)
    while True:
        u = np.linspace(lo, hi, points)
        g = log_density(u)
        if not np.isfinite(g).any():
            raise ValueError("posterior: the log density is -inf everywhere on alpha in "
                             f"[{np.exp(lo):.3g}, {np.exp(hi):.3g}]; check the prior's support")
        inside = np.flatnonzero(g > np.max(g) - LOG_RANGE)
        widen_hi = inside[-1] == points - 1
        widen_lo = inside[0] == 0 and lo - step > np.log(1e-300)
        if widen_hi and hi + step > np.log(1e40 / scale):
            raise ValueError(
                "priors['alpha']: the posterior does not vanish as alpha -> infinity (the "
                "likelihood tends to a constant once every widget has decayed), so this "
                "prior gives an improper posterior; use a proper prior such as the "
                "default HalfCauchy"
            )
        if not (widen_hi or widen_lo):
            edges = u[max(inside[0] - 1, 0)], u[min(inside[-1] + 1, points - 1)]
            return (*edges, u, g) if return_scan else edges
        lo, hi = lo - step * widen_lo, hi + step * widen_hi


def subsample_index(n: int) -> np.ndarray:
    """Rows of the :data:`_SUBSAMPLE` widgets that locate the posterior (evenly spaced)."""
    return np.unique(np.linspace(0, n - 1, min(_SUBSAMPLE, n)).round().astype(int))


def _local_table(n, sub, n_sub, log_prior, log_density, scale):
    """Edges and table log density by :mod:`~pymc_hier.numerics.local_grid` (few evaluations).

    A subsample of :data:`_SUBSAMPLE` widgets (``n_sub`` of the ``n``, rows
    :func:`subsample_index`, log likelihood ``sub``) locates the posterior (its scan is
    cheap); Brent's method on all the data then finds the mode, starting from the
    subsample's mean with its standard deviation shrunk by ``sqrt(subsample / n)`` (with no
    more widgets than the subsample, from the scan's bracket, once more on the scale
    found). The table is then checked against the scan (:func:`_check_table`).
    """

    def sub_density(u):
        return log_density_u(u, log_prior, sub)

    log_density = remembered(log_density)
    lo, hi, scan_u, scan_g = _bracket(sub_density, scale, _LOCAL_SCAN, return_scan=True)
    if n_sub < n:
        u = np.linspace(lo, hi, _LOCAL_SCAN)
        g = sub_density(u)
        w = np.exp(g - np.max(g))
        m_sub = float(np.sum(w * u) / np.sum(w))
        s_sub = float(np.sqrt(np.sum(w * (u - m_sub) ** 2) / np.sum(w)))
        start, step = m_sub, s_sub * np.sqrt(n_sub / n)
    else:  # the bracket came from all the data: search it directly
        start, step = 0.5 * (lo + hi), (hi - lo) / 8
    bounds = {"lower": lo - (hi - lo), "upper": hi + (hi - lo)}
    mode, sd = find_mode(log_density, start, step, **bounds)
    if sd < step / 3:  # the guess was coarse: again on the scale just found
        mode, sd = find_mode(log_density, mode, sd, **bounds)
    lower, upper, interpolant, error = chebyshev_log_density(log_density, mode, sd,
                                                             log_range=LOG_RANGE)
    _check_table(scan_u, scan_g if n_sub == n else None, log_density, lower, upper,
                 interpolant, float(interpolant(mode)))
    return adaptive_pieces(interpolant, lower, upper, k=GL_NODES), interpolant, error


def _check_table(scan_u, scan_g, log_density, lower, upper, interpolant, peak):
    """Hold the local table against the independent coarse scan; raise if they disagree.

    The scan's points inside ``[lower, upper]`` must match the interpolant (density error
    relative to the peak below ``1e-2``): a feature the tails' linear interpolation smooths
    over, such as a second mode, fails this. When the scan used all the data
    (``scan_g`` given) no scan point outside the table may come within ``LOG_RANGE`` of
    the peak either.
    """
    inside = (scan_u >= lower) & (scan_u <= upper)
    if scan_g is not None and np.any(scan_g[~inside] > peak - LOG_RANGE):
        raise ValueError("log density not unimodal: mass outside the local table")
    if not inside.any():
        return
    u = scan_u[inside]
    g = scan_g[inside] if scan_g is not None else log_density(u)
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.abs(np.exp(g - peak) - np.exp(interpolant(u) - peak))
    if not np.all(err <= 1e-2):
        raise ValueError("log density not unimodal: the local table disagrees with the scan")


def decay_posterior(data: DecayData, *, t0: str = "latent",
                    prior: Prior | Callable | None = None,
                    method: str = "auto", backend: str = "numpy") -> DecayPosterior:
    """Exact marginal posterior of the decay rate by quadrature.

    Parameters
    ----------
    data : DecayData
        The measurements.
    t0 : {"latent", "known", "marginal"}, default "latent"
        ``"latent"`` (or its synonym ``"marginal"``, matching the model options with the
        same posterior): each ``t0`` uniform on its manufacture day and integrated out by
        Gauss-Legendre quadrature; ``"known"``: ``data.t0`` (then required).
    prior : Prior or callable, optional
        Prior on ``alpha`` in the data's time unit: a :class:`~pymc_hier.Prior` on
        ``alpha >= 0`` or a vectorised callable returning its log density. Default: that
        of :func:`pymc_hier.decay_model` (:func:`pymc_hier.decay.model.default_priors`).
    method : {"auto", "adaptive", "local"}, default "auto"
        How the posterior of ``log alpha`` is tabulated. ``"adaptive"``: scan 21 decades
        of ``alpha`` and bisect pieces until 16-node Gauss-Legendre agrees to ``1e-11``
        (thousands of likelihood evaluations). ``"local"``: locate the posterior with a
        200-widget subsample, find the mode by Brent's method on all the data, then
        interpolate the log density at nested Chebyshev points until the density's error
        relative to its peak is below ``1e-3`` (a few hundred evaluations: 10^5 widgets
        take about a minute; the estimate is kept in ``table_error`` and is conservative,
        the CDF of the lecture-sized data agrees with ``"adaptive"`` to about ``1e-8``).
        The table is held against the coarse scan that located the posterior and refused
        (``ValueError``) where they disagree, e.g. at a second mode. ``"auto"``:
        ``"local"`` for a :class:`~pymc_hier.Prior` (smooth), falling back to
        ``"adaptive"`` when the log density is not smooth and unimodal enough for it (few
        widgets, strongly skewed posteriors); ``"adaptive"`` for a callable prior, which
        may have features narrower than any scan.
    backend : {"numpy", "numba", "jax"}, default "numpy"
        What computes the sums over widgets of the log likelihood (the cost that grows
        with the data) and draws the widgets' ``t0`` and ``N0``. ``"numpy"``: NumPy, in
        blocks. ``"numba"``: one compiled loop over widgets and rates
        (:mod:`pymc_hier.decay.block_kernels`, two to three times faster on a CPU; the widgets
        drawn as with ``"numpy"``). ``"jax"``: JAX on its default device, a GPU when one
        is visible (:mod:`pymc_hier.decay.exact_jax`; ``pip install 'pymc_hier[jax]'``),
        the widgets drawn there too, by inversion. The tabulation itself (where to
        evaluate, the table, the draws of ``alpha``) is the same for all three, so their
        posteriors agree within the table's error (``table_error``), their draws of
        ``alpha`` for a seed too; the widgets' draws of ``"jax"`` are other draws from
        the same conditionals.

    Returns
    -------
    DecayPosterior

    Raises
    ------
    ValueError
        For an unknown ``t0``, ``method`` or ``backend``, ``t0="known"`` without
        ``data.t0``, a prior that allows
        negative rates, an improper posterior (e.g. a flat prior where the data do not
        rule out fast decay) or data the model cannot produce.

    Examples
    --------
    >>> import pymc_hier as ph
    >>> from pymc_hier.exact import decay_posterior
    >>> post = decay_posterior(ph.simulate_decay(), t0="known")
    >>> lo, hi = post.quantile([0.025, 0.975])
    >>> bool(lo < ph.simulate_decay().truth["alpha"] < hi)
    True
    """
    if not isinstance(data, DecayData):
        raise ValueError(f"data: expected a DecayData, got {type(data).__name__}")
    if t0 not in ("latent", "known", "marginal"):
        raise ValueError(f"t0: must be one of 'latent', 'known', 'marginal', got {t0!r}")
    if t0 == "known" and not data.has_t0:
        raise ValueError("t0: 'known' needs exact manufacture times, but data.t0 is None")
    if method not in METHODS:
        raise ValueError(f"method: must be one of {', '.join(map(repr, METHODS))}, "
                         f"got {method!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend: must be one of {', '.join(map(repr, BACKENDS))}, "
                         f"got {backend!r}")
    check_consistent(data)
    if prior is None:
        prior = default_priors(data)["alpha"]
    log_prior = alpha_log_prior(prior)
    kind = "known" if t0 == "known" else "latent"
    log_likelihood = _backend_log_likelihood(data, kind, backend)
    index = subsample_index(len(data))
    edges, interpolant, error, how = tabulate(
        log_prior, log_likelihood, n=len(data), sub=_log_likelihood(data, kind, index),
        n_sub=len(index), scale=time_scale(data), method=method,
        smooth_prior=isinstance(prior, Prior))
    return DecayPosterior(data, t0, prior, log_prior, log_likelihood, edges, method=how,
                          table_log_density=interpolant, table_error=error, backend=backend)


def alpha_log_prior(prior: Prior | Callable) -> Callable[[np.ndarray], np.ndarray]:
    """Return the vectorised log density of a prior on ``alpha`` (checked to be positive).

    Raises
    ------
    ValueError
        For a prior that allows negative rates, or something neither a
        :class:`~pymc_hier.Prior` nor a callable.
    """
    if isinstance(prior, Prior):
        check_alpha_prior(prior)
        return prior_logpdf(prior)
    if callable(prior):
        def log_prior(a):
            return np.asarray(prior(a), dtype=float) * np.ones_like(a)
        return log_prior
    raise ValueError(f"prior: expected a Prior or a callable, got {prior!r}")


def tabulate(log_prior, log_likelihood, *, n: int, sub, n_sub: int, scale: float,
             method: str = "auto", smooth_prior: bool = True):
    """Tabulate the posterior of ``u = log alpha`` from its prior and likelihood.

    The steps of :func:`decay_posterior`'s ``method`` (see there), for any way of summing
    the widgets' log likelihoods: in memory, on a device (:mod:`pymc_hier.decay.exact_jax`)
    or block by block on a cluster (:mod:`pymc_hier.decay.exact_partitioned`).

    Parameters
    ----------
    log_prior, log_likelihood : callable
        Vectorised log prior density and summed log likelihood, of ``alpha``.
    n : int
        Number of widgets.
    sub : callable
        Summed log likelihood of the widgets in rows :func:`subsample_index` (``n_sub``).
    n_sub : int
        Their number.
    scale : float
        :func:`~pymc_hier.decay.problem.time_scale` of the data.
    method : {"auto", "adaptive", "local"}
        As in :func:`decay_posterior`.
    smooth_prior : bool
        Whether ``"auto"`` may use ``"local"`` (a :class:`~pymc_hier.Prior`).

    Returns
    -------
    edges : numpy.ndarray
        Piece edges of the table in ``u``.
    table_log_density : callable or None
        The interpolant the table is made from (``"local"``), or None (the log density).
    error : float
        The table's accuracy relative to the density's peak.
    method : str
        ``"local"`` or ``"adaptive"``.
    """
    def log_density(u):
        return log_density_u(u, log_prior, log_likelihood)

    if method == "local" or (method == "auto" and smooth_prior):
        try:
            edges, interpolant, error = _local_table(n, sub, n_sub, log_prior, log_density,
                                                     scale)
            return edges, interpolant, error, "local"
        except ValueError:
            if method == "local":
                raise
    lo, hi = _bracket(log_density, scale)
    edges = adaptive_pieces(log_density, lo, hi, k=GL_NODES, rtol=ADAPTIVE_RTOL)
    return edges, None, ADAPTIVE_RTOL, "adaptive"


def _backend_log_likelihood(data: DecayData, kind: str, backend: str):
    """Return the summed log likelihood of ``alpha`` computed by ``backend``."""
    if backend == "numpy":
        return _log_likelihood(data, kind)
    y, sigma, t1 = (np.asarray(v, dtype=float) for v in (data.n_measured, data.sigma,
                                                         data.t_measured))
    days = ({"t0": np.asarray(data.t0, dtype=float)} if kind == "known" else
            {"day_start": np.asarray(data.day_start, dtype=float),
             "day_end": np.asarray(data.day_end, dtype=float)})
    log_n0_max = float(np.log(data.n0_max))
    if backend == "numba":
        from pymc_hier.decay.block_kernels import block_log_likelihood

        return block_log_likelihood(y, sigma, t1, log_n0_max, **days)
    from pymc_hier.decay.exact_jax import JaxLogLikelihood

    return JaxLogLikelihood(y, sigma, t1, log_n0_max, **days)
