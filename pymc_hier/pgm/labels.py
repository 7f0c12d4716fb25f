"""Distribution labels in Unicode: ``σⱼ``, ``Normal(μ, τ)``, ``HalfNormal(σ=1)``, ``f(μ, τ)``.

The labels are read off the model graph itself (the parameters each random variable was
built with), so they are true for any PyMC model, not only for pymc_hier's factories.
"""

from __future__ import annotations

import numpy as np
from pytensor.compile import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import ancestors
from pytensor.scalar.basic import Reciprocal
from pytensor.tensor.elemwise import DimShuffle, Elemwise
from pytensor.tensor.random.op import RandomVariable
from pytensor.tensor.random.type import RandomType
from pytensor.tensor.type_other import NoneTypeT

from pymc_hier.pgm.graph import _evaluate
from pymc_hier.pgm.notation import format_number, format_value, parse_number

__all__ = ["Labeller", "dist_name"]

# Display names of each distribution's parameters, in PyMC's ``dist_params`` order.
# ("loc", 0.0) is a parameter shown only when it differs from 0; a name starting with
# "1/" is a scale stored as the reciprocal of the parameter PyMC users give (a rate).
_PARAMS: dict[str, tuple] = {
    "Normal": ("μ", "σ"), "HalfNormal": (("loc", 0.0), "σ"), "HalfCauchy": ("β",),
    "Cauchy": ("α", "β"), "Uniform": ("lower", "upper"), "StudentT": ("ν", "μ", "σ"),
    "HalfStudentT": ("ν", "σ"), "LogNormal": ("μ", "σ"), "Beta": ("α", "β"),
    "Poisson": ("μ",), "Exponential": ("1/λ",), "Gamma": ("α", "1/β"),
    "InverseGamma": ("α", "β"), "Binomial": ("n", "p"), "Bernoulli": ("p",),
    "Laplace": ("μ", "b"), "Logistic": ("μ", "s"), "Weibull": ("α", "β"),
    "TruncatedNormal": ("μ", "σ", "lower", "upper"), "VonMises": ("μ", "κ"),
    "Pareto": ("α", "m"), "Kumaraswamy": ("a", "b"), "Gumbel": ("μ", "β"),
    "SkewNormal": ("μ", "σ", "α"), "Triangular": ("lower", "c", "upper"),
    "LogitNormal": ("μ", "σ"), "ExGaussian": ("μ", "σ", "ν"), "Moyal": ("μ", "σ"),
    "Geometric": ("p",), "BetaBinomial": ("n", "α", "β"),
}
_MAX_DEPTH = 3


def dist_name(var: Variable) -> str:
    """Name of the distribution of a random variable (``CustomDist`` without its suffix)."""
    op = var.owner.op
    name = getattr(op, "_print_name", (None,))[0] or type(op).__name__.removesuffix("RV")
    return "CustomDist" if name.startswith("CustomDist") else name


def _params(var: Variable) -> list[Variable]:
    node = var.owner
    try:
        return list(node.op.dist_params(node))
    except Exception:  # SymbolicRandomVariable without a full signature
        return [x for x in node.inputs if not isinstance(x.type, RandomType | NoneTypeT)]


def _is_reciprocal(var: Variable) -> bool:
    return (var.owner is not None and isinstance(var.owner.op, Elemwise)
            and isinstance(var.owner.op.scalar_op, Reciprocal))


def _is_random(var: Variable) -> bool:
    """Whether ``var`` depends on a random draw (so must never be evaluated for a label)."""
    return any(
        isinstance(a.type, RandomType)
        or (a.owner is not None and isinstance(a.owner.op, RandomVariable))
        for a in ancestors([var])
    )


class Labeller:
    """Format parameters of a model's variables with the model's own symbols.

    Parameters
    ----------
    named : mapping of Variable to str or None
        Symbol of every named variable; None for hidden ones (shown by their value).
    """

    def __init__(self, named: dict[Variable, str | None]):
        self.named = named

    def value(self, var: Variable, depth: int = 0) -> str:
        """Format one parameter: a symbol, a number, ``f(parents)`` or ``…``."""
        while var not in self.named and var.owner is not None \
                and isinstance(var.owner.op, DimShuffle):
            var = var.owner.inputs[0]
        if var in self.named:
            symbol = self.named[var]
            if symbol is not None:
                return symbol
            if isinstance(var, SharedVariable):
                return format_value(var.get_value(borrow=True))
            return "…"
        if isinstance(var, Constant):
            return format_value(var.data)
        if isinstance(var, SharedVariable):
            return format_value(var.get_value(borrow=True))
        unnamed_rv = var.owner is not None and isinstance(var.owner.op, RandomVariable)
        if unnamed_rv and depth < _MAX_DEPTH:
            return self.dist(var, depth + 1)  # an unnamed component (Censored, Mixture)
        parents = self.parents(var)
        if parents:
            return f"f({', '.join(parents)})"
        if not _is_random(var) and (values := _evaluate([var])) is not None:
            return format_value(values[0])
        return "…"

    def parents(self, var: Variable) -> list[str]:
        """Symbols of the visible named variables ``var`` is computed from, in order."""
        found: dict[str, None] = {}
        inputs = var.owner.inputs if var.owner is not None else []
        for a in ancestors(inputs, blockers=list(self.named)):
            if a in self.named and self.named[a] is not None:
                found[self.named[a]] = None
        return list(found)

    def dist(self, var: Variable, depth: int = 0) -> str:
        """``Normal(μ, τ)`` / ``HalfNormal(σ=1)``: the distribution with its parameters."""
        name = dist_name(var)
        params = _params(var)
        spec = _PARAMS.get(name)
        if spec is None or len(spec) != len(params):
            shown = [self.value(p, depth) for p in params]
            return f"{name}({', '.join(shown)})" if shown else name
        items: list[tuple[str, str]] = []
        for label, p in zip(spec, params, strict=True):
            if isinstance(label, tuple):  # shown only when not at its default
                label, default = label
                text = self.value(p, depth)
                if text == format_number(default):
                    continue
            elif label.startswith("1/"):
                label = label[2:]
                text = self._reciprocal(p, depth)
            else:
                text = self.value(p, depth)
            items.append((label, text))
        numeric = all(_is_number(t) for _, t in items)
        parts = [f"{k}={t}" if numeric else t for k, t in items]
        return f"{name}({', '.join(parts)})" if parts else name

    def _reciprocal(self, p: Variable, depth: int) -> str:
        if _is_reciprocal(p):
            return self.value(p.owner.inputs[0], depth)
        text = self.value(p, depth)
        if _is_number(text):
            value = parse_number(text)
            return format_number(1.0 / value) if value != 0 else "∞"
        return f"1/{text}"


def _is_number(text: str) -> bool:
    value = parse_number(text)
    return value is not None and bool(np.isfinite(value))
