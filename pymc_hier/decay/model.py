"""The radioactive-widget decay model: :func:`decay_model`.

Widget ``i`` was made at ``t0_i`` (inside its manufacture day) with ``N0_i ~ U(0, N0_max)``
of material and measured once, at ``t1_i``::

    n_measured_i ~ Normal(N0_i * exp(-alpha * (t1_i - t0_i)), sigma_i)

Choices that make NUTS fast and correct from PyMC's default initial point:

- **alpha through its exact posterior's quantiles.** ``alpha`` keeps the user's prior (in
  the data's time unit) but is sampled as ``z`` with ``log alpha = g(z)``, ``g`` a smooth
  monotone map fitted to the quantile function of the exact marginal posterior
  (:class:`QuantileTransform`, :func:`pymc_hier.decay.pilot.quantile_map`; the same for
  every variant), and starts at the posterior median. NUTS meets a near standard normal,
  even when widgets measured near the most they could hold put a hard edge in the
  posterior of ``alpha`` (the cause of the divergences of a plain log scale). Where the
  exact posterior cannot be computed (an improper prior) ``alpha`` is sampled as
  ``log(alpha * T)`` (:class:`ScaledLogTransform`), ``T`` the mean time from the middle of
  the manufacture day to the measurement, starting at ``alpha * T = 1``.
- **t0 on a probit scale, knowing where the data rule it out** (``t0="latent"``): ``t0 =
  start + (end - start) Phi(z)`` (:class:`ProbitIntervalTransform`), so the uniform prior
  is a standard normal in the sampler's coordinates; for widgets whose data rule part of
  the day out sharply, ``t0`` maps from ``z`` through the CDF of an approximate
  conditional given ``alpha``: a logistic step where ``A(t0) = N0_max exp(-alpha (t1 -
  t0))`` crosses the measurement
  (:class:`~pymc_hier.decay.edges.EdgeTransform`, for the widgets whose edge is sharp and
  can fall in their day: :func:`~pymc_hier.decay.edges.edge_widgets`). The uniform prior is
  unchanged; in ``z`` the moving, sharp edge that made NUTS diverge is a standard normal
  tail.
- **N0 integrated out** (``n0="marginal"``): the amount at ``t1`` is uniform on
  ``[0, A_i]``, ``A_i = N0_max exp(-alpha dt_i)``, so the measurement's density is that
  uniform convolved with the noise (:func:`~pymc_hier.decay.ops.log_uniform_normal_pdf`,
  stable at every extreme). The family's post-processing
  (:func:`pymc_hier.decay.family.postprocess`) then adds exact conditional ``N0`` draws.
- **N0 sampled through its conditional rank** (``n0="latent"``): the amount at ``t1``,
  ``N1_i ~ U(0, A_i)``, is the free variable (``N0 = N1 exp(alpha dt)`` is deterministic)
  and is sampled as the probit of its conditional CDF given ``y_i``
  (:class:`AmountRankTransform`). The lecture's joint density is unchanged, but the
  per-widget coordinates become independent standard normal variables, so the curved ridge that
  couples ``N0_i`` to ``alpha`` (and made the naive port diverge or mix badly) is gone.
  In those coordinates the Jacobian and the measurement's density given the amount cancel
  analytically: the measurement enters through its density given ``A`` (as for
  ``n0="marginal"``; also its pointwise log-likelihood), the transform's ``log_jac_det``
  carries the rest in closed form, and the sampler never inverts the conditional CDF
  (only the stored ``N1`` and ``N0`` need it). Forward draws are the lecture's:
  ``N1 ~ U(0, A)``, ``n_measured ~ Normal(N1, sigma)``.
"""

from __future__ import annotations

import functools

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from pymc_hier.decay.data import DecayData
from pymc_hier.decay.edges import EdgeTransform, ProbitIntervalTransform, edge_widgets
from pymc_hier.decay.likelihood import log_day_marginal_pdf
from pymc_hier.decay.ops import log_uniform_normal_pdf
from pymc_hier.decay.pilot import quantile_map
from pymc_hier.decay.problem import (
    N0_OPTIONS,
    T0_OPTIONS,
    check_alpha_prior,
    check_consistent,
    check_option,
    time_scale,
)
from pymc_hier.decay.transforms import (
    AmountRankTransform,
    ScaledLogTransform,
)
from pymc_hier.quantile_map import QuantileTransform
from pymc_hier.spec import prior_variable

