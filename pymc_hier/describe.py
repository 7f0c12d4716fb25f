"""The model as written, for any PyMC model: :func:`describe_model`.

Two views of one model, both a :class:`~pymc_hier.generative.GenerativeModel`:

- ``"generative"``: the model as its family writes it (the decay model's latent ``N0`` and
  ``t0``, eight schools' ``theta``), whatever the sampler's parametrisation. A model
  without a family (or whose family gives no description) gets the sampler view.
- ``"sampler"``: read off the PyMC graph, variable by variable: free variables are latent,
  observed ones observed, ``pm.Data`` fixed, deterministics and potentials computed. Each
  distribution parameter is written as an expression of the named variables it is computed
  from (``mu + tau * z``, ``a[g]``, ``exp(-alpha * (t1 - t0))``); what has no simple
  written form becomes ``f(parents)``.

The PGM (:mod:`pymc_hier.pgm`) and the report's equations draw from this description.
"""

from __future__ import annotations

import re

import numpy as np
import pymc as pm
import pytensor
import pytensor.scalar as ps
from pymc.model_graph import NodeType, get_node_type
from pytensor.compile import SharedVariable
from pytensor.compile.mode import Mode
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import ancestors
from pytensor.tensor.elemwise import DimShuffle, Elemwise
from pytensor.tensor.random.op import RandomVariable
from pytensor.tensor.random.type import RandomType
from pytensor.tensor.subtensor import AdvancedSubtensor
from pytensor.tensor.type_other import NoneTypeT

from pymc_hier.generative import GREEK_NAMES, GenerativeModel, Node, Symbol
from pymc_hier.spec import HYPER_SEP, ModelSpec, current_priors, get_spec

__all__ = ["VIEWS", "describe_model", "evaluate_constant", "symbol_of", "variable_shapes"]

#: Views :func:`describe_model` draws.
VIEWS = ("generative", "sampler")

# Parameter names of PyMC's distributions, in the order of their ``dist_params``; a name
# starting with "1/" is stored as the reciprocal of what PyMC users give (a rate).
_PARAMS: dict[str, tuple[str, ...]] = {
    "Normal": ("mu", "sigma"), "HalfNormal": ("loc", "sigma"), "HalfCauchy": ("beta",),
    "HalfStudentT": ("nu", "sigma"), "TruncatedNormal": ("mu", "sigma", "lower", "upper"),
    "SkewNormal": ("mu", "sigma", "alpha"), "Triangular": ("lower", "c", "upper"),
    "LogitNormal": ("mu", "sigma"), "ExGaussian": ("mu", "sigma", "nu"),
    "Moyal": ("mu", "sigma"),
    "Cauchy": ("alpha", "beta"), "Uniform": ("lower", "upper"),
    "StudentT": ("nu", "mu", "sigma"), "LogNormal": ("mu", "sigma"),
    "Beta": ("alpha", "beta"), "Poisson": ("mu",), "Exponential": ("1/lam",),
    "Gamma": ("alpha", "1/beta"), "InverseGamma": ("alpha", "beta"),
    "Binomial": ("n", "p"), "Bernoulli": ("p",), "Laplace": ("mu", "b"),
    "Logistic": ("mu", "s"), "Weibull": ("alpha", "beta"), "VonMises": ("mu", "kappa"),
    "Pareto": ("alpha", "m"), "Kumaraswamy": ("a", "b"), "Gumbel": ("mu", "beta"),
    "Geometric": ("p",), "BetaBinomial": ("n", "alpha", "beta"),
    "NegativeBinomial": ("n", "p"), "Categorical": ("p",),
}
# parameters drawn only when they differ from this default
_DEFAULTS = {("HalfNormal", "loc"): 0.0, ("HalfCauchy", "loc"): 0.0}
_BINARY = {ps.Add: "+", ps.Sub: "-", ps.Mul: "*", ps.TrueDiv: "/", ps.Pow: "**"}
_UNARY = {ps.Exp: "exp", ps.Log: "log", ps.Sqrt: "sqrt", ps.Abs: "abs",
          ps.Sigmoid: "invlogit"}
