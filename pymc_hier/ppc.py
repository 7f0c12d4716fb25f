"""Prior and posterior predictive checks on xarray: :func:`sample_predictive`, :func:`ppc_table`.

:func:`sample_predictive` adds ``prior``, ``prior_predictive``, ``posterior_predictive`` and
``log_likelihood`` groups to a fit; :func:`ppc_table` compares test statistics of the
observations with their predictive distribution (Bayesian p-values), overall or per group;
:func:`pit` gives per-observation PIT or LOO-PIT values (the latter through ArviZ).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from functools import partial

import arviz_stats as azs
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from arviz_base import rcParams

from pymc_hier.groups import attach_group_labels, dim_labels, label_groups
from pymc_hier.records import model_hash
from pymc_hier.seeds import resolve_seed
from pymc_hier.spec import get_spec
from pymc_hier.written import written_predictive, written_prior, written_variables

_SAMPLE_DIMS = ("chain", "draw")

#: PyTensor mode of the prior and posterior predictive draws. The forward function is
#: called once per draw on small inputs, so compiling it (Numba by default: 4 to 12 s
#: per function with a new cache, on 2 cores) costs more than it saves: PyTensor's
#: Python linker starts at once and draws with NumPy's generators. The log-likelihood
#: keeps the default mode (its rewrites give the numerically stable forms).
_FORWARD_MODE = "FAST_COMPILE"
_GROUPS = ("posterior", "prior")


def _iqr(x, axis=-1):
    q75, q25 = np.quantile(x, [0.75, 0.25], axis=axis)
    return q75 - q25


def _max_abs_z(x, axis=-1):
    """Grubbs' outlier statistic max_i |x_i - mean(x)| / sd(x)."""
    dev = np.abs(x - x.mean(axis=axis, keepdims=True))
    return dev.max(axis=axis) / x.std(axis=axis, ddof=1)


#: Named test statistics: numpy-style reductions ``f(x, axis=-1)``. ``sd`` uses ``ddof=1``
#: (NaN for a single observation); ``max_abs_z`` is Grubbs' outlier statistic
#: ``max_i |y_i - mean(y)| / sd(y)``, the one that flags a single outlying group.
STATISTICS: Mapping[str, Callable] = {
    "mean": np.mean,
    "sd": partial(np.std, ddof=1),
    "min": np.min,
    "max": np.max,
    "median": np.median,
    "range": np.ptp,
    "iqr": _iqr,
    "max_abs_z": _max_abs_z,
}


def sample_predictive(idata: xr.DataTree, model: pm.Model, *,
                      prior: bool | xr.DataTree = True, posterior: bool = True,
                      random_seed: int | None,
                      prior_draws: int | None = None, log_likelihood: bool = True
                      ) -> xr.DataTree:
    """Add prior and posterior predictive draws (and the pointwise log-likelihood).

    Parameters
    ----------
    idata : xarray.DataTree
        A fit of ``model`` (from :func:`pymc_hier.fit`, or any DataTree whose ``posterior``
        matches the model's free variables). An exact fit whose posterior holds the
        variables of the model as written but not the sampler's coordinates
        (``theta_scaled``, the decay model's ``N1``) is drawn from the family's
        generative description instead (:mod:`pymc_hier.written`).
    model : pymc.Model
        The model that produced ``idata``; checked against it.
        Its posterior predictive draws and log-likelihood are evaluated over all
        posterior draws at once where the graph allows (NumPy, nothing compiled), draw by
        draw by PyMC otherwise.
    prior : bool or xarray.DataTree, default True
        Add ``prior`` and ``prior_predictive`` groups: drawn here (True), or those of a
        tree from :func:`sample_prior` with the same ``random_seed`` and number of draws,
        drawn beforehand (in another process while the model was fitted; the result is
        the same).
    posterior : bool, default True
        Add ``posterior_predictive`` (and ``log_likelihood``) groups; needs a ``posterior``.
    random_seed : int or None
        Required; ``None`` draws a seed, recorded in ``attrs["predictive_random_seed"]``.
    prior_draws : int, optional
        Number of prior draws; default the posterior's chain x draw count, or 1000.
    log_likelihood : bool, default True
        Add the pointwise ``log_likelihood`` group (needed by :func:`pit` with
        ``loo=True``); its size is draws x observations.

    Returns
    -------
    xarray.DataTree
        A new tree with ``idata``'s groups plus the new ones (existing predictive groups
        are replaced). Observations that reach a group through an integer index
        (``a[g]``, see :func:`pymc_hier.groups.group_indices`) are labelled with their
        group: a coordinate named after the group dim (``county``) on the observation dim
        of ``observed_data``, the predictive groups and ``log_likelihood``, so that
        ``ppc_table(idata, by="county")`` works.

    Raises
    ------
    ValueError
        When ``idata`` has no posterior but ``posterior=True``, when ``model`` does not
        match ``idata``, when neither ``prior`` nor ``posterior`` is requested, or when
        the prior draws given were drawn from another model, or with another seed or
        number of draws.
    """
    if not isinstance(idata, xr.DataTree):
        raise ValueError(f"idata: expected an xarray.DataTree, got {type(idata).__name__}")
    if not isinstance(model, pm.Model):
        raise ValueError(f"model: expected a pymc.Model, got {type(model).__name__}")
    drawn = prior if isinstance(prior, xr.DataTree) else None
    if drawn is None and not (prior or posterior):
        raise ValueError("prior, posterior: at least one must be True")
    if posterior and "posterior" not in idata.children:
        raise ValueError(f"idata: no 'posterior' group (groups: {list(idata.children)}); "
                         "fit the model first or pass posterior=False")
    check_model_matches(idata, model)
    seed, source = resolve_seed(random_seed)
    prior_rng, post_rng = _predictive_rngs(seed)
    tree = idata.copy()
    new: dict[str, xr.Dataset] = {}
    written = _written_description(idata, model) if posterior else None
    if written is not None:
        # draws of the model as written (exact fits), not of the sampler's coordinates
        pp, ll = written_predictive(
            written, idata["posterior"].to_dataset(), _group(idata, "constant_data"),
            _group(idata, "observed_data"), rng=post_rng,
            log_likelihood=log_likelihood and bool(model.observed_RVs))
        new["posterior_predictive"] = pp
        if ll is not None:
            new["log_likelihood"] = ll
    elif posterior:
        # constant_data lets PyMC see that the fixed inputs are those of the fit
        trace = xr.DataTree.from_dict({g: idata[g].to_dataset() for g in
                                       ("posterior", "constant_data", "observed_data")
                                       if g in idata.children})
        pp = _posterior_predictive_over_draws(trace, model, post_rng)
        if pp is None:
            with warnings.catch_warnings():
                if not _potentials_touch_observations(model):
                    # potentials of the parameters alone (a change of variables, as in
                    # decay_model(alpha="hierarchical")) are in the posterior draws already
                    warnings.filterwarnings("ignore", "The effect of Potentials",
                                            UserWarning)
                pp = pm.sample_posterior_predictive(trace, model=model, random_seed=post_rng,
                                                    progressbar=False,
                                                    compile_kwargs={"mode": _FORWARD_MODE})
        new["posterior_predictive"] = pp["posterior_predictive"].to_dataset()
        for extra in ("observed_data", "constant_data"):
            if extra in pp.children and extra not in tree.children:
                new[extra] = pp[extra].to_dataset()
        if log_likelihood and model.observed_RVs:
            new["log_likelihood"] = _log_likelihood(trace, model)
    if drawn is not None or prior:
        if prior_draws is None:
            prior_draws = (int(np.prod([idata["posterior"].sizes[d] for d in _SAMPLE_DIMS]))
                           if "posterior" in idata.children else 1000)
        if drawn is None:
            pr = prior_draws_of(model, int(prior_draws), random_seed=prior_rng,
                                mode=_FORWARD_MODE)
        else:
            pr = _check_drawn_prior(drawn, model, seed=seed, draws=int(prior_draws))
        for group in ("prior", "prior_predictive", "observed_data", "constant_data"):
            if group in pr.children and (group.startswith("prior") or group not in tree.children):
                new.setdefault(group, pr[group].to_dataset())
    for group, ds in new.items():
        tree[group] = xr.DataTree(ds)
    tree = attach_group_labels(tree, model)
    tree.attrs = {**tree.attrs, "predictive_random_seed": seed,
                  "predictive_random_seed_source": source}
    return tree