__all__ = ["build"]


def _marginal_logp(value, log_upper, sigma):
    return log_uniform_normal_pdf(value, sigma, log_upper)


def _marginal_dist(log_upper, sigma, size):
    # forward sampler: the amount at t1 is U(0, A), the measurement adds Normal noise
    amount = pm.Uniform.dist(0.0, pt.exp(log_upper), size=size)
    return amount + pm.Normal.dist(0.0, sigma, size=size)


def _day_marginal_logp(value, alpha, t_measured, start, end, sigma, log_n0_max):
    return log_day_marginal_pdf(value, sigma, t_measured, start, end, log_n0_max, alpha)


def _day_marginal_dist(alpha, t_measured, start, end, sigma, log_n0_max, size):
    # forward sampler: t0 uniform on its day, the amount at t1 uniform, then the noise
    t_made = pm.Uniform.dist(start, end, size=size)
    upper = pt.exp(log_n0_max - alpha * (t_measured - t_made))
    return pm.Uniform.dist(0.0, upper, size=size) + pm.Normal.dist(0.0, sigma, size=size)


def _amount_logp(value, log_upper, sigma):
    # U(0, A) density on its support, where the rank transform keeps the amount: no bound
    # check on the value, so that the sampler's density never needs the amount itself
    return -log_upper


def _measured_logp(value, amount, log_upper, sigma):
    # the measurement's density given A (the amount integrated out); the rank transform's
    # log_jac_det carries the rest of the joint density (AmountRankTransform)
    return log_uniform_normal_pdf(value, sigma, log_upper)


def _measured_dist(amount, log_upper, sigma, size):
    return pm.Normal.dist(amount, sigma, size=size)


def _amount_dist(log_upper, sigma, size):
    return pm.Uniform.dist(0.0, pt.exp(log_upper), size=size)


def _amount_support_point(rv, size, log_upper, sigma, *, transform):
    # the conditional median given the measurement: rank 0 on the sampler's scale
    return transform.backward(pt.zeros_like(log_upper), log_upper, sigma)


def _t0_logp(value, start, end, *sampler_inputs):
    # Uniform(start, end); the other inputs are for the transform only (see _latent_t0)
    return pm.logp(pm.Uniform.dist(start, end), value)


def _t0_dist(start, end, alpha, t_measured, log_n0_max, sigma, size):
    return pm.Uniform.dist(start, end, size=size)


def _t0_support_point(rv, size, *inputs, transform):
    # the median of the transform's approximate conditional: z = 0
    return transform.backward(pt.zeros_like(inputs[0]), *inputs)


def _latent_t0(alpha, start, end, t_measured, n0_max, sigma, y, edges):
    """``t0_i ~ Uniform(day_start_i, day_end_i)``, on a probit scale, edge-aware for ``edges``.

    Without edges a ``Uniform`` through :class:`ProbitIntervalTransform`. With some, the
    transform (:class:`EdgeTransform`) needs ``alpha`` (where the data forbid early
    manufacture depends on it) and the widgets' data, so they are parameters of the
    distribution, which ignores them: the prior is the same uniform one.
    """
    if not len(edges):
        return pm.Uniform("t0", lower=start, upper=end, dims="widget",
                          transform=ProbitIntervalTransform(), default_transform=None)
    transform = EdgeTransform(y, edges)
    return pm.CustomDist(
        "t0", start, end, alpha, t_measured, pt.log(n0_max), sigma, logp=_t0_logp,
        dist=_t0_dist, support_point=functools.partial(_t0_support_point, transform=transform),
        transform=transform, default_transform=None, dims="widget")


