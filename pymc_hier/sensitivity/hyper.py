"""Prior parameters as model inputs: find ``"tau.sigma"`` in a PyMC graph and lift it.

A prior sweep changes one number of a prior (``tau ~ HalfNormal(sigma=2)``: ``"tau.sigma"``)
without rebuilding or recompiling the model. :func:`lift_hyperparameters` rewrites the
model's graph, as :func:`pymc.do` does (``fgraph_from_model`` / ``model_from_fgraph``), so
that the parameter becomes a shared input registered as ``pm.Data`` named ``"tau__sigma"``
(:data:`~pymc_hier.spec.HYPER_SEP`); nutpie's ``with_data`` and
:mod:`~pymc_hier.sensitivity.reweight` then move it freely. Any PyMC model works, built by a
model family or not.

PyMC does not always store a parameter as given: ``Gamma(alpha, beta)`` keeps the scale
``1 / beta``, ``Exponential(lam)`` keeps ``1 / lam``, ``Normal(mu, tau=...)`` keeps
``sigma = tau ** -0.5``. :func:`find_hyperparameter` learns the map from the user's
parameter to the stored input by rebuilding the distribution with symbolic parameters,
reads the current value by inverting it, and checks the inversion by rebuilding the input
from the value; what it cannot map it refuses, naming the parameter.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.distributions.distribution import SymbolicRandomVariable
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant
from pytensor.graph.replace import vectorize_graph
from pytensor.graph.traversal import ancestors
from pytensor.tensor.elemwise import DimShuffle
from pytensor.tensor.random.op import RandomVariable

from pymc_hier.priors import _signature_params
from pymc_hier.spec import HYPER_SEP, attach_spec, get_spec

__all__ = ["Hyperparameter", "find_hyperparameter", "lift_hyperparameters"]

_RV_OPS = (RandomVariable, SymbolicRandomVariable)


@dataclass(frozen=True)
class Hyperparameter:
    """Where one numeric parameter of a prior lives in a model's graph.

    Attributes
    ----------
    var : str
        The random variable (``"tau"``).
    param : str
        The parameter, as the PyMC distribution names it (``"sigma"``).
    dist : str
        The PyMC distribution (``"HalfNormal"``).
    value : numpy.ndarray
        Its current value, in the user's parametrisation (``beta``, not ``1 / beta``).
    name : str
        The ``pm.Data`` that holds it once lifted (``"tau__sigma"``).
    index : int
        Position of the input it sets among the random variable's parameters.
    integer : bool
        Whether it takes whole numbers only (an integer parameter of a discrete
        distribution, such as a Binomial's ``n``).
    """

    var: str
    param: str
    dist: str
    value: np.ndarray = field(repr=False, compare=False)
    name: str
    index: int
    symbol: Any = field(repr=False, compare=False)
    graph: Any = field(repr=False, compare=False)
    integer: bool = False

    @property
    def label(self) -> str:
        """``"var.param"``."""
        return f"{self.var}.{self.param}"

    def input_of(self, value) -> Any:
        """Return the graph of the stored input as a function of ``value`` (a tensor)."""
        value = pt.as_tensor_variable(value)
        if value.type.ndim == 0:
            return pytensor.graph.replace.graph_replace(
                self.graph, {self.symbol: value.astype(self.symbol.dtype)}, strict=False)
        return vectorize_graph(self.graph, replace={self.symbol: value.astype("float64")})


@cache
def _classes_by_op() -> dict[type, tuple[type, ...]]:
    """PyMC distribution classes by the type of their ``rv_op`` (basic distributions)."""
    out: dict[type, list] = {}
    for name in sorted(dir(pm)):
        cls = getattr(pm, name)
        if not (isinstance(cls, type) and issubclass(cls, pm.Distribution)):
            continue
        op = getattr(cls, "rv_op", None)
        kind = type(op) if isinstance(op, RandomVariable) else getattr(cls, "rv_type", None)
        if isinstance(kind, type) and issubclass(kind, _RV_OPS) and \
                cls not in out.setdefault(kind, []):
            out[kind].append(cls)
    return {k: tuple(v) for k, v in out.items()}


def distribution_classes(rv) -> tuple[type, ...]:
    """Return the PyMC distribution classes that build ``rv``'s node (empty if none)."""
    op = rv.owner.op if rv.owner is not None else None
    return _classes_by_op().get(type(op), ()) if isinstance(op, _RV_OPS) else ()


def _rebuild(node, params: Sequence) -> list:
    """Return the outputs of ``node``'s distribution rebuilt with other parameters."""
    op = node.op
    if isinstance(op, RandomVariable):
        return op.make_node(op.rng_param(node), op.size_param(node), *params).outputs
    # a SymbolicRandomVariable (HalfCauchy, Weibull ...): its inner graph is built anew
    # for the new parameters' types by the distribution's own constructor
    out = type(op).rv_op(*params, size=op.size_param(node), rng=op.rng_params(node)[0])
    out = out[0] if isinstance(out, (list, tuple)) else out
    return out.owner.outputs


def _mapping(cls, op, param: str):
    """``(index, symbol, graph)``: the one input of ``op`` that ``param`` alone sets.

    The distribution is rebuilt with symbolic parameters, from the smallest set of
    parameters that contains ``param`` and builds the same kind of node upwards; None when
    no such set gives an input depending on ``param`` and nothing else.
    """
    names = [n for n in _signature_params(cls) if n != param]
    for k in range(len(names) + 1):
        for others in itertools.combinations(names, k):
            symbols = {n: pt.dscalar(n) for n in (param, *others)}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    built = cls.dist(**symbols)
            except Exception:  # noqa: BLE001 - an incomplete or conflicting parametrisation
                continue
            if built.owner is None or type(built.owner.op) is not type(op):
                continue
            inputs = built.owner.op.dist_params(built.owner)
            uses = [i for i, x in enumerate(inputs) if symbols[param] in ancestors([x])]
            if len(uses) != 1:
                continue
            used = set(ancestors([inputs[uses[0]]])) & set(symbols.values())
            if used == {symbols[param]}:
                return uses[0], symbols[param], inputs[uses[0]]
    return None


def _peel(x):
    """Drop the broadcast dims PyTensor adds to align a parameter with the others."""
    while x.owner is not None and isinstance(x.owner.op, DimShuffle) and \
            not x.owner.op.drop and list(x.owner.op.shuffle) == sorted(x.owner.op.shuffle):
        x = x.owner.inputs[0]
    return x


def _inverse(fn, stored: np.ndarray, hint, *, rtol: float) -> np.ndarray | None:
    """Return a value whose image by ``fn`` is ``stored`` within ``rtol`` (checked).

    Candidates: the ``hint``, then the usual maps (identity, reciprocal, ``x**-2`` ...) of
    the stored value, each first rounded to 7 significant digits (a user writes
    ``beta=3``; PyMC may store ``1 / 3`` in single precision).
    """
    candidates = [] if hint is None else [np.asarray(hint, dtype=float)]
    with np.errstate(all="ignore"):
        for c in (stored, 1 / stored, stored**-2.0, stored**2.0, np.sqrt(stored), -stored,
                  np.log(stored), np.exp(stored)):
            c = np.asarray(c, dtype=float)
            rounded = np.array([float(f"{v:.7g}") for v in c.ravel()]).reshape(c.shape)
            candidates += [rounded, c]
        for c in candidates:
            if not np.all(np.isfinite(c)):
                continue
            try:
                image = np.asarray(fn(c), dtype=float)
            except Exception:  # noqa: BLE001 - a candidate outside the map's domain
                continue
            if image.shape == stored.shape and np.allclose(image, stored, rtol=rtol, atol=0):
                return np.asarray(c, dtype=float)
    return None


def find_hyperparameter(model: pm.Model, var: str, param: str, *, hint=None) -> Hyperparameter:
    """Locate the parameter ``param`` of the prior of ``var`` in ``model``'s graph.

    Parameters
    ----------
    model : pymc.Model
        Any PyMC model.
    var : str
        A free random variable with a basic PyMC distribution.
    param : str
        One of the distribution's parameter names (``"sigma"``, ``"beta"``, ``"tau"`` ...).
    hint : float or array, optional
        The value the caller believes it has (a family's prior); tried first and checked.

    Returns
    -------
    Hyperparameter

    Raises
    ------
    ValueError
        Naming ``param`` when ``var`` is not a free variable with a basic distribution, the
        distribution has no such parameter, PyMC does not store it on its own (Gamma's
        ``mu``), it depends on other random variables, or its value cannot be recovered.
    """
    label = f"{var}.{param}"
    rv = model.named_vars.get(var)
    if rv is None or rv not in model.free_RVs:
        free = [v.name for v in model.free_RVs]
        raise ValueError(f"param: {label!r}: {var!r} is not a free variable of the model "
                         f"(free variables: {', '.join(free)})")
    classes = distribution_classes(rv)
    if not classes:
        raise ValueError(f"param: {label!r}: {var!r} is a {type(rv.owner.op).__name__}, not "
                         f"a basic PyMC distribution; hold its parameters in pm.Data and "
                         f"sweep those by name")
    node = rv.owner
    op = node.op
    found = None
    for cls in classes:
        if param in _signature_params(cls):
            found = cls, _mapping(cls, op, param)
            if found[1] is not None:
                break
    if found is None:
        accepted = sorted({p for c in classes for p in _signature_params(c)})
        raise ValueError(f"param: {label!r}: {classes[0].__name__} has no parameter "
                         f"{param!r} (its parameters: {', '.join(accepted)})")
    cls, mapping = found
    if mapping is None:
        raise ValueError(f"param: {label!r}: PyMC does not store {cls.__name__}'s {param!r} "
                         f"on its own (it is combined with other parameters); sweep another "
                         f"parametrisation of the prior")
    index, symbol, graph = mapping
    stored = _peel(op.dist_params(node)[index])
    random = [v.name or str(v) for v in ancestors([stored])
              if v in set(model.basic_RVs) or v in set(model.value_vars)]
    if random:
        raise ValueError(f"param: {label!r} is not a fixed number: it depends on the random "
                         f"variable(s) {', '.join(sorted(set(random)))}; sweep a parameter of "
                         f"their priors instead")
    value = np.asarray(stored.data if isinstance(stored, Constant) else stored.eval(),
                       dtype=float)
    forward = pytensor.function([symbol], graph, mode="FAST_COMPILE") if value.ndim == 0 \
        else _vector_function(symbol, graph, value.ndim)
    rtol = 1e-9 if np.dtype(stored.dtype).itemsize >= 8 else 1e-6
    user_value = _inverse(forward, value, hint, rtol=rtol)
    if user_value is None:
        raise ValueError(f"param: {label!r}: cannot recover the {param!r} of {cls.__name__} "
                         f"from the value PyMC stores ({value.tolist()}); sweep another "
                         f"parameter of the prior")
    integer = np.dtype(rv.dtype).kind in "iu" and np.dtype(stored.dtype).kind in "iu"
    return Hyperparameter(var, param, cls.__name__, user_value, f"{var}{HYPER_SEP}{param}",
                          index, symbol, graph, integer)


def _vector_function(symbol, graph, ndim: int):
    x = pt.tensor(dtype="float64", shape=(None,) * ndim)
    return pytensor.function([x], vectorize_graph(graph, replace={symbol: x}),
                             mode="FAST_COMPILE")


def lift_hyperparameters(model: pm.Model,
                         params: Sequence[str | Hyperparameter]) -> pm.Model:
    """Return a copy of ``model`` whose prior parameters ``params`` are ``pm.Data``.

    Parameters
    ----------
    model : pymc.Model
        Any PyMC model (a family's keeps its :class:`~pymc_hier.ModelSpec`).
    params : sequence of str or Hyperparameter
        ``"var.param"`` names (``"tau.sigma"``) or located parameters.

    Returns
    -------
    pymc.Model
        A new model, equal in distribution, where each parameter is the ``pm.Data``
        ``"var__param"`` (value in the user's parametrisation: ``Gamma``'s ``beta``, not
        the scale PyMC stores). The original model's graph is untouched, but the two
        models share the original's ``pm.Data`` (value transforms built from them, such as
        interval bounds, refer to those very variables): ``pm.set_data`` on one sets the
        other. A prior sweep never sets data; it passes values alongside.

    Raises
    ------
    ValueError
        For a parameter that cannot be located (see :func:`find_hyperparameter`) or whose
        ``pm.Data`` name is taken.

    Examples
    --------
    >>> import pymc as pm
    >>> from pymc_hier.sensitivity.hyper import lift_hyperparameters
    >>> with pm.Model() as m:
    ...     tau = pm.Gamma("tau", alpha=2.0, beta=4.0)
    >>> lifted = lift_hyperparameters(m, ["tau.beta"])
    >>> float(lifted["tau__beta"].get_value())
    4.0
    """
    from pymc.model.fgraph import fgraph_from_model, model_from_fgraph, model_named
    from pymc.pytensorf import toposort_replace

    spec = get_spec(model, warn=False)
    located = [p if isinstance(p, Hyperparameter) else find_hyperparameter(
        model, *_split(p)) for p in params]
    names = [p.name for p in located]
    taken = [n for n in names if n in model.named_vars]
    if taken or len(set(names)) != len(names):
        raise ValueError(f"param: the pm.Data name(s) {taken or names} are taken in the model")
    initvals = {rv.name: v for rv, v in model.rvs_to_initial_values.items() if v is not None}
    saved = dict(model.rvs_to_initial_values)
    try:
        # PyMC cannot convert a model with custom initial values; they are set aside for
        # the copy and given to the new model afterwards.
        for rv in saved:
            model.rvs_to_initial_values[rv] = None
        fgraph, memo = fgraph_from_model(model, inlined_views=True)
    finally:
        model.rvs_to_initial_values.update(saved)
    # PyMC copies the model's pm.Data; value transforms built from them (an interval
    # transform holding its bounds) would still point at the originals, so the copy keeps
    # the originals. The sweep never sets data on it (nutpie's with_data copies).
    shared = [(memo[v].owner.inputs[0], v) for v in model.data_vars
              if isinstance(v, SharedVariable) and memo[v].owner is not None]
    toposort_replace(fgraph, [(c, v) for c, v in shared if c is not v])
    by_var: dict[str, list[Hyperparameter]] = {}
    for p in located:
        by_var.setdefault(p.var, []).append(p)
    replacements = []
    for var, group in by_var.items():
        rv = memo[model[var]].owner.inputs[0]
        node = rv.owner
        params_in = list(node.op.dist_params(node))
        for p in group:
            value = np.asarray(p.value, dtype="int64" if p.integer else "float64")
            shared = pytensor.shared(value, name=p.name, shape=value.shape)
            params_in[p.index] = p.input_of(model_named(shared, p.name))
        try:
            new = _rebuild(node, params_in)
        except Exception as err:  # noqa: BLE001 - reported with the parameter's name
            raise ValueError(f"param: cannot rebuild {var!r} with its parameters as data "
                             f"({type(err).__name__}: {err})") from None
        replacements += list(zip(node.outputs, new, strict=True))
    try:
        toposort_replace(fgraph, replacements)
    except TypeError as err:
        raise ValueError(f"param: cannot hold {', '.join(p.label for p in located)} as "
                         f"data in this model ({err})") from None
    lifted = model_from_fgraph(fgraph, mutate_fgraph=True)
    for name, value in initvals.items():
        lifted.set_initval(lifted[name], value)
    if spec is not None:
        attach_spec(lifted, spec)
    return lifted


def _split(label: str) -> tuple[str, str]:
    var, sep, param = str(label).partition(".")
    if not sep or not var or not param:
        raise ValueError(f"param: expected 'var.param' such as 'tau.sigma', got {label!r}")
    return var, param


def data_value(model: pm.Model, name: str) -> np.ndarray:
    """Return the current value of the model's ``pm.Data`` ``name``."""
    var = model[name]
    return np.asarray(var.get_value() if isinstance(var, SharedVariable) else var.data)


def hyper_defaults(model: pm.Model, names: Sequence[str]) -> Mapping[str, np.ndarray]:
    """Return the model's own values of the ``pm.Data`` ``names`` (a sweep's base)."""
    return {n: data_value(model, n) for n in names}