_MAX_DEPTH = 8

#: Symbols of pymc_hier's own data names, in the lecture's notation.
KNOWN_SYMBOLS = {
    "n0_max": Symbol("N", ("0", "max")),
    "N0_max": Symbol("N", ("0", "max")),
    "day_start": Symbol("t", ("0", "min")),
    "day_end": Symbol("t", ("0", "max")),
    "t_measured": Symbol("t", ("1",)),
    "n_measured": Symbol("N", ("1",), accent="hat"),
}
_ACCENT_WORDS = ("hat", "tilde", "bar")
_HEAD = re.compile(r"^([A-Za-z]+?)(\d+)$")


def symbol_of(name: str) -> Symbol:
    """Return the symbol of a variable, read from its name.

    ``alpha`` → α, ``t0`` → t₀, ``N0_max`` → N₀,ₘₐₓ, ``theta_tilde`` → θ̃, ``theta_new`` →
    θ with subscript "new", ``sigma_y`` → σ with subscript "y". Names with other shapes are
    kept whole.
    """
    if name in KNOWN_SYMBOLS:
        return KNOWN_SYMBOLS[name]
    head, *rest = name.split("_")
    if not head or not all(rest):
        return Symbol(name)
    subs: list[str] = []
    match = _HEAD.match(head)
    if head in GREEK_NAMES:
        base = GREEK_NAMES[head]
    elif match is not None:
        base = GREEK_NAMES.get(match.group(1), match.group(1))
        subs.append(match.group(2))
    else:
        base = head
    accent = None
    for part in rest:
        if part in _ACCENT_WORDS and accent is None:
            accent = part
        else:
            subs.append(part)
    return Symbol(base, tuple(subs), accent)


def describe_model(model: pm.Model, *, view: str = "generative") -> GenerativeModel:
    """Return the model as written: its family's description, or one read off its graph.

    Parameters
    ----------
    model : pymc.Model
        Any PyMC model.
    view : {"generative", "sampler"}, default "generative"
        See the module docstring.

    Returns
    -------
    GenerativeModel

    Raises
    ------
    TypeError
        When ``model`` is not a ``pm.Model``.
    ValueError
        For an unknown view.
    """
    if not isinstance(model, pm.Model):
        raise TypeError(f"model: expected a pymc.Model, got {type(model).__name__}")
    if view not in VIEWS:
        raise ValueError(f"view: must be one of {', '.join(map(repr, VIEWS))}, got {view!r}")
    if view == "generative":
        spec = get_spec(model)
        if spec is not None and spec.family.generative is not None:
            # prior parameters held as pm.Data may have been changed since the build
            spec = ModelSpec(spec.family, spec.options, current_priors(model, spec), spec.data,
                             spec.factory, spec.structure)
            return spec.family.generative(spec)
    return _from_graph(model)


# Shape rewrites on, C compilation off: shapes come from the parameters, not from draws.
_SHAPE_MODE = Mode(linker="py", optimizer="fast_compile")


def evaluate_constant(outputs: list) -> list | None:
    """Evaluate PyTensor expressions that need no input (shapes), or None if that fails.

    Compiled with the ``fast_compile`` rewrites, which read shapes off the parameters, so
    that no random variable is drawn (``Flat`` and a ``CustomDist`` without ``random``
    cannot be, pymc#8024 and pymc#8077).
    """
    if not outputs:
        return []
    try:
        fn = pytensor.function([], outputs, mode=_SHAPE_MODE, on_unused_input="ignore")
        return fn()
    except Exception:  # any failure: the caller falls back to static shapes
        return None