def sample_prior(model: pm.Model, *, draws: int, random_seed: int) -> xr.DataTree:
    """Draw the prior groups :func:`sample_predictive` adds, before (or without) a fit.

    ``sample_predictive(idata, model, prior=sample_prior(model, draws=n, random_seed=s),
    random_seed=s)`` gives the same tree as ``sample_predictive(idata, model,
    random_seed=s)`` for a fit of ``n`` draws (chains x draws): the prior's generator is
    derived from the seed in the same way. ``pymc-hier run`` draws it in a second process
    while the model is fitted.

    Parameters
    ----------
    model : pymc.Model
        The model.
    draws : int
        Number of prior draws.
    random_seed : int
        The seed later given to :func:`sample_predictive`.

    Returns
    -------
    xarray.DataTree
        ``prior`` and ``prior_predictive`` groups (and ``observed_data``,
        ``constant_data``); the seed, the draws and the model's hash in its attrs.
    """
    if random_seed is None:
        raise TypeError("random_seed: required (the one sample_predictive will be given)")
    seed, _ = resolve_seed(random_seed)
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        raise ValueError(f"draws: expected a positive int, got {draws!r}")
    tree = prior_draws_of(model, int(draws), random_seed=_predictive_rngs(seed)[0],
                          mode=_FORWARD_MODE)
    tree.attrs = {**tree.attrs, "predictive_random_seed": seed, "prior_draws": int(draws),
                  "model_hash": model_hash(model)}
    return tree


