"""The hierarchical normal family: its factories and the records every tool reads.

The model as written (:func:`generative`), whatever the parametrisation::

    mu, tau   ~ priors
    theta_j   ~ Normal(mu, tau)          (each group's effect; theta_new for a new group)
    y_j       ~ Normal(theta_j, sigma_j) (the estimate, with its known standard error)

Option ``pooling`` builds the two ends of the spectrum beside this hierarchy
(:func:`pymc_hier.compare_pooling`): ``"complete"`` (``theta_j = mu``) and ``"none"``
(independent ``theta_j``).

:data:`HIERARCHICAL_NORMAL` is the family of any number of groups;
:data:`EIGHT_SCHOOLS_FAMILY` is the same family with the eight schools as example data
(``pymc-hier run schools``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pymc as pm
import xarray as xr

from pymc_hier.diagnostics import SKIP_ATTR
from pymc_hier.family import ModelFamily, Pooling
from pymc_hier.generative import GenerativeModel, Node, Symbol
from pymc_hier.normal.data import EIGHT_SCHOOLS, SchoolsData
from pymc_hier.normal.exact import hierarchical_normal_posterior
from pymc_hier.normal.exact_partitioned import NORMAL_PARTITIONED
from pymc_hier.normal.kernels import THETA_STORAGE, draw_theta
from pymc_hier.normal.model import build
from pymc_hier.normal.pooled import exact_logo, pooled_posterior, resolve_options
from pymc_hier.normal.predict import predict
from pymc_hier.normal.problem import (
    AUTO,
    PARAMETRIZATIONS,
    POOLING,
    SCALABLE_PARAMETRIZATIONS,
    as_schools_data,
    resolve_schools_priors,
)
from pymc_hier.quantile_map import QuantileTransform
from pymc_hier.spec import ModelSpec, current_priors

__all__ = [
    "EIGHT_SCHOOLS_FAMILY",
    "HIERARCHICAL_NORMAL",
    "eight_schools_model",
    "exact_posterior",
    "generative",
    "hierarchical_normal_model",
    "postprocess",
]


def hierarchical_normal_model(data, *, priors=None, pgm=None,
                              parametrization: str = "noncentered",
                              theta_storage: str = "float64", pooling: str = "partial",
                              centered=None) -> pm.Model:
    """Build the hierarchical normal model for groups with known standard errors.

    Parameters
    ----------
    data : SchoolsData or mapping or DataFrame or Dataset
        Estimates ``y`` and standard errors ``sigma``, one per group (see
        :func:`pymc_hier.normal.problem.as_schools_data`). The group dimension is ``data.dim``.
    priors : str or mapping, optional
        A preset name, ``"default"`` (mu ~ Normal(0, 5), tau ~ HalfCauchy(5)) or ``"bda"``
        (p(mu, tau) ∝ 1), or a mapping of :class:`~pymc_hier.Prior` by parameter (``mu``,
        ``tau``; ``mu`` only for complete pooling, ``theta`` for none) merged into the
        default preset.
    pgm : str or path, optional
        Path prefix to export the model's PGM to.
    parametrization : {"noncentered", "noncentered_standard", "centered", "marginal", "auto"}
        ``"noncentered"`` (default) samples ``theta_scaled``, effects rescaled by their
        conditional posterior sd; ``"noncentered_standard"`` samples the textbook
        ``theta_tilde ~ Normal(0, 1)``; ``"centered"`` samples ``theta`` directly and is
        offered for teaching: its funnel makes NUTS diverge on weak data. All three define
        the same posterior (see the module docstring). ``"marginal"`` integrates ``theta``
        out and samples only ``mu`` and ``tau`` (for 10**5 groups and more); ``theta`` and
        ``theta_new`` are then drawn exactly by :func:`pymc_hier.fit` (:func:`postprocess`).
    theta_storage : {"float64", "float32", "none"}
        With ``parametrization="marginal"`` only: dtype of the ``theta`` draws added after
        sampling, or ``"none"`` to add only ``theta_new`` (chains x draws x groups values
        otherwise).
    pooling : {"partial", "complete", "none"}
        ``"partial"`` (default): the hierarchy. ``"complete"``: one effect shared by every
        group, ``theta_j = mu`` (a deterministic). ``"none"``: independent effects, each
        with the prior ``theta`` (by default the prior on ``mu`` ten times wider, flat for
        the ``"bda"`` preset). Both have an exact posterior (conjugate normal).
    centered : list of str, optional
        With ``parametrization="auto"``: the groups sampled centred. By default they are
        chosen from the data: those whose standard error is below the posterior median
        of ``tau`` (:func:`pymc_hier.normal.problem.centered_groups`); the choice is
        recorded here (``get_spec(model).options["centered"]``, a fit's provenance).

    Returns
    -------
    pymc.Model
        With free variables ``mu``, ``tau`` and the effects, deterministic or free
        ``theta`` (dim ``data.dim``) and ``theta_new``, fixed data ``sigma`` and observed
        ``y``; the marginal form has only ``mu`` and ``tau`` (``theta`` and ``theta_new``
        come from :func:`postprocess`).

    Raises
    ------
    TypeError
        For data of another kind, or an unknown option.
    ValueError
        For invalid data, an unknown preset, parametrization or theta_storage (or
        theta_storage set without ``parametrization="marginal"``), a tau prior that allows
        tau <= 0, or flat priors that give an improper posterior for this many groups.

    Warns
    -----
    PriorDominatedWarning
        With a single group: the data then say (almost) nothing about tau.

    Examples
    --------
    >>> from pymc_hier import EIGHT_SCHOOLS, hierarchical_normal_model
    >>> model = hierarchical_normal_model(EIGHT_SCHOOLS, priors="bda")
    >>> sorted(v.name for v in model.free_RVs)
    ['mu', 'tau', 'theta_new_tilde', 'theta_scaled']
    """
    return HIERARCHICAL_NORMAL.make(as_schools_data(data), priors=priors, pgm=pgm,
                                    factory="hierarchical_normal_model",
                                    parametrization=parametrization,
                                    theta_storage=theta_storage, pooling=pooling,
                                    centered=centered)


def eight_schools_model(data=EIGHT_SCHOOLS, *, priors=None, pgm=None,
                        parametrization: str = "noncentered",
                        theta_storage: str = "float64", pooling: str = "partial",
                        centered=None) -> pm.Model:
    """Build the eight-schools model (BDA section 5.5); see :func:`hierarchical_normal_model`.

    Parameters
    ----------
    data : SchoolsData, default EIGHT_SCHOOLS
        The table of estimated coaching effects and standard errors.
    priors, pgm, parametrization, theta_storage, pooling, centered
        As for :func:`hierarchical_normal_model`.

    Returns
    -------
    pymc.Model
    """
    return EIGHT_SCHOOLS_FAMILY.make(as_schools_data(data), priors=priors, pgm=pgm,
                                     factory="eight_schools_model",
                                     parametrization=parametrization,
                                     theta_storage=theta_storage, pooling=pooling,
                                     centered=centered)


def exact_posterior(model: pm.Model, spec: ModelSpec, hyper: Mapping | None = None,
                    **kwargs):
    """Return the exact posterior of a hierarchical normal model (``fit(sampler="exact")``).

    Every parametrization has the same posterior; the model's current prior
    hyperparameters are used (``pm.set_data`` may have changed them), and draws of
    ``theta`` are stored as the model's ``theta_storage`` says.

    Parameters
    ----------
    model : pymc.Model
        Built by :func:`hierarchical_normal_model` or :func:`eight_schools_model`.
    spec : ModelSpec
        Its spec.
    hyper : mapping, optional
        Values of the model's prior hyperparameters held as ``pm.Data`` (``"tau__beta"``)
        to use instead of the current ones; the model is not modified.
    **kwargs
        Passed to :func:`pymc_hier.hierarchical_normal_posterior` (``grid_size``).

    Returns
    -------
    pymc_hier.exact.HierarchicalNormalPosterior or pymc_hier.normal.pooled.PooledNormalPosterior
        The latter for complete and no pooling (conjugate normal).
    """
    priors = current_priors(model, spec, hyper)
    if spec.options["pooling"] != "partial":
        return pooled_posterior(spec.data, priors, spec.options["pooling"])
    post = hierarchical_normal_posterior(spec.data, priors=priors, **kwargs)
    post.theta_storage = spec.options["theta_storage"]
    return post


def postprocess(idata: xr.DataTree, model: pm.Model, spec: ModelSpec, *,
                random_seed) -> xr.DataTree:
    """Add exact ``theta`` and ``theta_new`` draws to a fit of the marginal form.

    Called by :func:`pymc_hier.fit` after sampling. For ``parametrization="marginal"`` it
    draws, for every posterior draw of ``(mu, tau)``, ``theta_j`` from its normal
    conditional given ``mu``, ``tau`` and ``y_j`` (unless ``theta_storage="none"``) and
    ``theta_new ~ Normal(mu, tau)``; the other forms already carry them and are returned
    unchanged.

    The arguments are those of the family contract's ``postprocess``
    (:class:`pymc_hier.ModelFamily`): the sampler's result (with ``mu`` and ``tau`` in its
    ``posterior``), the fitted model, its spec and the seed of the conditional draws.

    Returns
    -------
    xarray.DataTree
        ``idata`` with ``theta`` (dims chain, draw, group dim; dtype ``theta_storage``)
        and ``theta_new`` added to its ``posterior``. ``theta`` is left out of
        :func:`pymc_hier.fit`'s diagnostics (attr ``pymc_hier_diagnostics="skip"``): its
        draws are exact given ``(mu, tau)``, whose R-hat and ESS are checked.
    """
    if spec.options["parametrization"] not in SCALABLE_PARAMETRIZATIONS \
            or spec.options["pooling"] != "partial":
        return idata
    rng = np.random.default_rng(random_seed)
    post = idata["posterior"].to_dataset()
    mu, tau = post["mu"], post["tau"]
    data = spec.data
    sigma = np.asarray(model["sigma"].get_value(), dtype=float)
    storage = spec.options["theta_storage"]
    note = "exact conditional draw given mu, tau and y (parametrization='marginal')"
    theta_new = mu + tau * rng.standard_normal(mu.shape)
    post["theta_new"] = theta_new.assign_attrs(method="Normal(mu, tau) given each draw")
    if storage != "none":
        values = draw_theta(mu.values, tau.values, np.asarray(data.y, dtype=float), sigma,
                            rng=rng, dtype=storage)
        post["theta"] = xr.DataArray(values, dims=(*mu.dims, data.dim),
                                     coords={**mu.coords, data.dim: list(data.names)},
                                     attrs={"method": note, SKIP_ATTR: "skip"})
    idata["posterior"] = xr.DataTree(post)
    return idata


def with_observed(data: SchoolsData, observed: Mapping) -> SchoolsData:
    """Return the groups with simulated estimates ``observed["y"]`` (errors kept)."""
    return SchoolsData(y=np.asarray(observed["y"], dtype=float), sigma=data.sigma,
                       names=data.names, dim=data.dim)


def initial_values(model: pm.Model, spec: ModelSpec) -> dict[str, float]:
    """Where NUTS starts ``tau``: its exact posterior median (``z = 0`` of its map)."""
    if "tau" not in model.named_vars:  # complete or no pooling
        return {}
    transform = model.rvs_to_transforms.get(model["tau"])
    return {"tau": transform.median()} if isinstance(transform, QuantileTransform) else {}


def internal(spec: ModelSpec) -> tuple[str, ...]:
    """Sampler coordinates of the non-centred forms: not part of the model as written."""
    if spec.options["pooling"] != "partial":
        return ()
    return {"noncentered": ("theta_scaled", "theta_new_tilde"),
            "noncentered_standard": ("theta_tilde", "theta_new_tilde"),
            AUTO: ("theta_raw", "theta_new_tilde")}.get(spec.options["parametrization"], ())


def population(spec: ModelSpec) -> tuple[str, ...]:
    """``mu`` and ``tau``; ``mu`` alone for complete pooling, none without pooling."""
    return {"partial": ("mu", "tau"), "complete": ("mu",), "none": ()}[spec.options["pooling"]]


def _prior_params(prior) -> tuple[tuple[str, str], ...]:
    return tuple((k, repr(float(v)) if np.ndim(v) == 0 else str(v))
                 for k, v in prior.params.items())


def generative(spec: ModelSpec) -> GenerativeModel:
    """Describe the hierarchical normal model as written, the same for every parametrization."""
    dim = spec.data.dim
    g = (dim,)
    pooling = spec.options["pooling"]
    if pooling != "partial":
        return _pooled_generative(spec, pooling)
    nodes = (
        Node("mu", "latent", Symbol("μ"), dist=spec.priors["mu"].dist,
             params=_prior_params(spec.priors["mu"]), description="population mean"),
        Node("tau", "latent", Symbol("τ"), dist=spec.priors["tau"].dist,
             params=_prior_params(spec.priors["tau"]), description="population scale"),
        Node("theta", "latent", Symbol("θ"), dist="Normal",
             params=(("mu", "mu"), ("sigma", "tau")), dims=g, description="group effect"),
        Node("sigma", "fixed", Symbol("σ"), dims=g, description="standard error"),
        Node("y", "observed", Symbol("y"), dist="Normal",
             params=(("mu", "theta"), ("sigma", "sigma")), dims=g, description="estimate"),
        Node("theta_new", "latent", Symbol("θ", ("new",)), dist="Normal",
             params=(("mu", "mu"), ("sigma", "tau")), description="a new group's effect"),
    )
    return GenerativeModel(nodes, dim_names={dim: dim}, index_letters={dim: "j"})


def _pooled_generative(spec: ModelSpec, pooling: str) -> GenerativeModel:
    dim = spec.data.dim
    g = (dim,)
    if pooling == "complete":
        top = (Node("mu", "latent", Symbol("μ"), dist=spec.priors["mu"].dist,
                    params=_prior_params(spec.priors["mu"]),
                    description="effect shared by every group"),)
        mean = "mu"
    else:
        top = (Node("theta", "latent", Symbol("θ"), dist=spec.priors["theta"].dist,
                    params=_prior_params(spec.priors["theta"]), dims=g,
                    description="group effect"),)
        mean = "theta"
    nodes = top + (
        Node("sigma", "fixed", Symbol("σ"), dims=g, description="standard error"),
        Node("y", "observed", Symbol("y"), dist="Normal",
             params=(("mu", mean), ("sigma", "sigma")), dims=g, description="estimate"),
    )
    return GenerativeModel(nodes, dim_names={dim: dim}, index_letters={dim: "j"})


def _resolve(priors, data, options) -> dict:
    return resolve_schools_priors(priors, pooling=options["pooling"])


#: The hierarchical normal family (:func:`hierarchical_normal_model`).
HIERARCHICAL_NORMAL = ModelFamily(
    name="hierarchical_normal",
    build=build,
    data_type=SchoolsData,
    options={"parametrization": PARAMETRIZATIONS + SCALABLE_PARAMETRIZATIONS + (AUTO,),
             "theta_storage": THETA_STORAGE, "pooling": POOLING, "centered": ()},
    resolve_priors=_resolve,
    resolve_options=resolve_options,
    population=population,
    internal=internal,
    exact_posterior=exact_posterior,
    exact_partitioned=NORMAL_PARTITIONED,
    postprocess=postprocess,
    generative=generative,
    initial_values=initial_values,
    group_dim=lambda data: data.dim,
    with_observed=with_observed,
    default_sweep=("tau.beta", (1.0, 2.5, 5.0, 10.0, 25.0)),
    summary="groups with known standard errors sharing a normal population of effects",
    pooling=Pooling("theta", {level: {"pooling": level} for level in POOLING}),
    exact_logo=exact_logo,
    predict=predict,
)

#: The same family with the eight schools as example data (:func:`eight_schools_model`,
#: ``pymc-hier run schools``).
EIGHT_SCHOOLS_FAMILY = dataclasses.replace(
    HIERARCHICAL_NORMAL, name="eight_schools", example_data=lambda: EIGHT_SCHOOLS,
    cli_name="schools", summary="eight schools (BDA 5.5): coaching effects on SAT scores")