def variable_shapes(model: pm.Model, names) -> dict[str, tuple]:
    """Return the shape of each named variable, without drawing any.

    A shape that cannot be evaluated is the static one (``None`` for unknown lengths).
    """
    names = list(names)
    values = evaluate_constant([model[n].shape for n in names])
    if values is not None:
        return {n: tuple(int(s) for s in v) for n, v in zip(names, values, strict=True)}
    shapes = {}
    for name in names:  # one at a time: only the failing ones fall back
        value = evaluate_constant([model[name].shape])
        shapes[name] = (tuple(int(s) for s in value[0]) if value is not None
                        else tuple(getattr(model[name].type, "shape", ()) or ()))
    return shapes


def dim_lengths(model: pm.Model) -> dict[str, int | None]:
    """Return the current length of every model dim (None where it cannot be evaluated)."""
    dims = list(model.dim_lengths)
    values = evaluate_constant([model.dim_lengths[d] for d in dims])
    if values is None:
        values = [(v[0] if (v := evaluate_constant([model.dim_lengths[d]])) else None)
                  for d in dims]
    return {d: (None if v is None else int(v)) for d, v in zip(dims, values, strict=True)}


def _hidden(model) -> set[str]:
    """Hyperparameters held as data and the observed values' own data: not drawn."""
    rvs = {v.name for v in model.free_RVs + model.observed_RVs}
    hidden = {v.name for v in model.data_vars
              if (parts := v.name.partition(HYPER_SEP))[1] and parts[2] and parts[0] in rvs}
    values = {model.rvs_to_values[rv] for rv in model.observed_RVs}
    hidden |= {v.name for v in model.data_vars if v in values}
    return hidden


def _dims(model: pm.Model, names) -> tuple[dict[str, tuple[str, ...]], dict[str, int | None]]:
    """Dims of every variable and their lengths; axes without a dim get one of their own.

    An unnamed axis is called ``"#k:n"`` (axis ``k`` of length ``n``), so that variables
    of the same shape share their plates, as in PyMC's graph.
    """
    lengths = dim_lengths(model)
    shapes = variable_shapes(model, names)
    dims = {}
    for name in names:
        given = model.named_vars_to_dims.get(name)
        shape = shapes[name]
        if given is None:
            given = (None,) * len(shape)
        own = []
        for k, dim in enumerate(given):
            if dim is None:
                n = shape[k] if k < len(shape) else None
                dim = f"#{k}:{'?' if n is None else n}"
                lengths.setdefault(dim, n)
            own.append(dim)
        dims[name] = tuple(own)
    return dims, lengths


def _from_graph(model: pm.Model) -> GenerativeModel:
    hidden = _hidden(model)
    names = {var: name for name, var in model.named_vars.items() if name not in hidden}
    writer = _Writer(names, model)
    all_dims, lengths = _dims(model, list(names.values()))
    nodes = []
    for name, var in model.named_vars.items():
        if name in hidden:
            continue
        kind = get_node_type(name, model)
        dims = all_dims[name]
        symbol = symbol_of(name)
        if kind in (NodeType.FREE_RV, NodeType.OBSERVED_RV):
            dist, params = writer.distribution(var)
            nodes.append(Node(name, "latent" if kind == NodeType.FREE_RV else "observed",
                              symbol, dist=dist, params=params, dims=dims))
        elif kind == NodeType.DETERMINISTIC:
            nodes.append(Node(name, "deterministic", symbol, dims=dims,
                              expr=writer.expression(var.owner.inputs[0]
                                                     if var.owner is not None else var,
                                                     skip=var)))
        elif kind == NodeType.DATA:
            nodes.append(Node(name, "fixed", symbol, dims=dims))
        else:
            nodes.append(Node(name, "potential", symbol, dims=dims,
                              expr=writer.expression(var, skip=var)))
    used = {d for n in nodes for d in n.dims}
    return GenerativeModel(tuple(nodes),
                           dim_names={d: ("" if d.startswith("#") else d) for d in used},
                           dim_lengths={d: n for d, n in lengths.items()
                                        if d in used and n is not None})