def _predictive_rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Return the generators of the prior and the posterior predictive draws of ``seed``."""
    prior, posterior = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(prior), np.random.default_rng(posterior)


def _check_drawn_prior(tree: xr.DataTree, model: pm.Model, *, seed: int,
                       draws: int) -> xr.DataTree:
    """Return ``tree`` (from :func:`sample_prior`) if drawn from ``model`` as asked.

    Raises ``ValueError`` for another model, seed or number of draws.
    """
    got = tree.attrs.get("predictive_random_seed"), tree.attrs.get("prior_draws")
    drawn_from = tree.attrs.get("model_hash")
    if "prior" not in tree.children or None in got or drawn_from is None:
        raise ValueError("prior: expected True, False or a tree from sample_prior")
    if got != (seed, draws):
        raise ValueError(f"prior: drawn with random_seed={got[0]} and {got[1]} draws, not "
                         f"random_seed={seed} and {draws} draws")
    if drawn_from != model_hash(model):
        raise ValueError("prior: drawn from another model (other structure, priors, coords "
                         "or data)")
    return tree


def pointwise_log_likelihood(idata: xr.DataTree, model: pm.Model) -> xr.Dataset:
    """Log-likelihood of each observation at every posterior draw of ``idata``.

    Parameters
    ----------
    idata : xarray.DataTree
        With a ``posterior`` holding the model's free variables (or, for an exact fit, the
        variables of the model as written).
    model : pymc.Model
        The model whose observed variables are evaluated.

    Returns
    -------
    xarray.Dataset
        One variable per observed variable, dims ``(chain, draw, *its dims)``: what
        :func:`sample_predictive` stores as the ``log_likelihood`` group.

    Notes
    -----
    An exact fit whose posterior holds the model as written, not the sampler's coordinates
    (``theta`` without ``theta_scaled``), is scored through the family's description
    (:mod:`pymc_hier.written`), as :func:`sample_predictive` does.
    """
    written = _written_description(idata, model)
    if written is None:
        return _log_likelihood(idata, model)
    _, ll = written_predictive(written, idata["posterior"].to_dataset(),
                               _group(idata, "constant_data"), _group(idata, "observed_data"),
                               rng=np.random.default_rng(0), log_likelihood=True)
    return ll


def _posterior_predictive_over_draws(trace: xr.DataTree, model: pm.Model,
                                     rng: np.random.Generator) -> xr.DataTree | None:
    """Posterior predictive draws in one vectorised graph, or None to let PyMC draw them.

    What ``pm.sample_posterior_predictive`` draws by default (the observed variables and
    the deterministics that depend on them, given each posterior draw of the free
    variables), from the same graph, but evaluated over blocks of draws
    (:func:`_over_draws`) instead of one Python call per draw: 0.06 to 0.2 s instead
    of 0.35 to 0.45 s for 4000 draws of the decay model. The random generators advance
    from block to block (PyMC's ``compile`` updates them); their seed comes from ``rng``.

    None, and PyMC draws instead (and warns), when a potential touches an observed
    variable; also when the trace lacks ``observed_data`` or ``constant_data`` (PyMC adds
    them) or a free variable the draws need, when an output gains no draw dimension, or
    when the graph cannot be vectorised.
    """
    from pymc.sampling.forward import observed_dependent_deterministics
    from pytensor.graph.traversal import ancestors

    if (not model.observed_RVs or _potentials_touch_observations(model)
            or not {"observed_data", "constant_data"} <= set(trace.children)):
        return None
    post = trace["posterior"].to_dataset()
    outputs = list(model.observed_RVs)
    outputs += [d for d in observed_dependent_deterministics(model) if d not in outputs]
    if any(name in model.named_vars and model[name] not in outputs
           for name in trace["observed_data"].data_vars):
        return None   # PyMC would draw these too (extra observed variables)
    needed = set(ancestors(outputs, blockers=model.free_RVs))
    free = [rv for rv in model.free_RVs if rv in needed]
    if not free or any(rv.name not in post.data_vars for rv in free):
        return None
    post = post[[rv.name for rv in free]].astype({rv.name: rv.type.dtype for rv in free},
                                                 copy=False)
    seed = int(rng.integers(2**63))
    values = _over_draws(outputs, free, post, random_seed=seed)
    if values is None:
        return None
    ds = _draws_dataset({v.name: x for v, x in zip(outputs, values, strict=True)}, model,
                        post)
    return xr.DataTree.from_dict({"posterior_predictive": ds})


def _draws_dataset(values: dict, model: pm.Model, post: xr.Dataset) -> xr.Dataset:
    """Arrays ``(chain, draw, ...)`` by name as PyMC packs them, labelled like ``post``."""
    from pymc.backends.arviz import coords_and_dims_for_inferencedata, dict_to_dataset

    coords, dims = coords_and_dims_for_inferencedata(model)
    sample = {d: post[d].values for d in _SAMPLE_DIMS}
    return dict_to_dataset(values, inference_library=pm, dims=dims, coords={**coords, **sample},
                           sample_dims=list(_SAMPLE_DIMS), skip_event_dims=True)


def _log_likelihood(trace: xr.DataTree, model: pm.Model) -> xr.Dataset:
    """Pointwise log-likelihood of the observed variables at every posterior draw.

    Built from :func:`pymc.logp` of each observed variable with the free variables
    replaced by their (constrained) posterior values. :func:`pymc.compute_log_likelihood`
    is not used: it clones the model, which fails for models with custom initial values
    or custom value transforms (the decay model has both).

    The graph is vectorised over the draws (:func:`_over_draws`) and evaluated by
    NumPy without a compile, in blocks of draws; a graph PyTensor cannot vectorise (an op
    without a batched form) is compiled and evaluated draw by draw, as PyMC does.
    """
    from pymc.backends.arviz import apply_function_over_dataset, coords_and_dims_for_inferencedata
    from pymc.logprob.utils import replace_rvs_by_values

    free = list(model.free_RVs)
    inputs = {rv: rv.type(name=rv.name) for rv in free}
    observed = list(model.observed_RVs)
    names = [rv.name for rv in observed]
    logps = [pm.logp(rv, model.rvs_to_values[rv], warn_rvs=False) for rv in observed]
    logps = replace_rvs_by_values(logps, rvs_to_values=inputs)
    post = trace["posterior"].to_dataset()[[rv.name for rv in free]]
    post = post.astype({rv.name: rv.type.dtype for rv in free}, copy=False)
    values = _over_draws(logps, list(inputs.values()), post)
    if values is None:
        coords, dims = coords_and_dims_for_inferencedata(model)
        fn = model.compile_fn(outs=logps, inputs=list(inputs.values()),
                              on_unused_input="ignore")
        return apply_function_over_dataset(fn, post, output_var_names=names, coords=coords,
                                           dims=dims, progressbar=False)
    return _draws_dataset(dict(zip(names, values, strict=True)), model, post)


#: Largest number of values of one output evaluated at once (blocks of draws).
_BLOCK_VALUES = 1 << 22


def _over_draws(outputs, inputs, post: xr.Dataset, *,
                random_seed: int | None = None) -> list[np.ndarray] | None:
    """Evaluate ``outputs`` at every draw of ``post`` in one vectorised graph.

    Each input (a free variable, named as in ``post``) gains a leading draw dimension
    (:func:`pytensor.graph.replace.vectorize_graph`); the graph runs in PyTensor's
    ``FAST_COMPILE`` mode (NumPy, nothing compiled: a first use pays no Numba compile)
    over blocks of draws. Returns arrays ``(chain, draw, *output shape)``, or None when
    the graph cannot be vectorised or evaluated so (then the caller goes draw by draw).

    With ``random_seed``, ``outputs`` are random draws: the graph is compiled by PyMC
    (which reseeds its generators and advances them at every call), and an output that
    gains no draw dimension (a random variable independent of the inputs, one draw for
    the whole block) gives None.
    """
    import pytensor
    import pytensor.tensor as pt
    from pymc.pytensorf import compile as pm_compile
    from pytensor.graph.replace import vectorize_graph

    batched = [pt.tensor(name=x.name, dtype=x.type.dtype, shape=(None, *x.type.shape))
               for x in inputs]
    try:
        if random_seed is None:
            outputs = _float64_constants(list(outputs))
            vectorised = vectorize_graph(outputs,
                                         replace=dict(zip(inputs, batched, strict=True)))
            fn = pytensor.function(batched, vectorised, mode=_FORWARD_MODE,
                                   on_unused_input="ignore")
        else:
            vectorised = _vectorised_draws(outputs, inputs, batched, batched[0].shape[0])
            if any(v.type.ndim == y.type.ndim for v, y in zip(vectorised, outputs,
                                                                strict=True)):
                return None
            fn = pm_compile(batched, vectorised, random_seed=random_seed, mode=_FORWARD_MODE,
                            on_unused_input="ignore")
    except Exception:  # noqa: BLE001 - an op without a batched form: draw by draw
        return None
    if _python_loops(fn.maker.fgraph):
        return None
    n_chain, n_draw = (post.sizes[d] for d in _SAMPLE_DIMS)
    n = n_chain * n_draw
    arrays = []
    for x in inputs:
        da = post[x.name].transpose(*_SAMPLE_DIMS, ...)
        arrays.append(np.ascontiguousarray(da.values).reshape(n, *da.shape[2:]))

    def block(start, m):
        outs = fn(*(a[start:start + m] for a in arrays))
        return [np.broadcast_to(o, (m, *o.shape[1:])) if v.type.ndim > y.type.ndim
                else np.broadcast_to(o, (m, *o.shape))
                for o, v, y in zip(outs, vectorised, outputs, strict=True)]

    try:
        joined = _in_blocks(block, n, len(outputs))
    except Exception:  # noqa: BLE001 - a perform that cannot take the batch: draw by draw
        return None
    return [v.reshape(n_chain, n_draw, *v.shape[1:]) for v in joined]


def _in_blocks(block, n: int, n_outputs: int) -> list[np.ndarray]:
    """Concatenate ``block(start, m)`` (``n_outputs`` arrays of ``m`` rows) over ``n`` rows.

    A first block of 64 rows measures the outputs' sizes; each later block holds about
    :data:`_BLOCK_VALUES` values of the largest output.
    """
    parts, start, size = [], 0, min(n, 64)
    while start < n:
        m = min(size, n - start)
        parts.append(block(start, m))
        start += m
        per_row = max([1, *(a.size // m for a in parts[-1])])
        size = max(1, _BLOCK_VALUES // per_row)
    return [np.concatenate([p[i] for p in parts]) for i in range(n_outputs)]


def _vectorised_draws(outputs, inputs, batched, n) -> list:
    """Random ``outputs`` with ``inputs`` replaced by ``batched`` (a leading draw dimension).

    The graph is PyMC's, copied: inline ops expanded (:func:`_inline_symbolic`), random
    variables that depend on no input given ``n`` draws (:func:`_resized_independent`),
    vectorised, and its fills made NumPy broadcasts (:func:`_fills_as_broadcasts`).
    """
    from pytensor.graph.replace import vectorize_graph

    outputs, inputs = _inline_symbolic(outputs, inputs)
    replace = dict(zip(inputs, batched, strict=True))
    replace.update(_resized_independent(outputs, inputs, n))
    return _fills_as_broadcasts(vectorize_graph(outputs, replace=replace))


def _prior_over_draws(model: pm.Model, draws: int, random_seed) -> xr.DataTree | None:
    """``pm.sample_prior_predictive(draws, model)``'s tree, drawn over blocks of draws.

    Every basic random variable and deterministic, as PyMC draws them, from one vectorised
    graph evaluated by NumPy (the random variables at the roots get ``draws`` draws each;
    :func:`_vectorised_draws`) instead of one Python call per draw: 0.1 s instead of 0.6 s
    for the decay model's 4000 draws. None, and PyMC draws instead, for a model with
    potentials (PyMC warns that it ignores them) or a graph that cannot be vectorised.
    """
    import pytensor.tensor as pt
    from pymc.pytensorf import compile as pm_compile
    from pymc.util import get_default_varnames

    if model.potentials:
        return None
    names = sorted(get_default_varnames({v.name for v in model.basic_RVs + model.deterministics},
                                        include_transformed=False))
    outputs = [model[name] for name in names]
    n = pt.scalar("draws", dtype="int64")
    try:
        vectorised = _vectorised_draws(outputs, [], [], n)
        fn = pm_compile([n], vectorised, random_seed=random_seed, mode=_FORWARD_MODE,
                        on_unused_input="ignore")
    except Exception:  # noqa: BLE001 - a graph PyTensor cannot vectorise: PyMC draws
        return None
    if _python_loops(fn.maker.fgraph):
        return None

    def block(start, m):
        return [np.broadcast_to(o, (m, *o.shape)) if v.type.ndim == y.type.ndim else o
                for o, v, y in zip(fn(m), vectorised, outputs, strict=True)]

    values = _in_blocks(block, draws, len(names))
    return pm.to_inference_data(prior=dict(zip(names, values, strict=True)), model=model)


def _inline_symbolic(outputs, inputs) -> tuple[list, list]:
    """Return ``outputs`` (and ``inputs``) of a copy of the graph with inline ops expanded.

    A ``pm.CustomDist`` with a symbolic ``dist`` (the decay model's measurement: a
    uniform amount plus Gaussian noise) is one op holding its own random generators,
    which PyTensor cannot vectorise; expanded into the random variables it is made of,
    it can be. The model's own graph is left untouched (the rewrite runs on a copy).
    """
    import pytensor.tensor as pt
    from pytensor.compile.rewriting import inline_ofg_expansion
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.replace import clone_replace
    from pytensor.graph.rewriting.basic import in2out
    from pytensor.tensor.random.op import RandomVariable
    from pytensor.tensor.type_other import NoneTypeT

    roots = [x.type(name=x.name) for x in inputs]   # the free variables cut from their priors
    cut = clone_replace(list(outputs), replace=dict(zip(inputs, roots, strict=True)))
    fg = FunctionGraph(outputs=cut, clone=False)   # on the copy; shared data stay inputs
    in2out(inline_ofg_expansion).rewrite(fg)
    for node in list(fg.toposort()):
        # PyTensor's vectorisation of a random variable with a size reads the new batch
        # dimensions off its first parameter alone (the uniform's fixed lower bound 0):
        # broadcast it with the others first (same values)
        op = node.op
        if (isinstance(op, RandomVariable) and not isinstance(op.size_param(node).type,
                                                              NoneTypeT)
                and not any(op.ndims_params) and len(op.dist_params(node)) > 1):
            first, *rest = op.dist_params(node)
            for q in rest:   # `first`'s values in the others' shape (see _fills_as_broadcasts)
                first = pt.second(q, first)
            new = op.make_node(op.rng_param(node), op.size_param(node), first, *rest)
            fg.replace_all(list(zip(node.outputs, new.outputs, strict=True)),
                           import_missing=True)
    return list(fg.outputs), roots


def _fills_as_broadcasts(outputs) -> list:
    """Return ``outputs`` with each ``fill(x, y)`` written ``broadcast_to(y, shape(x, y))``.

    PyTensor's Python implementation of ``fill`` calls a Python function per element
    (0.08 s for the decay model's 4000 draws); ``broadcast_to`` is NumPy's. Done after
    vectorising, whose ``fill`` broadcasts right-aligned (as NumPy does), and on the
    vectorised copy only.
    """
    import pytensor.tensor as pt
    from pytensor.graph.fg import FunctionGraph
    from pytensor.scalar import Second
    from pytensor.tensor.elemwise import Elemwise

    fg = FunctionGraph(outputs=list(outputs), clone=False)
    for node in fg.toposort():
        if isinstance(node.op, Elemwise) and isinstance(node.op.scalar_op, Second):
            x, y = node.inputs
            fg.replace(node.outputs[0], pt.broadcast_to(y, pt.broadcast_shape(x, y)),
                       import_missing=True)
    return list(fg.outputs)


def _resized_independent(outputs, inputs, n) -> dict:
    """Random variables of ``outputs`` that depend on no input, each with ``n`` draws more.

    As :func:`pymc.sampling.forward.vectorize_over_posterior`: a random variable that
    depends on neither the inputs nor another such variable (the measurement noise
    ``Normal(0, sigma)``; every root of a prior) would otherwise be drawn once for a whole
    block of draws; resized, vectorising the graph gives each draw its own, and the
    variables that depend on it follow.
    """
    from pymc.distributions.shape_utils import change_dist_size
    from pymc.pytensorf import rvs_in_graph
    from pytensor.graph.traversal import ancestors, general_toposort

    nodes = {v.owner for v in rvs_in_graph(outputs)}
    rvs = [node.default_output() for node in nodes]
    independent: list = []
    order = general_toposort(rvs, lambda x: x.owner.inputs if x.owner is not None else None)
    for rv in (v for v in order if v in set(rvs)):
        blockers = [*inputs, *independent]
        if not set(blockers) & set(ancestors(rv.owner.inputs, blockers=blockers)):
            independent.append(rv)
    return {rv: change_dist_size(rv, new_size=(n,), expand=True) for rv in independent}


def _float64_constants(outputs: list) -> list:
    """Return ``outputs`` with float32 constants made float64 (with ``floatX`` float64).

    PyTensor stores a literal such as the ``10.0`` of ``pm.Normal("y", mu, 10.0)`` as
    float32, where it is exact, and then takes ``log(10.0)`` in float32: a relative error
    of 1e-8 in the log density (PyMC's compiled functions have it too). The user wrote a
    float64 number; evaluated here, it is one.
    """
    import pytensor
    import pytensor.tensor as pt
    from pytensor.graph.replace import clone_replace
    from pytensor.graph.traversal import ancestors
    from pytensor.tensor.variable import TensorConstant

    if pytensor.config.floatX != "float64":
        return outputs
    found = {v: pt.constant(np.asarray(v.data, dtype="float64"), name=v.name)
             for v in ancestors(outputs)
             if isinstance(v, TensorConstant) and v.type.dtype == "float32"}
    return clone_replace(outputs, replace=found, rebuild_strict=False) if found else outputs


def _python_loops(fgraph) -> bool:
    """Whether an elementwise op of ``fgraph`` runs a Python function per element.

    Without a NumPy ufunc (``nfunc_spec``), PyTensor's Python implementation wraps the
    scalar op's ``impl`` in :func:`numpy.frompyfunc` (the decay model's fused ops): over
    every draw and observation that is slower than compiling the graph once.
    """
    from pytensor.scalar import Add, Cast, Mul
    from pytensor.tensor.elemwise import Elemwise

    for node in fgraph.apply_nodes:
        if not isinstance(node.op, Elemwise) or isinstance(node.op.scalar_op, Add | Mul | Cast):
            continue
        spec = getattr(node.op, "nfunc_spec", None)
        if spec is None or spec[1] != len(node.inputs):
            return True
    return False


def check_model_matches(idata: xr.DataTree, model: pm.Model) -> None:
    """Raise ``ValueError`` unless ``model`` is the model ``idata`` was fitted with.

    With pymc_hier provenance the model hashes must agree (structure, coords, data);
    otherwise every free variable must be in the posterior with the model's coords, and
    the observed data must equal the model's.
    """
    recorded = idata.attrs.get("model_hash")
    if recorded is not None and recorded != model_hash(model):
        raise ValueError(
            f"model: does not match idata (idata was fitted with factory "
            f"{idata.attrs.get('factory', '?')!r}, model hash {recorded[:12]}..., but this "
            f"model hashes to {model_hash(model)[:12]}...: other structure, priors, coords "
            "or data)"
        )
    if "posterior" in idata.children:
        post = idata["posterior"]
        missing = [rv.name for rv in model.free_RVs if rv.name not in post.data_vars]
        if missing and _written_description(idata, model) is None:
            raise ValueError(f"model: free variables {missing} are not in idata's posterior "
                             f"(which has {sorted(post.data_vars)}); wrong model?")
        for dim, values in model.coords.items():
            if dim in post.coords and values is not None:
                if [str(v) for v in post[dim].values] != [str(v) for v in values]:
                    raise ValueError(f"model: coords of {dim!r} differ from idata's posterior")
    if "observed_data" in idata.children:
        obs = idata["observed_data"]
        for rv in model.observed_RVs:
            if rv.name not in obs.data_vars:
                raise ValueError(f"model: observed variable {rv.name!r} is not in idata's "
                                 "observed_data; wrong model?")


def _group(idata: xr.DataTree, name: str) -> xr.Dataset:
    return idata[name].to_dataset() if name in idata.children else xr.Dataset()


def _potentials_touch_observations(model: pm.Model) -> bool:
    """Whether a potential depends on an observed variable (then forward draws ignore it)."""
    from pytensor.graph.traversal import ancestors

    observed = set(model.observed_RVs)
    return any(a in observed for a in ancestors(model.potentials))


def prior_draws_of(model: pm.Model, draws: int, *, random_seed,
                   mode: str | None = None) -> xr.DataTree:
    """Prior and prior predictive draws of ``model`` (``prior``, ``prior_predictive``).

    What ``pm.sample_prior_predictive`` draws, over blocks of draws at once where the
    graph allows (:func:`_prior_over_draws`), otherwise by PyMC (compiled in ``mode``,
    PyTensor's default when None); for a model whose prior needs a potential that forward
    sampling ignores, its family's description draws it instead
    (:func:`pymc_hier.written.written_prior`).
    """
    description = _written_prior_description(model)
    if description is None:
        seed = int(np.random.default_rng(random_seed).integers(2**63))
        tree = _prior_over_draws(model, draws, seed)
        if tree is not None:
            return tree
        return pm.sample_prior_predictive(
            draws=draws, model=model, random_seed=random_seed,
            compile_kwargs=None if mode is None else {"mode": mode})
    fixed, coords = _fixed_values(description, model)
    prior, predictive = written_prior(description, fixed, coords, draws=draws,
                                      rng=np.random.default_rng(random_seed))
    return xr.DataTree.from_dict({"prior": prior, "prior_predictive": predictive})


def _written_prior_description(model: pm.Model):
    """Return the family's model as written when the graph's prior needs a potential.

    None otherwise.

    Forward sampling ignores potentials: a model whose potentials touch only its
    parameters (a change of variables, as in ``decay_model(alpha="hierarchical")``) has
    its prior drawn from its family's description instead.
    """
    if not model.potentials or _potentials_touch_observations(model):
        return None
    spec = get_spec(model)
    if spec is None or spec.family.generative is None:
        return None
    return spec.family.generative(spec)


def _fixed_values(description, model: pm.Model) -> tuple[xr.Dataset, dict]:
    """Return the fixed nodes' current values in ``model`` and the coordinates of every dim."""
    coords = {d: np.asarray(v) for d, v in model.coords.items() if v is not None}
    fixed = {}
    for node in description.nodes:
        if node.kind == "fixed" and node.name in model.named_vars:
            value = model[node.name]
            value = value.get_value() if hasattr(value, "get_value") else value.eval()
            fixed[node.name] = xr.DataArray(np.asarray(value), dims=node.dims,
                                            coords={d: coords[d] for d in node.dims})
    return xr.Dataset(fixed), coords


def _written_description(idata: xr.DataTree, model: pm.Model):
    """Return the family's model as written where the posterior lacks the sampler's coordinates.

    That is an exact fit of a non-centred model: its posterior holds the variables of the
    model as written. None when the posterior has every free variable, or when the family
    has no description or the posterior lacks what it needs.
    """
    post = idata["posterior"]
    if all(rv.name in post.data_vars for rv in model.free_RVs):
        return None
    spec = get_spec(model)
    if spec is None or spec.family.generative is None:
        return None
    description = spec.family.generative(spec)
    have = set(post.data_vars) | set(_group(idata, "constant_data").data_vars)
    if not all(name in have or (name in description
                                and description[name].kind == "deterministic")
               for name in written_variables(description)):
        return None
    return description


def _resolve_stats(stats) -> dict[str, Callable]:
    if isinstance(stats, str) or callable(stats):
        stats = (stats,)
    items = stats.items() if isinstance(stats, Mapping) else (
        (s, s) if isinstance(s, str) else (getattr(s, "__name__", repr(s)), s) for s in stats)
    out = {}
    for name, fn in items:
        if isinstance(fn, str):
            if fn not in STATISTICS:
                raise ValueError(f"stats: unknown statistic {fn!r} (known: "
                                 f"{', '.join(STATISTICS)}; or pass a callable f(x, axis))")
            fn = STATISTICS[fn]
        if not callable(fn):
            raise ValueError(f"stats: {name!r} is neither a statistic name nor callable")
        if name in out:
            raise ValueError(f"stats: statistic name {name!r} given twice")
        out[str(name)] = fn
    if not out:
        raise ValueError("stats: give at least one statistic")
    return out


def _predictive(idata: xr.DataTree, group: str, var_name: str | None):
    if group not in _GROUPS:
        raise ValueError(f"group: unknown group {group!r} (choose from {', '.join(_GROUPS)})")
    pred_group = f"{group}_predictive"
    if pred_group not in idata.children:
        raise ValueError(f"idata: no {pred_group!r} group; run sample_predictive first")
    if "observed_data" not in idata.children:
        raise ValueError("idata: no 'observed_data' group to compare with")
    pred, obs = idata[pred_group], idata["observed_data"]
    names = [v for v in obs.data_vars if v in pred.data_vars]
    if var_name is None:
        if len(names) != 1:
            raise ValueError(f"var_name: choose one of the observed variables {names}")
        var_name = names[0]
    elif var_name not in names:
        raise ValueError(f"var_name: {var_name!r} is not an observed variable with "
                         f"{group} predictive draws (have {names})")
    return pred[var_name], obs[var_name], var_name


def _grouping(y: xr.DataArray, by: str | None, order=None):
    """Return (dim, group labels, list of index arrays) for ``by``.

    Groups are in the order of ``order`` (the group dim's own labels) when given, else in
    order of appearance.
    """
    if by is None:
        return None, None, None
    coord = y.coords[by]
    if coord.ndim != 1:
        raise ValueError(f"by: coordinate {by!r} must be one-dimensional")
    labels = coord.values
    uniques = pd.unique(pd.Series(labels))
    if order is not None:
        present = set(uniques.tolist())
        uniques = np.asarray([u for u in order if u in present])
    if len(uniques) == len(labels) and order is None:
        return coord.dims[0], labels, None
    index = [np.flatnonzero(labels == u) for u in uniques]
    return coord.dims[0], np.asarray(uniques), index


def _group_values(arr: np.ndarray, index) -> list[np.ndarray] | np.ndarray:
    """``arr`` has the grouped dim at axis -2 and the rest flattened at -1."""
    if index is None:  # one group per element
        return arr
    sizes = {len(i) for i in index}
    if len(sizes) == 1:
        taken = arr[..., np.stack(index), :]  # (..., G, k, R)
        return taken.reshape(*taken.shape[:-2], -1)
    return [arr[..., i, :].reshape(*arr.shape[:-2], -1) for i in index]


def _apply(fn, name, values, expect_shape):
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if isinstance(values, list):
            out = np.stack([np.asarray(fn(v, axis=-1)) for v in values], axis=-1)
        else:
            out = np.asarray(fn(values, axis=-1))
    if out.shape != expect_shape:
        raise ValueError(f"stats: statistic {name!r} returned shape {out.shape}, expected "
                         f"{expect_shape}; it must reduce f(x, axis=-1) over the last axis")
    return out.astype(float)


def _grouped(idata: xr.DataTree, group: str, var_name: str | None, by):
    """Observations and predictive draws split by group, for test statistics.

    Returns ``(var_name, by, dim, labels, y_g, rep_g, sample_shape)``: ``y_g`` and
    ``rep_g`` as :func:`_group_values` gives them (``dim`` None: one group of everything).
    """
    y_rep, y, var_name = _predictive(idata, group, var_name)
    missing = [d for d in _SAMPLE_DIMS if d not in y_rep.dims]
    if missing:
        raise ValueError(f"idata: {group}_predictive lacks sample dims {missing}")
    if by is not None:
        by, y = label_groups(idata, y, by)
    order = dim_labels(idata, by) if by is not None and by not in y.dims else None
    dim, labels, index = _grouping(y, by, order)
    obs_dims = list(y.dims)
    if dim is None:
        y_arr = y.values.reshape(1, -1)
        rep_arr = y_rep.transpose(*_SAMPLE_DIMS, *obs_dims).values
        rep_arr = rep_arr.reshape(*rep_arr.shape[:2], 1, -1)
    else:
        rest = [d for d in obs_dims if d != dim]
        y_arr = y.transpose(dim, *rest).values.reshape(y.sizes[dim], -1)
        rep_arr = y_rep.transpose(*_SAMPLE_DIMS, dim, *rest).values
        rep_arr = rep_arr.reshape(*rep_arr.shape[:3], -1)
    y_g, rep_g = _group_values(y_arr, index), _group_values(rep_arr, index)
    return var_name, by, dim, labels, y_g, rep_g, rep_arr.shape[:2]


def tstat_draws(idata: xr.DataTree, *, stat="mean", by: str | tuple[str, str] | None = None,
                group: str = "posterior", var_name: str | None = None) -> xr.Dataset:
    """Compute a test statistic of the data and of every predictive draw, overall or by group.

    Parameters
    ----------
    idata : xarray.DataTree
        With ``observed_data`` and the predictive group (see :func:`sample_predictive`).
    stat : str or callable, default "mean"
        A name from :data:`STATISTICS` or ``f(x, axis=-1)``.
    by : str or (str, str), optional
        Groups of observations, as :func:`ppc_table` takes them.
    group : {"posterior", "prior"}, default "posterior"
        Which predictive distribution.
    var_name : str, optional
        The observed variable; needed only when there are several.

    Returns
    -------
    xarray.Dataset
        ``T_obs`` (along ``by``) and ``T_rep`` (``chain``, ``draw`` and ``by``); attrs
        ``statistic``, ``var_name``, ``group`` and ``by``.
    """
    ((name, fn),) = _resolve_stats([stat]).items()
    var_name, by, dim, labels, y_g, rep_g, shape = _grouped(idata, group, var_name, by)
    n = 1 if dim is None else len(labels)
    t_y = _apply(fn, name, y_g, (n,))
    t_rep = _apply(fn, name, rep_g, (*shape, n))
    pred = idata[f"{group}_predictive"]
    sample_coords = {d: pred[d].values for d in _SAMPLE_DIMS}
    if dim is None:
        return xr.Dataset({"T_obs": ((), t_y[0]), "T_rep": (_SAMPLE_DIMS, t_rep[..., 0])},
                          coords=sample_coords, attrs={"statistic": name, "var_name": var_name,
                                                       "group": group, "by": ""})
    return xr.Dataset({"T_obs": ((by,), t_y), "T_rep": ((*_SAMPLE_DIMS, by), t_rep)},
                      coords={**sample_coords, by: labels},
                      attrs={"statistic": name, "var_name": var_name, "group": group,
                             "by": by})


def ppc_table(idata: xr.DataTree, *, stats=("mean", "sd", "min", "max"),
              by: str | tuple[str, str] | None = None,
              group: str = "posterior", var_name: str | None = None,
              ci_prob: float | None = None) -> xr.Dataset:
    """Tabulate Bayesian p-values of test statistics, overall or per group.

    For each statistic T: T(y) of the observations, the mean and equal-tailed interval of
    T(y_rep) over predictive draws, and the Bayesian p-value P(T(y_rep) >= T(y)). Values
    near 0 or 1 mean the model rarely reproduces that feature of the data.

    Parameters
    ----------
    idata : xarray.DataTree
        With ``observed_data`` and the predictive group (see :func:`sample_predictive`).
    stats : sequence or mapping, default ("mean", "sd", "min", "max")
        Statistic names (keys of :data:`STATISTICS`), callables ``f(x, axis=-1)`` reducing
        the last axis (named by ``__name__``), or a mapping name -> either.
    by : str or (str, str), optional
        A coordinate of the observations (``"school"``, ``"widget"``, or a non-index
        coordinate such as the ``"county"`` that :func:`sample_predictive` adds when
        observations reach their group through an index), or a pair ``(group dim, index)``
        such as ``("county", "g")``: the integer ``g`` of ``constant_data`` maps each
        observation to a group, labelled with the group dim's coordinate values. Statistics
        are computed per group of observations sharing a value; groups come in the order of
        the group dim's coordinate when the fit has one.
    group : {"posterior", "prior"}, default "posterior"
        Compare with the posterior or the prior predictive distribution.
    var_name : str, optional
        The observed variable; needed only when there are several.
    ci_prob : float, optional
        Probability of the interval; default ArviZ's ``rcParams["stats.ci_prob"]``.

    Returns
    -------
    xarray.Dataset
        ``T_obs``, ``T_rep_mean``, ``T_rep_interval`` (with a ``ci_bound`` dim) and
        ``p_value`` along ``statistic`` (and the ``by`` coordinate).

    Raises
    ------
    ValueError
        For an unknown statistic, group, variable or coordinate, or missing groups.
    """
    if not isinstance(idata, xr.DataTree):
        raise ValueError(f"idata: expected an xarray.DataTree, got {type(idata).__name__}")
    fns = _resolve_stats(stats)
    ci_prob = rcParams["stats.ci_prob"] if ci_prob is None else float(ci_prob)
    if not 0 < ci_prob < 1:
        raise ValueError(f"ci_prob: must be in (0, 1), got {ci_prob!r}")
    var_name, by, dim, labels, y_g, rep_g, sample_shape = _grouped(idata, group, var_name, by)
    n_groups = 1 if dim is None else len(labels)
    lo, hi = (1 - ci_prob) / 2, (1 + ci_prob) / 2
    t_obs, t_mean, t_int, p_val = [], [], [], []
    for name, fn in fns.items():
        t_y = _apply(fn, name, y_g, (n_groups,))
        t_rep = _apply(fn, name, rep_g, (*sample_shape, n_groups)).reshape(-1, n_groups)
        t_obs.append(t_y)
        t_mean.append(t_rep.mean(axis=0))
        t_int.append(np.quantile(t_rep, [lo, hi], axis=0).T)
        with np.errstate(invalid="ignore"):
            p = (t_rep >= t_y).mean(axis=0)
        p_val.append(np.where(np.isnan(t_y) | np.isnan(t_rep).all(axis=0), np.nan, p))
    dims = ("statistic",) if dim is None else ("statistic", by)
    squeeze = (lambda a: np.asarray(a)[:, 0]) if dim is None else np.asarray
    coords = {"statistic": list(fns), "ci_bound": ["lower", "upper"]}
    if dim is not None:
        coords[by] = labels
    desc = "P(T(y_rep) >= T(y))"
    ds = xr.Dataset(
        {
            "T_obs": (dims, squeeze(t_obs), {"description": "test statistic of the data"}),
            "T_rep_mean": (dims, squeeze(t_mean),
                           {"description": f"mean of T over {group} predictive draws"}),
            "T_rep_interval": ((*dims, "ci_bound"), squeeze(t_int),
                               {"description": f"equal-tailed {ci_prob:g} interval of T over "
                                               f"{group} predictive draws"}),
            "p_value": (dims, squeeze(p_val), {"description": f"Bayesian p-value {desc}"}),
        },
        coords=coords,
        attrs={"var_name": var_name, "group": group, "by": by or "", "ci_prob": ci_prob,
               "ci_kind": "eti", "n_samples": int(sample_shape[0] * sample_shape[1]),
               "p_value": desc},
    )
    return ds


def pit(idata: xr.DataTree, *, var_name: str | None = None, group: str = "posterior",
        loo: bool = False, by: str | tuple[str, str] | None = None,
        random_seed: int = 214) -> xr.DataArray:
    """Per-observation probability integral transform values.

    Parameters
    ----------
    idata : xarray.DataTree
        With ``observed_data`` and predictive draws; ``loo=True`` also needs ``posterior``
        and ``log_likelihood`` (see :func:`sample_predictive`).
    var_name : str, optional
        The observed variable; needed only when there are several.
    group : {"posterior", "prior"}, default "posterior"
        Predictive distribution to use (``loo`` needs ``"posterior"``).
    loo : bool, default False
        Leave-one-out PIT through :func:`arviz_stats.loo_pit` (PSIS-weighted) instead of
        the plain P(y_rep <= y).
    by : str or (str, str), optional
        Label each value with its group, as :func:`ppc_table` groups: a coordinate of the
        observations, or ``(group dim, index)``; the result then carries that coordinate
        (``pit(idata, by="county").groupby("county")``).
    random_seed : int, default 214
        Seed for randomised tie-breaking (discrete data).

    Returns
    -------
    xarray.DataArray
        One value in [0, 1] per observation, labelled like the observations; uniform
        when the model is calibrated.
    """
    y_rep, y, var_name = _predictive(idata, group, var_name)
    if loo:
        if group != "posterior":
            raise ValueError("group: loo=True needs group='posterior'")
        if "log_likelihood" not in idata.children:
            raise ValueError("idata: no 'log_likelihood' group for LOO-PIT; run "
                             "sample_predictive(..., log_likelihood=True)")
        out = azs.loo_pit(idata, var_names=[var_name], random_state=random_seed)[var_name]
    else:
        rng = np.random.default_rng(random_seed)
        less = (y_rep < y).mean(_SAMPLE_DIMS)
        equal = (y_rep == y).mean(_SAMPLE_DIMS)
        out = less + equal * rng.uniform(size=less.shape)
    if by is not None:
        name, labelled = label_groups(idata, y, by)
        out = out.assign_coords({name: labelled[name]})
    return out.rename(var_name).assign_attrs(
        description=("LOO-PIT" if loo else f"{group} predictive PIT") + " P(y_rep <= y)")
