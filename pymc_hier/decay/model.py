"""The radioactive-widget decay model: :func:`decay_model`.

Widget ``i`` was made at ``t0_i`` (inside its manufacture day) with ``N0_i ~ U(0, N0_max)``
of material and measured once, at ``t1_i``::

    n_measured_i ~ Normal(N0_i * exp(-alpha * (t1_i - t0_i)), sigma_i)

Choices that make NUTS fast and correct from PyMC's default initial point:

- **alpha on a dimensionless log scale.** ``alpha`` keeps the user's prior (in the data's
  time unit) but is sampled as ``log(alpha * T)`` (:class:`ScaledLogTransform`), ``T`` the
  mean time from the middle of the manufacture day to the measurement, and starts at
  ``alpha * T = 1``. The lecture's Stan program starts at ``alpha ~ 1 / s``, where every
  widget has decayed to nothing, the likelihood is flat and alpha drifts off to infinity.
- **t0 on a probit scale** (``t0="latent"``): ``t0 = start + (end - start) Phi(z)``
  (:class:`ProbitIntervalTransform`), so the uniform prior is a standard normal in the
  sampler's coordinates, where the data barely inform most manufacture times.
- **N0 integrated out** (``n0="marginal"``): the amount at ``t1`` is uniform on
  ``[0, A_i]``, ``A_i = N0_max exp(-alpha dt_i)``, so the measurement's density is that
  uniform convolved with the noise (:func:`~pymc_hier.decay.ops.log_uniform_normal_pdf`,
  stable at every extreme). :func:`postprocess_posterior` then adds exact conditional
  ``N0`` draws.
- **N0 sampled through its conditional rank** (``n0="latent"``): the amount at ``t1``,
  ``N1_i ~ U(0, A_i)``, is the free variable (``N0 = N1 exp(alpha dt)`` is deterministic)
  and is sampled as the log-odds of its conditional CDF given ``y_i``
  (:class:`AmountRankTransform`). The lecture's joint density is unchanged, but the
  per-widget coordinates become independent logistic variables, so the curved ridge that
  couples ``N0_i`` to ``alpha`` (and made the naive port diverge or mix badly) is gone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from pymc_hier.decay.data import DecayData
from pymc_hier.decay.draws import draw_widgets
from pymc_hier.decay.exact import decay_posterior
from pymc_hier.decay.likelihood import log_day_marginal_pdf
from pymc_hier.decay.ops import log_uniform_normal_pdf
from pymc_hier.decay.pilot import skew_log_map
from pymc_hier.decay.problem import (
    N0_OPTIONS,
    T0_OPTIONS,
    check_alpha_prior,
    check_consistent,
    check_option,
    default_priors,
    time_scale,
)
from pymc_hier.decay.transforms import (
    AmountRankTransform,
    ProbitIntervalTransform,
    ScaledLogTransform,
    SkewLogTransform,
)
from pymc_hier.diagnostics import SKIP_ATTR
from pymc_hier.family import (
    ModelSpec,
    current_data,
    current_priors,
    finish_model,
    get_spec,
    prior_variable,
)
from pymc_hier.priors import resolve_priors

__all__ = ["decay_model", "exact_posterior", "exact_variables", "postprocess_posterior"]

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


def _amount_logp(value, log_upper):
    # U(0, A) density; the rank transform keeps values inside, so the bound check only
    # guards direct evaluations (with room for rounding at the upper end).
    inside = (value >= 0) & (value <= pt.exp(log_upper) * (1.0 + 1e-12))
    return pt.switch(inside, -log_upper, -np.inf)


def _amount_dist(log_upper, size):
    return pm.Uniform.dist(0.0, pt.exp(log_upper), size=size)


def _amount_support_point(rv, size, log_upper, *, transform):
    # the conditional median given the measurement: rank 0 on the sampler's scale
    return transform.backward(pt.zeros_like(log_upper), log_upper)


def _widget_likelihood(n0, decay, n0_max, sigma, y):
    """Add the measurement (and, for ``n0="latent"``, the amounts) given ``alpha * dt``."""
    log_upper = pt.log(n0_max) - decay
    if n0 == "marginal":
        pm.CustomDist("n_measured", log_upper, sigma, logp=_marginal_logp,
                      dist=_marginal_dist, observed=y, dims="widget")
        return
    rank = AmountRankTransform(y, sigma)
    amount = pm.CustomDist(
        "N1", log_upper, logp=_amount_logp, dist=_amount_dist,
        support_point=functools.partial(_amount_support_point, transform=rank),
        transform=rank, default_transform=None, dims="widget",
    )
    # N0 = N1 exp(alpha dt) = N0_max * N1 / A, written so that it never forms 0 * inf (a
    # prior draw with alpha * dt > 745 underflows N1 to 0 and reports N0 = 0)
    fraction = pt.exp(pt.minimum(pt.log(amount) - log_upper, 0.0))
    pm.Deterministic("N0", n0_max * fraction, dims="widget")
    pm.Normal("n_measured", mu=amount, sigma=sigma, observed=y, dims="widget")


def decay_model(data: DecayData, *, t0: str = "latent", n0: str = "marginal", priors=None,
                pgm=None, hyper_data: bool = False) -> pm.Model:
    """Build the decay model for radioactive widgets.

    Parameters
    ----------
    data : DecayData
        One measurement per widget with its manufacture window; ``time_unit`` sets the
        unit of ``alpha`` (per that unit).
    t0 : {"latent", "known", "marginal"}, default "latent"
        ``"latent"``: ``t0_i ~ Uniform(day_start_i, day_end_i)``; ``"known"``: the exact
        manufacture times ``data.t0`` (then required); ``"marginal"`` (with
        ``n0="marginal"``): each ``t0_i`` integrated over its day by piecewise
        Gauss-Legendre quadrature, leaving ``alpha`` as the only free variable (for many
        widgets: the cost of a gradient grows linearly with their number; exact ``t0`` and
        ``N0`` draws are added after sampling).
    n0 : {"marginal", "latent"}, default "marginal"
        ``"marginal"``: ``N0`` integrated out in closed form (exact ``N0`` draws are added
        after sampling by :func:`postprocess_posterior`); ``"latent"``: ``N0`` sampled by
        NUTS (as ``N1``, the amount at the measurement, through its conditional rank).
    priors : mapping, optional
        ``{"alpha": Prior(...)}`` in the data's time unit; any prior on ``alpha >= 0``
        (``Prior("HalfFlat")`` reproduces the lecture). Default: :func:`default_priors`.
    pgm : str or path, optional
        Path prefix to export the model's PGM to.
    hyper_data : bool, default False
        Register prior hyperparameters as ``pm.Data`` (for prior sweeps).

    Returns
    -------
    pymc.Model
        Dims ``widget``; fixed inputs as ``pm.Data`` (``t_measured``, ``sigma``,
        ``n0_max``, and ``day_start``/``day_end`` or ``t0``); variables ``alpha`` (per
        ``data.time_unit``), ``t0`` (``t0="latent"``), ``N1`` and ``N0``
        (``n0="latent"``) and the observed ``n_measured``. When ``alpha`` is the only free
        variable it is sampled in pilot-standardised coordinates
        (:mod:`pymc_hier.decay.pilot`) and starts at the pilot's mode; otherwise it
        starts at ``alpha * T = 1``.

    Raises
    ------
    ValueError
        For an unknown option, ``t0="known"`` without ``data.t0``, a prior on ``alpha``
        that allows negative rates, an unknown prior name, or data the model cannot produce
        (see :func:`check_consistent`).

    Notes
    -----
    Posterior predictive draws of ``n_measured`` from the ``n0="marginal"`` model are for
    a *new* initial amount at each widget's times (the "mixed" predictive); the
    ``n0="latent"`` model replicates the measurement of the fitted amount.

    Examples
    --------
    >>> import pymc_hier as ph
    >>> model = ph.decay_model(ph.simulate_decay(), t0="latent", n0="marginal")
    >>> sorted(v.name for v in model.free_RVs)
    ['alpha', 't0']
    """
    if not isinstance(data, DecayData):
        raise ValueError(f"data: expected a DecayData, got {type(data).__name__}")
    check_option("t0", t0, T0_OPTIONS)
    check_option("n0", n0, N0_OPTIONS)
    if t0 == "known" and not data.has_t0:
        raise ValueError("t0: 'known' needs exact manufacture times, but data.t0 is None "
                         "(use t0='latent' to infer them within their days)")
    if t0 == "marginal" and n0 != "marginal":
        raise ValueError("t0: 'marginal' integrates N0 out as well; it needs n0='marginal', "
                         f"got n0={n0!r}")
    priors = resolve_priors(priors, default_priors(data), factory="decay_model")
    lower, upper = check_alpha_prior(priors["alpha"])
    check_consistent(data)

    scale = time_scale(data)
    alpha_kwargs = {}
    if lower == 0 and upper == np.inf:
        alpha_kwargs = {"transform": ScaledLogTransform(scale), "default_transform": None,
                        "initval": 1.0 / scale}
        one_dim = n0 == "marginal" and t0 in ("known", "marginal")
        pilot = skew_log_map(data, priors["alpha"], scale, t0=t0) if one_dim else None
        if pilot is not None:
            alpha_kwargs = {"transform": SkewLogTransform(*pilot), "default_transform": None,
                            "initval": float(np.exp(pilot[0]))}
    y = np.asarray(data.n_measured, dtype=float)
    with pm.Model(coords={"widget": np.asarray(data.widget)}) as model:
        t_measured = pm.Data("t_measured", data.t_measured, dims="widget")
        sigma = pm.Data("sigma", data.sigma, dims="widget")
        n0_max = pm.Data("n0_max", data.n0_max)
        alpha = prior_variable("alpha", priors["alpha"], hyper_data=hyper_data, **alpha_kwargs)
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
                t_made = pm.Uniform("t0", lower=start, upper=end, dims="widget",
                                    transform=ProbitIntervalTransform(start, end),
                                    default_transform=None)
            _widget_likelihood(n0, alpha * (t_measured - t_made), n0_max, sigma, y)
    spec = ModelSpec(factory="decay_model", options={"t0": t0, "n0": n0}, priors=priors,
                     data=data)
    return finish_model(model, spec, pgm=pgm)


def exact_posterior(model: pm.Model, *, hyper: Mapping | None = None, **kwargs):
    """Return the exact posterior of a :func:`decay_model` model (``fit(sampler="exact")``).

    Every ``(t0, n0)`` variant has the same posterior: that of ``t0="known"`` or of a latent
    ``t0`` (``"latent"``/``"marginal"``). The model's current ``n0_max`` and prior
    hyperparameters are used (``pm.set_data`` may have changed them).

    Parameters
    ----------
    model : pymc.Model
        Built by :func:`decay_model`.
    hyper : mapping, optional
        Values of the model's ``pm.Data`` (``"n0_max"``, ``"alpha__beta"``) to use instead
        of the current ones; the model is not modified.
    **kwargs
        Passed to :func:`pymc_hier.exact.decay_posterior` (``method``).

    Returns
    -------
    pymc_hier.exact.DecayPosterior
    """
    spec = get_spec(model)
    data = spec.data
    n0_max = float(current_data(model, "n0_max", hyper))
    if n0_max != data.n0_max:
        data = data._replace(n0_max=n0_max)
    t0 = "known" if spec.options["t0"] == "known" else "latent"
    return decay_posterior(data, t0=t0, prior=current_priors(model, spec, hyper)["alpha"],
                           **kwargs)


def exact_variables(model: pm.Model) -> tuple[str, ...]:
    """Posterior variables of :func:`exact_posterior`'s draws for ``model``."""
    t0 = get_spec(model).options["t0"]
    return ("alpha", "N0") if t0 == "known" else ("alpha", "t0", "N0")


