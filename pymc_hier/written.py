"""Posterior predictive draws from the model as written: :func:`written_predictive`.

A sampler may work in coordinates of its own (``theta_scaled`` for the non-centred
hierarchical normal, the amount at measurement ``N1`` of the decay model with latent
``N0``), while the exact posterior draws the variables of the model as written (``theta``;
``alpha``, ``t0``, ``N0``). Such draws cannot be replayed through the PyMC graph, but the
family's generative description (:mod:`pymc_hier.generative`) says how each observation
was made from them: ``y ~ Normal(theta, sigma)``, ``n_measured ~ Normal(N0 * exp(-alpha *
(t_measured - t0)), sigma)``. Its expressions are evaluated on the posterior draws and the
fixed data (``constant_data``) with xarray, so that dims broadcast by name, and the
observations are drawn from (and scored by) the named PyMC distribution.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import xarray as xr
from scipy import special

from pymc_hier.generative import Expr, GenerativeModel, parse

__all__ = ["written_predictive", "written_prior", "written_variables"]

_SAMPLE_DIMS = ("chain", "draw")
_FUNCTIONS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs,
              "logit": special.logit, "invlogit": special.expit, "Phi": special.ndtr}
_BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
           "**": np.power}


def written_variables(description: GenerativeModel) -> set[str]:
    """Names the observed nodes' distributions need (through deterministic nodes too)."""
    needed: set[str] = set()
    todo = [n for n in description.nodes if n.kind == "observed"]
    while todo:
        node = todo.pop()
        for text in node.expressions():
            for name in parse(text).names() - needed:
                needed.add(name)
                if name in description and description[name].kind == "deterministic":
                    todo.append(description[name])
    return needed


def written_predictive(description: GenerativeModel, posterior: xr.Dataset,
                       fixed: xr.Dataset, observed: xr.Dataset, *, rng,
                       log_likelihood: bool = True) -> tuple[xr.Dataset, xr.Dataset | None]:
    """Posterior predictive draws (and pointwise log-likelihood) of the observed nodes.

    Parameters
    ----------
    description : GenerativeModel
        The model as written.
    posterior : xarray.Dataset
        Draws ``(chain, draw, ...)`` of the latent nodes the observations depend on.
    fixed : xarray.Dataset
        The fixed nodes (a fit's ``constant_data``).
    observed : xarray.Dataset
        The observations (a fit's ``observed_data``), for their dims and the
        log-likelihood.
    rng : numpy.random.Generator
        Source of randomness.
    log_likelihood : bool, default True
        Also return the pointwise log-likelihood.

    Returns
    -------
    posterior_predictive, log_likelihood : xarray.Dataset
        One variable per observed node, ``(chain, draw, *its dims)``; the second is None
        when ``log_likelihood=False``.

    Raises
    ------
    ValueError
        When a name an observation needs is in neither ``posterior`` nor ``fixed``, when
        their coords disagree, or when an expression holds something not written out
        (``f(...)``, ``...``).
    """
    values = {**{k: fixed[k] for k in fixed.data_vars},
              **{k: posterior[k] for k in posterior.data_vars}}
    sample = xr.DataArray(np.zeros([posterior.sizes[d] for d in _SAMPLE_DIMS]),
                          dims=_SAMPLE_DIMS, coords={d: posterior[d] for d in _SAMPLE_DIMS})
    pp, ll = {}, {}
    for node in description.nodes:
        if node.kind != "observed":
            continue
        like = [sample] + ([xr.zeros_like(observed[node.name], dtype=float)]
                           if node.name in observed else [])
        dist, pp[node.name], order = _draw_node(node, values, description, like, rng)
        draws = pp[node.name]
        if log_likelihood and node.name in observed:
            obs = observed[node.name].transpose(*order[2:]).values
            logp = pm.logp(dist, np.broadcast_to(obs, draws.shape)).eval(mode="FAST_COMPILE")
            ll[node.name] = draws.copy(data=np.asarray(logp))
    attrs = {"method": "drawn from the model as written (pymc_hier.written)"}
    return (xr.Dataset(pp, attrs=attrs),
            xr.Dataset(ll, attrs=attrs) if log_likelihood else None)