def _widget_likelihood(n0, decay, n0_max, sigma, y):
    """Add the measurement (and, for ``n0="latent"``, the amounts) given ``alpha * dt``."""
    log_upper = pt.log(n0_max) - decay
    if n0 == "marginal":
        pm.CustomDist("n_measured", log_upper, sigma, logp=_marginal_logp,
                      dist=_marginal_dist, observed=y, dims="widget")
        return
    # sigma is a parameter (which the density ignores) so that the transform reads the
    # model's own data: clone_model and pm.do copy it
    rank = AmountRankTransform(y)
    amount = pm.CustomDist(
        "N1", log_upper, sigma, logp=_amount_logp, dist=_amount_dist,
        support_point=functools.partial(_amount_support_point, transform=rank),
        transform=rank, default_transform=None, dims="widget",
    )
    # N0 = N1 exp(alpha dt) = N0_max * N1 / A, written so that it never forms 0 * inf (a
    # prior draw with alpha * dt > 745 underflows N1 to 0 and reports N0 = 0)
    fraction = pt.exp(pt.minimum(pt.log(amount) - log_upper, 0.0))
    pm.Deterministic("N0", n0_max * fraction, dims="widget")
    # drawn as Normal(N1, sigma); its density is the one given A (see _measured_logp)
    pm.CustomDist("n_measured", amount, log_upper, sigma, logp=_measured_logp,
                  dist=_measured_dist, observed=y, dims="widget")


def build(data: DecayData, *, priors, t0: str = "latent", n0: str = "marginal") -> pm.Model:
    """Build the decay model's PyMC graph (no spec; :func:`pymc_hier.decay_model` adds it).

    Parameters
    ----------
    data : DecayData
        The widgets.
    priors : mapping
        ``{"alpha": Prior}``, resolved.
    t0, n0 : str
        See :func:`pymc_hier.decay_model`.

    Returns
    -------
    pymc.Model
        Without initial values: where NUTS starts is
        :func:`pymc_hier.decay.family.initial_values`' choice, passed to the sampler.
    """
    check_option("t0", t0, T0_OPTIONS)
    check_option("n0", n0, N0_OPTIONS)
    if t0 == "known" and not data.has_t0:
        raise ValueError("t0: 'known' needs exact manufacture times, but data.t0 is None "
                         "(use t0='latent' to infer them within their days)")
    if t0 == "marginal" and n0 != "marginal":
        raise ValueError("t0: 'marginal' integrates N0 out as well; it needs n0='marginal', "
                         f"got n0={n0!r}")
    lower, upper = check_alpha_prior(priors["alpha"])
    check_consistent(data)

    scale = time_scale(data)
    alpha_kwargs, pilot = {}, None
    if lower == 0 and upper == np.inf:
        pilot = quantile_map(data, priors["alpha"], t0=t0)
        transform = ScaledLogTransform(scale) if pilot is None else QuantileTransform(*pilot)
        alpha_kwargs = {"transform": transform, "default_transform": None}
    # widgets whose t0 map knows their edge: where the exact posterior puts alpha, or anywhere
    alpha_range = (0.0, np.inf) if pilot is None else tuple(pilot[-1].quantile([1e-6, 1 - 1e-6]))
    edges = edge_widgets(data, alpha_range) if t0 == "latent" else None
    y = np.asarray(data.n_measured, dtype=float)
    with pm.Model(coords={"widget": np.asarray(data.widget)}) as model:
        t_measured = pm.Data("t_measured", data.t_measured, dims="widget")
        sigma = pm.Data("sigma", data.sigma, dims="widget")
        n0_max = pm.Data("n0_max", data.n0_max)
        alpha = prior_variable("alpha", priors["alpha"], **alpha_kwargs)
        if t0 == "known":
            t_made = pm.Data("t0", data.t0, dims="widget")
        else:
            start = pm.Data("day_start", data.day_start, dims="widget")
            end = pm.Data("day_end", data.day_end, dims="widget")
        if t0 == "marginal":
            pm.CustomDist("n_measured", alpha, t_measured, start, end, sigma, pt.log(n0_max),
                          logp=_day_marginal_logp, dist=_day_marginal_dist, observed=y,
                          dims="widget")
        else:
            if t0 == "latent":
                t_made = _latent_t0(alpha, start, end, t_measured, n0_max, sigma, y, edges)
            _widget_likelihood(n0, alpha * (t_measured - t_made), n0_max, sigma, y)
    return model