def postprocess_posterior(idata, model: pm.Model, *, random_seed):
    """Label the decay rate's unit and add exact ``N0`` draws to a marginal fit.

    Called by :func:`pymc_hier.fit` after sampling. Sets ``units`` attrs (``alpha`` per
    the data's time unit, ``t0`` in it) and, for ``n0="marginal"``, draws every widget's
    ``N0`` from its exact conditional given each posterior draw of ``alpha`` and ``t0``:
    the amount at measurement is ``Normal(y, sigma)`` truncated to ``[0, A]``,
    ``A = N0_max exp(-alpha dt)``, and ``N0 = amount * exp(alpha dt)``.

    Parameters
    ----------
    idata : xarray.DataTree
        The sampler's result, with ``alpha`` (and ``t0``) in its ``posterior`` group.
    model : pymc.Model
        The model that was fitted (built by :func:`decay_model`).
    random_seed : int or numpy.random.Generator
        Seed of the conditional draws.

    Returns
    -------
    xarray.DataTree
        ``idata`` with ``N0`` (dims chain, draw, widget; and ``t0`` for ``t0="marginal"``)
        in its posterior and units set. Draws added here are left out of
        :func:`pymc_hier.fit`'s diagnostics (attr ``pymc_hier_diagnostics="skip"``): they
        are exact given ``alpha`` (and ``t0``), whose R-hat and ESS are checked.
    """
    import xarray as xr

    spec = get_spec(model)
    if spec is None or spec.factory != "decay_model":
        return idata
    unit = spec.data.time_unit
    post = idata["posterior"].to_dataset()
    if spec.options["n0"] == "marginal" and "N0" not in post:
        rng = np.random.default_rng(random_seed)
        shape = post["alpha"].shape
        alpha = post["alpha"].values.ravel()
        widget = {"widget": np.asarray(model.coords["widget"])}
        t1, sigma = (np.asarray(model[k].get_value(), dtype=float) for k in ("t_measured", "sigma"))
        log_n0_max = float(np.log(model["n0_max"].get_value()))
        if spec.options["t0"] == "marginal":
            days = {k: np.asarray(model[k].get_value(), dtype=float)
                    for k in ("day_start", "day_end")}
        elif "t0" in post:
            days = {"t0": post["t0"].values.reshape(alpha.size, -1)}
        else:
            days = {"t0": np.asarray(model["t0"].get_value(), dtype=float)}
        t_made, n0_draws = draw_widgets(np.asarray(spec.data.n_measured, dtype=float), sigma,
                                        t1, log_n0_max, alpha, rng, **days)
        if spec.options["t0"] == "marginal":
            post["t0"] = xr.DataArray(
                t_made.reshape(shape + (-1,)), dims=("chain", "draw", "widget"), coords=widget,
                attrs={"method": "exact conditional draw given alpha and the measurement "
                                 "(t0='marginal')", SKIP_ATTR: "skip"})
        post["N0"] = xr.DataArray(
            n0_draws.reshape(shape + (-1,)), dims=("chain", "draw", "widget"), coords=widget,
            attrs={"method": "exact conditional draw given alpha, t0 and the measurement "
                             "(n0='marginal')", SKIP_ATTR: "skip"},
        )
    post["alpha"].attrs.update(units=f"1/{unit}", long_name="decay rate")
    if "t0" in post:
        post["t0"].attrs.update(units=unit, long_name="manufacture time")
    if "N0" in post:
        post["N0"].attrs.update(long_name="initial amount")
    idata["posterior"] = post
    return idata