class _Writer:
    """Writes graph expressions over the model's named variables."""

    def __init__(self, names: dict[Variable, str], model: pm.Model):
        self.names = names
        self.model = model

    def distribution(self, var: Variable, *, depth: int = 0
                     ) -> tuple[str, tuple[tuple[str, str], ...]]:
        op = var.owner.op
        name = getattr(op, "_print_name", (None,))[0] or type(op).__name__.removesuffix("RV")
        if name.startswith("CustomDist"):
            name = "CustomDist"
        params = _dist_params(var)
        labels = _PARAMS.get(name)
        if labels is None or len(labels) != len(params):
            labels = tuple(f"p{k}" for k in range(len(params)))
        out = []
        for label, param in zip(labels, params, strict=True):
            if label.startswith("1/"):
                label = label[2:]
                text = self._reciprocal(param, depth)
            else:
                text = self.expression(param, depth=depth)
            default = _DEFAULTS.get((name, label))
            if default is not None and _number(text) == default:
                continue
            out.append((label, text))
        return name, tuple(out)

    def _reciprocal(self, var: Variable, depth: int = 0) -> str:
        inner = _strip(var)
        if inner.owner is not None and isinstance(inner.owner.op, Elemwise) \
                and isinstance(inner.owner.op.scalar_op, ps.Reciprocal):
            return self.expression(inner.owner.inputs[0], depth=depth)
        text = self.expression(var, depth=depth)
        value = _number(text)
        if value is not None:
            return repr(1.0 / value) if value != 0 else "inf"
        return f"1 / ({text})"

    def expression(self, var: Variable, *, skip: Variable | None = None, depth: int = 0) -> str:
        """``var`` as an expression of named variables (``f(...)`` where it has none)."""
        var = _strip(var)
        if var is not skip and var in self.names:
            return self.names[var]
        if isinstance(var, Constant | SharedVariable):
            return _value(var.data if isinstance(var, Constant) else var.get_value(borrow=True))
        node = var.owner
        if node is None or depth > _MAX_DEPTH:
            return self._opaque(var)
        op = node.op
        if isinstance(op, Elemwise):
            scalar = type(op.scalar_op)
            args = [self.expression(x, depth=depth + 1) for x in node.inputs]
            if scalar in _BINARY and len(args) == 2:
                return f"({args[0]}) {_BINARY[scalar]} ({args[1]})"
            if scalar is ps.Neg:
                return f"-({args[0]})"
            if scalar is ps.Reciprocal:
                return f"1 / ({args[0]})"
            if scalar in _UNARY:
                return f"{_UNARY[scalar]}({args[0]})"
            if scalar is ps.Sqr:
                return f"({args[0]}) ** 2"
        if isinstance(op, AdvancedSubtensor) and len(node.inputs) == 2:
            base, index = (_strip(x) for x in node.inputs)
            if base in self.names and index in self.names:
                return f"{self.names[base]}[{self.names[index]}]"
        if isinstance(op, RandomVariable) and depth < 3:  # an unnamed component (Censored)
            name, params = self.distribution(var, depth=depth + 1)
            return f"{name}({', '.join(v for _, v in params)})" if params else f"{name}()"
        return self._opaque(var)

    def _opaque(self, var: Variable) -> str:
        inputs = var.owner.inputs if var.owner is not None else []
        found = dict.fromkeys(self.names[a] for a in ancestors(inputs, blockers=list(self.names))
                              if a in self.names)
        return f"f({', '.join(found)})" if found else "..."


def _strip(var: Variable) -> Variable:
    while var.owner is not None and isinstance(var.owner.op, DimShuffle):
        var = var.owner.inputs[0]
    return var


def _dist_params(var: Variable) -> list[Variable]:
    node = var.owner
    try:
        return list(node.op.dist_params(node))
    except Exception:  # SymbolicRandomVariable without a full signature
        return [x for x in node.inputs if not isinstance(x.type, RandomType | NoneTypeT)]


def _value(value) -> str:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iufb" or arr.size == 0:
        return "..."
    flat = arr.ravel()
    if np.all(flat == flat[0]) and np.isfinite(flat[0]):
        return repr(float(flat[0]))
    return "..."


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