def written_prior(description: GenerativeModel, fixed: xr.Dataset, coords, *, draws: int,
                  rng) -> tuple[xr.Dataset, xr.Dataset]:
    """Prior and prior predictive draws of the model as written.

    For a model whose sampler works in coordinates of its own with a potential that makes
    the prior right (``decay_model(alpha="hierarchical")``): forward sampling of that graph
    ignores the potential, while the description says how each variable is drawn. Every
    latent node is drawn from its distribution given the nodes above it, then every
    observed node.

    Parameters
    ----------
    description : GenerativeModel
        The model as written.
    fixed : xarray.Dataset
        The fixed nodes' values.
    coords : mapping
        Coordinates of every dimension a node has (``{"widget": [...]}``).
    draws : int
        Number of draws (one chain).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    prior, prior_predictive : xarray.Dataset
        The latent and the observed nodes, ``(chain, draw, *their dims)``.
    """
    sample = xr.DataArray(np.zeros((1, int(draws))), dims=_SAMPLE_DIMS,
                          coords={"chain": [0], "draw": np.arange(int(draws))})
    values = {k: fixed[k] for k in fixed.data_vars}
    groups: dict[str, dict] = {"latent": {}, "observed": {}}
    for node in description.nodes:
        if node.kind not in groups:
            continue
        like = [sample, *(xr.DataArray(np.zeros(len(coords[d])), dims=(d,),
                                       coords={d: np.asarray(coords[d])}) for d in node.dims)]
        _, draw, _ = _draw_node(node, values, description, like, rng)
        values[node.name] = groups[node.kind][node.name] = draw
    attrs = {"method": "drawn from the model as written (pymc_hier.written)"}
    return (xr.Dataset(groups["latent"], attrs=attrs),
            xr.Dataset(groups["observed"], attrs=attrs))


def _draw_node(node, values, description: GenerativeModel, like, rng):
    """Draw ``node`` once given ``values``: ``(distribution, draws, dims order)``.

    Its parameters are evaluated on ``values`` and broadcast with ``like`` (the sample
    dims first, then the node's own), coords aligned exactly.
    """
    with xr.set_options(arithmetic_join="exact"):
        try:
            params = {k: xr.DataArray(_evaluate(parse(text), values, description))
                      for k, text in node.params}
            arrays = xr.broadcast(*params.values(), *like, exclude=())
        except ValueError as err:
            if "exact" not in str(err) and "align" not in str(err):
                raise
            raise ValueError(f"idata: the coords of the variables {node.name!r} depends "
                             f"on disagree ({err})") from None
    order = (*_SAMPLE_DIMS, *[d for d in arrays[0].dims if d not in _SAMPLE_DIMS])
    arrays = [a.transpose(*order) for a in arrays]
    template, arrays = arrays[0], arrays[:len(params)]
    dist = getattr(pm, node.dist).dist(**{k: a.values for k, a in
                                          zip(params, arrays, strict=True)})
    coords = {d: template.coords[d] for d in template.dims if d in template.coords}
    return (dist, xr.DataArray(pm.draw(dist, random_seed=rng), dims=template.dims,
                               coords=coords), order)


def _evaluate(expr: Expr, values, description: GenerativeModel):
    """Evaluate ``expr`` on DataArrays (dims broadcast by name)."""
    op, args = expr.op, expr.args
    if op == "num":
        return args[0]
    if op == "name":
        name = args[0]
        if name in values:
            return values[name]
        if name in description and description[name].kind == "deterministic":
            return _evaluate(parse(description[name].expr), values, description)
        raise ValueError(f"idata: {name!r}, which the observations depend on, is in neither "
                         "the posterior nor constant_data")
    if op == "neg":
        return -_evaluate(args[0], values, description)
    if op in _BINARY:
        left, right = (_evaluate(a, values, description) for a in args)
        with np.errstate(over="ignore", under="ignore"):
            return _BINARY[op](left, right)
    if op == "call":
        inner = _evaluate(args[1], values, description)
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            if isinstance(inner, xr.DataArray):
                return xr.apply_ufunc(_FUNCTIONS[args[0]], inner)
            return _FUNCTIONS[args[0]](inner)
    if op == "index":
        base, index = (_evaluate(a, values, description) for a in args)
        (dim,) = [d for d in base.dims if d not in _SAMPLE_DIMS]
        return base.isel({dim: index.astype(int)})
    raise ValueError(f"expression: {expr!r} is not written out (a function of its own or "
                     "'...'), so draws cannot be made from the model as written")
