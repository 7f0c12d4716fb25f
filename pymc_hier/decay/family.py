"""The decay family: :func:`decay_model` and the record :data:`DECAY` every tool reads.

The model as the lecture writes it (:func:`generative`), whatever the sampler's
parametrisation::

    alpha  ~ prior                                    (decay rate, per the data's time unit)
    N0_i   ~ Uniform(0, N0_max)                       (initial amount)
    t0_i   ~ Uniform(day_start_i, day_end_i)          (manufacture time; fixed if known)
    N̂1_i   ~ Normal(N0_i exp(-alpha (t1_i - t0_i)), sigma_i)   (the measurement)

With ``alpha="hierarchical"`` every widget has its own rate ``alpha_i``, ``log alpha_i ~
Normal(log mu_alpha, tau_alpha)`` (:mod:`pymc_hier.decay.hierarchical`): widgets of
different materials.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pymc as pm
import xarray as xr

from pymc_hier.decay.data import DecayData
from pymc_hier.decay.draws import draw_widgets
from pymc_hier.decay.exact import decay_posterior
from pymc_hier.decay.exact_partitioned import DECAY_PARTITIONED
from pymc_hier.decay.fused import sampler_logp
from pymc_hier.decay.hierarchical import (
    ALPHA_OPTIONS,
    adapt_priors,
    build_hierarchical,
    postprocess_hierarchical,
    rate_nodes,
)
from pymc_hier.decay.model import build
from pymc_hier.decay.predict import predict
from pymc_hier.decay.problem import (
    N0_OPTIONS,
    T0_MARGINAL_DEPRECATED,
    T0_OPTIONS,
    default_priors,
)
from pymc_hier.decay.simulate import simulate_decay
from pymc_hier.decay.transforms import ScaledLogTransform
from pymc_hier.diagnostics import SKIP_ATTR
from pymc_hier.exceptions import InvalidDrawsWarning
from pymc_hier.family import Derived, ModelFamily, Pooling
from pymc_hier.generative import GenerativeModel, Node, Symbol
from pymc_hier.quantile_map import QuantileTransform
from pymc_hier.spec import ModelSpec, current_data, current_priors

__all__ = ["DECAY", "decay_model", "derived", "exact_posterior", "generative", "postprocess",
           "truth", "warm_up"]


def decay_model(data: DecayData, *, t0: str = "latent", n0: str = "marginal", priors=None,
                pgm=None, alpha: str = "shared") -> pm.Model:
    """Build the decay model for radioactive widgets.

    Parameters
    ----------
    data : DecayData
        One measurement per widget with its manufacture window; ``time_unit`` sets the
        unit of ``alpha`` (per that unit).
    t0 : {"latent", "known", "marginal"}, default "latent"
        ``"latent"``: ``t0_i ~ Uniform(day_start_i, day_end_i)``; ``"known"``: the exact
        manufacture times ``data.t0`` (then required); ``"marginal"`` (with
        ``n0="marginal"``; deprecated, see Warns): each ``t0_i`` integrated over its day by
        piecewise Gauss-Legendre quadrature, leaving ``alpha`` as the only free variable
        (exact ``t0`` and ``N0`` draws are added after sampling).
    n0 : {"marginal", "latent"}, default "marginal"
        ``"marginal"``: ``N0`` integrated out in closed form (exact ``N0`` draws are added
        after sampling by :func:`pymc_hier.fit`); ``"latent"``: ``N0`` sampled by NUTS
        (as ``N1``, the amount at the measurement, through its conditional rank).
    priors : mapping, optional
        ``{"alpha": Prior(...)}`` in the data's time unit; any prior on ``alpha >= 0``
        (``Prior("HalfFlat")`` reproduces the lecture). Default:
        :func:`pymc_hier.decay.problem.default_priors`.
    pgm : str or path, optional
        Path prefix to export the model's PGM to.
    alpha : {"shared", "hierarchical"}, default "shared"
        ``"shared"``: one decay rate for every widget (the lecture: one material).
        ``"hierarchical"``: each widget its own rate, ``log alpha_i ~ Normal(log mu_alpha,
        tau_alpha)`` (widgets of different materials), with priors ``mu_alpha`` (default:
        the shared rate's) and ``tau_alpha`` (default ``HalfNormal(1)``); ``t0="latent"`` or
        ``"known"``; no exact posterior. See :mod:`pymc_hier.decay.hierarchical` and
        :func:`pymc_hier.compare_pooling`, which compares the two by cross-validation.

    Returns
    -------
    pymc.Model
        Dims ``widget``; fixed inputs as ``pm.Data`` (``t_measured``, ``sigma``,
        ``n0_max``, and ``day_start``/``day_end`` or ``t0``); variables ``alpha`` (per
        ``data.time_unit``), ``t0`` (``t0="latent"``), ``N1`` and ``N0``
        (``n0="latent"``) and the observed ``n_measured``. NUTS samples ``alpha`` through
        a map fitted to its exact marginal posterior and each latent ``t0`` through a map
        that knows where the data rule early manufacture out (:mod:`pymc_hier.decay.pilot`,
        :class:`~pymc_hier.decay.edges.EdgeTransform`); :func:`pymc_hier.fit`
        starts ``alpha`` at its posterior median (:func:`initial_values`).

    Raises
    ------
    TypeError
        For data that is not a :class:`~pymc_hier.DecayData`, or an unknown option.
    ValueError
        For an option value not accepted, ``t0="known"`` without ``data.t0``, a prior on
        ``alpha`` that allows negative rates, an unknown prior name, or data the model
        cannot produce (see :func:`pymc_hier.decay.problem.check_consistent`).

    Warns
    -----
    FutureWarning
        For ``t0="marginal"``, deprecated: it never pays (every gradient integrates each
        widget's day by quadrature); use ``t0="latent"`` with NUTS, or
        ``fit(model, sampler="exact")`` for many widgets
        (:data:`pymc_hier.decay.problem.T0_MARGINAL_DEPRECATED`).

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
    model = DECAY.make(data, priors=priors, pgm=pgm, factory="decay_model", t0=t0, n0=n0,
                       alpha=alpha)
    DECAY.warn_deprecated({"t0": t0, "n0": n0, "alpha": alpha}, stacklevel=2)
    return model


def _build(data: DecayData, *, priors, t0: str = "latent", n0: str = "marginal",
           alpha: str = "shared") -> pm.Model:
    if alpha == "hierarchical":
        return build_hierarchical(data, priors=priors, t0=t0, n0=n0)
    return build(data, priors=priors, t0=t0, n0=n0)


def exact_posterior(model: pm.Model, spec: ModelSpec, hyper: Mapping | None = None,
                    **kwargs):
    """Return the exact posterior of a decay model (``fit(sampler="exact")``).

    Every ``(t0, n0)`` variant has the same posterior: that of ``t0="known"`` or of a latent
    ``t0`` (``"latent"``/``"marginal"``). The model's current ``n0_max`` and prior
    hyperparameters are used (``pm.set_data`` may have changed them).

    Parameters
    ----------
    model : pymc.Model
        Built by :func:`decay_model`.
    spec : ModelSpec
        Its spec.
    hyper : mapping, optional
        Values of the model's ``pm.Data`` (``"n0_max"``, ``"alpha__beta"``) to use instead
        of the current ones; the model is not modified.
    **kwargs
        Passed to :func:`pymc_hier.decay_posterior` (``method``).

    Returns
    -------
    pymc_hier.exact.DecayPosterior

    Raises
    ------
    ValueError
        For ``alpha="hierarchical"``, whose posterior has no one-dimensional reduction.
    """
    if spec.options["alpha"] == "hierarchical":
        raise ValueError("alpha: the decay model with one rate per widget "
                         "(alpha='hierarchical') has no exact posterior; sample it with NUTS")
    data = spec.data
    n0_max = float(current_data(model, "n0_max", hyper))
    if n0_max != data.n0_max:
        data = data._replace(n0_max=n0_max)
    t0 = "known" if spec.options["t0"] == "known" else "latent"
    prior = current_priors(model, spec, hyper)["alpha"]
    # the posterior the sampler's map of alpha was fitted to, when it still applies
    cached = getattr(model.rvs_to_transforms.get(model["alpha"]), "posterior", None)
    if (cached is not None and not kwargs and cached.data is data and cached.prior == prior
            and ("known" if cached.t0 == "known" else "latent") == t0):
        return cached
    return decay_posterior(data, t0=t0, prior=prior, **kwargs)


def postprocess(idata: xr.DataTree, model: pm.Model, spec: ModelSpec, *,
                random_seed) -> xr.DataTree:
    """Label the decay rate's unit and add exact ``N0`` draws to a marginal fit.

    Called by :func:`pymc_hier.fit` after sampling. Sets ``units`` attrs (``alpha`` per
    the data's time unit, ``t0`` in it) and, for ``n0="marginal"``, draws every widget's
    ``N0`` from its exact conditional given each posterior draw of ``alpha`` and ``t0``:
    the amount at measurement is ``Normal(y, sigma)`` truncated to ``[0, A]``,
    ``A = N0_max exp(-alpha dt)``, and ``N0 = amount * exp(alpha dt)``.

    The arguments are those of the family contract's ``postprocess``
    (:class:`pymc_hier.ModelFamily`): the sampler's result (with ``alpha`` (and ``t0``) in its
    ``posterior``), the fitted model, its spec and the seed of the conditional draws.

    Returns
    -------
    xarray.DataTree
        ``idata`` with ``N0`` (dims chain, draw, widget; and ``t0`` for ``t0="marginal"``)
        in its posterior and units set. Draws added here are left out of
        :func:`pymc_hier.fit`'s diagnostics (attr ``pymc_hier_diagnostics="skip"``): they
        are exact given ``alpha`` (and ``t0``), whose R-hat and ESS are checked.
    """
    unit = spec.data.time_unit
    post = idata["posterior"].to_dataset()
    hierarchical = spec.options["alpha"] == "hierarchical"
    if hierarchical:
        post = postprocess_hierarchical(post, model, spec,
                                        rng=np.random.default_rng(random_seed))
        post["mu_alpha"].attrs.update(units=f"1/{unit}", long_name="typical decay rate")
    elif spec.options["n0"] == "marginal" and "N0" not in post:
        rng = np.random.default_rng(random_seed)
        shape = post["alpha"].shape
        alpha = post["alpha"].values.ravel()
        widget = {"widget": np.asarray(model.coords["widget"])}
        t1, sigma = (np.asarray(model[k].get_value(), dtype=float)
                     for k in ("t_measured", "sigma"))
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
    if not hierarchical:
        _check_drift(post["alpha"].values, model, spec)
    post["alpha"].attrs.update(units=f"1/{unit}", long_name="decay rate")
    if "t0" in post:
        post["t0"].attrs.update(units=unit, long_name="manufacture time")
    if "N0" in post:
        post["N0"].attrs.update(long_name="initial amount")
    idata["posterior"] = post
    return idata


def warm_up(model: pm.Model, spec: ModelSpec) -> None:
    """Compile the exact draws :func:`postprocess` makes for this model, on one widget.

    The family contract's ``warm_up``: ``N0`` given ``alpha`` (and ``t0``) for
    ``n0="marginal"``, the ``(t0, N0)`` pairs for ``t0="marginal"``; nothing for the other
    variants. The kernels are Numba's, cached on disk (1.4 s of compile on two cores for
    ``N0``): compiled in ``pymc-hier run``'s second process, the fit loads them. The
    arrays have the types ``postprocess`` passes (C-ordered float64; ``t0`` one row per
    draw for latent ``t0``), so that the compiled signature is the one it calls.
    """
    if spec.options["alpha"] == "hierarchical" or spec.options["n0"] != "marginal":
        return
    one = np.ones(1)
    t0 = spec.options["t0"]
    days = ({"day_start": 0.0 * one, "day_end": one} if t0 == "marginal"
            else {"t0": np.zeros((1, 1)) if t0 == "latent" else np.zeros(1)})
    draw_widgets(one, one, 2.0 * one, 0.0, 0.1 * one, np.random.default_rng(0), **days)


#: ``log(A / sigma)`` below which a widget's likelihood no longer depends on ``alpha``.
_LOG_FLAT = float(np.log(1e-8))


def _check_drift(alpha: np.ndarray, model: pm.Model, spec: ModelSpec) -> None:
    """Warn when draws of ``alpha`` under an improper prior lie where the likelihood is flat.

    Once every widget has decayed far below its measurement error (``A_i < 1e-8 sigma_i``)
    faster decay changes nothing: with a flat prior the posterior is then improper and
    MCMC drifts off (the exact posterior refuses such a fit). A proper prior keeps such
    draws legitimate, so only improper priors are checked.
    """
    prior = spec.priors["alpha"]
    with np.errstate(all="ignore"):
        decays = bool(prior.logp(1e300) < prior.logp(1.0))
    if decays:
        return
    key = "t0" if spec.options["t0"] == "known" else "day_end"
    dt = (np.asarray(model["t_measured"].get_value(), dtype=float)
          - np.asarray(model[key].get_value(), dtype=float))
    log_ratio = (np.log(float(model["n0_max"].get_value()))
                 - np.log(np.asarray(model["sigma"].get_value(), dtype=float)))
    drifted = np.all(log_ratio - np.ravel(alpha)[:, None] * dt < _LOG_FLAT, axis=-1)
    if drifted.any():
        warnings.warn(
            f"alpha: {int(drifted.sum())} of {drifted.size} draws (up to "
            f"{float(np.max(alpha)):.3g} per {spec.data.time_unit}) lie where every widget "
            f"has decayed to nothing and the likelihood is flat; with {prior!r}, whose "
            "density does not decay, the posterior is improper (fit(sampler='exact') "
            "refuses it): use a proper prior on alpha", InvalidDrawsWarning, stacklevel=4)


def initial_values(model: pm.Model, spec: ModelSpec) -> dict[str, float]:
    """Where NUTS starts ``alpha``: its exact posterior median, or ``alpha * T = 1``.

    The median is ``z = 0`` of the map NUTS samples ``alpha`` through
    (:mod:`pymc_hier.decay.pilot`); without one (an improper posterior) ``alpha * T = 1``.
    The lecture's Stan program starts at ``alpha ~ 1 / s``, where every widget has decayed
    to nothing, the likelihood is flat and alpha drifts off to infinity; a prior's own
    starting point (1 for ``HalfFlat``) can be as bad. Other variables start at PyMC's
    default (the rank transform of latent amounts starts at the conditional median).
    """
    name = "mu_alpha" if spec.options["alpha"] == "hierarchical" else "alpha"
    transform = model.rvs_to_transforms.get(model[name])
    if isinstance(transform, QuantileTransform):
        return {name: transform.median()}
    if isinstance(transform, ScaledLogTransform):
        return {name: float(np.exp(-transform.log_scale))}
    return {}


def with_observed(data: DecayData, observed: Mapping) -> DecayData:
    """Return the widgets with simulated measurements ``observed["n_measured"]`` (no truth)."""
    return data._replace(n_measured=np.asarray(observed["n_measured"], dtype=float),
                         truth=None)


def internal(spec: ModelSpec) -> tuple[str, ...]:
    """Return the sampler's coordinates that are not model parameters.

    ``N1`` (the amount at measurement) of ``n0="latent"``; the standardised log rates
    ``alpha_z`` of ``alpha="hierarchical"``.
    """
    out = ("N1",) if spec.options["n0"] == "latent" else ()
    return out + (("alpha_z",) if spec.options["alpha"] == "hierarchical" else ())


def population(spec: ModelSpec) -> tuple[str, ...]:
    """``alpha``; ``mu_alpha`` and ``tau_alpha`` with one rate per widget."""
    if spec.options["alpha"] == "hierarchical":
        return ("mu_alpha", "tau_alpha")
    return ("alpha",)


def units(spec: ModelSpec) -> dict[str, str]:
    """Units by variable name (times in the data's time unit)."""
    unit = spec.data.time_unit
    days = {} if spec.options["t0"] == "known" else {"day_start": unit, "day_end": unit}
    rates = {"mu_alpha": f"1/{unit}"} if spec.options["alpha"] == "hierarchical" else {}
    return {"alpha": f"1/{unit}", "t0": unit, "t_measured": unit, **days, **rates}


def truth(spec: ModelSpec) -> dict[str, object]:
    """Return the simulation's true ``alpha``, ``N0`` and ``t0`` (:func:`simulate_decay`)."""
    known = spec.data.truth or {}
    names = {"alpha": "alpha", "n0": "N0", "t0": "t0"}
    if spec.options["alpha"] == "hierarchical":
        names["alpha"] = "mu_alpha"  # one material simulated: every rate is the typical one
    return {names[k]: v for k, v in known.items() if k in names}


def _half_life(posterior: xr.Dataset) -> xr.DataArray:
    return (np.log(2.0) / posterior["alpha"]).rename("half_life")


def _typical_half_life(posterior: xr.Dataset) -> xr.DataArray:
    return (np.log(2.0) / posterior["mu_alpha"]).rename("half_life")


def derived(spec: ModelSpec) -> tuple[Derived, ...]:
    """Return the half-life ``ln 2 / alpha`` (of the typical rate), in the data's time unit."""
    if spec.options["alpha"] == "hierarchical":
        return (Derived("half_life", _typical_half_life, description="typical half-life",
                        symbol=Symbol("t", ("½",)), unit=spec.data.time_unit,
                        expr="log(2) / mu_alpha"),)
    return (Derived("half_life", _half_life, description="half-life",
                    symbol=Symbol("t", ("½",)), unit=spec.data.time_unit,
                    expr="log(2) / alpha"),)


def _prior_params(prior) -> tuple[tuple[str, str], ...]:
    return tuple((k, repr(float(v)) if np.ndim(v) == 0 else str(v))
                 for k, v in prior.params.items())


def generative(spec: ModelSpec) -> GenerativeModel:
    """Describe the decay model as the lecture writes it, the same for every variant.

    ``t0`` is latent (uniform over its day) unless the manufacture times are known; ``N0``
    is always a latent uniform, whether the sampler integrates it out or not.
    """
    known = spec.options["t0"] == "known"
    unit = spec.data.time_unit
    w = ("widget",)
    if spec.options["alpha"] == "hierarchical":
        nodes = rate_nodes(spec, _prior_params)
    else:
        nodes = [Node("alpha", "latent", Symbol("α"), dist=spec.priors["alpha"].dist,
                      params=_prior_params(spec.priors["alpha"]), description="decay rate",
                      unit=f"1/{unit}")]
    nodes += [
        Node("n0_max", "fixed", Symbol("N", ("0", "max")), description="largest initial amount"),
        Node("N0", "latent", Symbol("N", ("0",)), dist="Uniform",
             params=(("lower", "0"), ("upper", "n0_max")), dims=w,
             description="initial amount"),
    ]
    if known:
        nodes.append(Node("t0", "fixed", Symbol("t", ("0",)), dims=w,
                          description="manufacture time", unit=unit))
    else:
        nodes += [
            Node("day_start", "fixed", Symbol("t", ("0", "min")), dims=w,
                 description="start of the manufacture day", unit=unit),
            Node("day_end", "fixed", Symbol("t", ("0", "max")), dims=w,
                 description="end of the manufacture day", unit=unit),
            Node("t0", "latent", Symbol("t", ("0",)), dist="Uniform",
                 params=(("lower", "day_start"), ("upper", "day_end")), dims=w,
                 description="manufacture time", unit=unit),
        ]
    nodes += [
        Node("t_measured", "fixed", Symbol("t", ("1",)), dims=w,
             description="measurement time", unit=unit),
        Node("sigma", "fixed", Symbol("σ"), dims=w, description="measurement error"),
        Node("n_measured", "observed", Symbol("N", ("1",), accent="hat"), dist="Normal",
             params=(("mu", "N0 * exp(-alpha * (t_measured - t0))"), ("sigma", "sigma")),
             dims=w, description="measured amount"),
    ]
    return GenerativeModel(tuple(nodes), dim_names={"widget": "widget"},
                           index_letters={"widget": "i"})


#: The decay family (:func:`decay_model`).
DECAY = ModelFamily(
    name="decay",
    build=_build,
    data_type=DecayData,
    options={"t0": T0_OPTIONS, "n0": N0_OPTIONS, "alpha": ALPHA_OPTIONS},
    default_priors=default_priors,
    adapt_priors=adapt_priors,
    population=population,
    internal=internal,
    exact_posterior=exact_posterior,
    exact_partitioned=DECAY_PARTITIONED,
    postprocess=postprocess,
    generative=generative,
    initial_values=initial_values,
    units=units,
    truth=truth,
    derived=derived,
    group_dim="widget",
    with_observed=with_observed,
    example_data=simulate_decay,
    default_sweep=("n0_max", (8.0, 9.0, 10.0, 12.0, 15.0)),
    cli_name="decay",
    summary="radioactive widgets: one decay rate, per-widget initial amount and "
            "manufacture time, one noisy measurement each",
    pooling=Pooling("alpha", {"complete": {"alpha": "shared"},
                              "partial": {"alpha": "hierarchical"}}),
    predict=predict,
    sampler_logp=sampler_logp,
    warm_up=warm_up,
    deprecated={"t0": {"marginal": T0_MARGINAL_DEPRECATED}},
)
