"""The generative description of a model: how its data were made, as a statistician writes it.

A :class:`GenerativeModel` lists the model's quantities as :class:`Node` objects (latent,
observed, fixed or deterministic), each with its :class:`Symbol` and, for random ones, its
distribution and parameters written as small expressions over the other nodes' names::

    Node("N0", "latent", Symbol("N", ("0",)), dist="Uniform",
         params=(("lower", "0"), ("upper", "N0_max")), dims=("widget",))

It is independent of how a sampler sees the model: the decay model integrates ``N0`` out
or samples a rank transform of it, yet its description says ``N0,i ~ U(0, N0,max)``. The
PGM (:mod:`pymc_hier.pgm`) and the report's equations are drawn from it; model families
supply one (:attr:`pymc_hier.ModelFamily.generative`).

Expressions use Python's syntax, restricted to numbers, node names, ``+ - * / **``, unary
minus, the functions in :data:`FUNCTIONS`, indexing by another node (``a[g]``: the group
``g`` of each observation picks its ``a``), other calls (``f(mu, tau)``: a function of its
arguments that is not written out) and ``...`` (something not written out); :func:`parse`
checks them and
:func:`render_unicode` writes them in Unicode with the nodes' symbols (``N₀,ᵢ e^(−α (t₁,ᵢ −
t₀,ᵢ))``). Other renderers (MathML, LaTeX) walk the same tree (:class:`Expr`).

Nothing here imports PyMC.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "FUNCTIONS",
    "GREEK_NAMES",
    "KINDS",
    "Expr",
    "GenerativeModel",
    "Node",
    "Symbol",
    "parse",
    "render_unicode",
]

#: Node kinds: drawn as circles (latent), shaded circles (observed), dots (fixed), boxes
#: (deterministic) and factors (potential: a term added to the log density).
KINDS = ("latent", "observed", "fixed", "deterministic", "potential")
#: Functions an expression may call, with their written names.
FUNCTIONS = MappingProxyType({"exp": "exp", "log": "log", "sqrt": "√", "abs": "abs",
                              "logit": "logit", "invlogit": "logit⁻¹", "Phi": "Φ"})
#: Variable-name words written as Greek letters (``"lam"`` is PyMC's spelling of lambda).
GREEK_NAMES = MappingProxyType({
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "lam": "λ",
    "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ",
    "upsilon": "υ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π",
    "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
})
#: Accents a symbol may carry.
ACCENTS = ("hat", "tilde", "bar")

_SUB = dict(zip("0123456789+-=()aehijklmnoprstuvxβγρφχ",
                "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ", strict=True))
# precomposed accented letters where Unicode has them; a combining accent otherwise
_PRECOMPOSED = {("hat", "N"): "N̂", ("hat", "y"): "ŷ", ("hat", "x"): "x̂", ("tilde", "n"): "ñ",
                ("bar", "x"): "x̄"}
_COMBINING = {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304"}


def _subscript(text: str) -> str:
    """``text`` in Unicode subscript characters where each has one, else ``_text``."""
    out = [_SUB.get(ch) for ch in text]
    return "".join(out) if None not in out else f"_{text}"


@dataclass(frozen=True)
class Symbol:
    r"""A mathematical symbol: a base letter, an optional accent and subscripts.

    Parameters
    ----------
    base : str
        The letter (``"N"``, ``"α"``, ``"θ"``) or a short word.
    sub : tuple of str
        Subscripts, written comma-separated: ``Symbol("N", ("0", "max"))`` is
        :math:`N_{0,\max}`. Index letters of a node's dims are appended when it is drawn.
    accent : {"hat", "tilde", "bar"}, optional
        An accent over the base: ``Symbol("N", ("1",), "hat")`` is :math:`\hat{N}_1`.
    """

    base: str
    sub: tuple[str, ...] = ()
    accent: str | None = None

    def __post_init__(self):
        if not isinstance(self.base, str) or not self.base:
            raise ValueError(f"base: expected a non-empty string, got {self.base!r}")
        if isinstance(self.sub, str):
            object.__setattr__(self, "sub", (self.sub,))
        object.__setattr__(self, "sub", tuple(str(s) for s in self.sub))
        if self.accent is not None and self.accent not in ACCENTS:
            raise ValueError(f"accent: expected one of {ACCENTS}, got {self.accent!r}")

    def unicode(self, indices: Iterable[str] = ()) -> str:
        """Write the symbol in Unicode, with ``indices`` appended to its subscripts."""
        base = self.base
        if self.accent is not None:
            base = _PRECOMPOSED.get((self.accent, base), base + _COMBINING[self.accent])
        subs = [*self.sub, *indices]
        if not subs:
            return base
        return base + ",".join(_subscript(s) for s in subs).replace(",_", ",")


@dataclass(frozen=True)
class Node:
    """One quantity of a generative model.

    Parameters
    ----------
    name : str
        Its name: the model variable it stands for (``"N0"``), so that posteriors can be
        matched to it, or a name of the description's own.
    kind : {"latent", "observed", "fixed", "deterministic"}
        How it enters: unknown and inferred, measured, given, or computed.
    symbol : Symbol
        How it is written.
    dist : str, optional
        Distribution name (``"Uniform"``, ``"Normal"``) of latent and observed nodes.
    params : tuple of (str, str)
        The distribution's parameters as ``(name, expression)`` pairs, in order.
    expr : str, optional
        The expression of a deterministic node.
    dims : tuple of str
        Model dims it is repeated over (its plates).
    description : str
        A few words for people (``"initial amount"``).
    unit : str, optional
        Its unit, where it has one.
    """

    name: str
    kind: str
    symbol: Symbol
    dist: str | None = None
    params: tuple[tuple[str, str], ...] = ()
    expr: str | None = None
    dims: tuple[str, ...] = ()
    description: str = ""
    unit: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {self.kind!r}")
        if not isinstance(self.symbol, Symbol):
            raise TypeError(f"symbol: expected a Symbol, got {type(self.symbol).__name__}")
        object.__setattr__(self, "params", tuple((str(k), str(v)) for k, v in self.params))
        object.__setattr__(self, "dims", tuple(self.dims))
        random = self.kind in ("latent", "observed")
        if random and self.dist is None and self.expr is None:
            raise ValueError(f"dist: the {self.kind} node {self.name!r} needs a distribution")
        if self.kind in ("deterministic", "potential") and self.expr is None:
            raise ValueError(f"expr: the {self.kind} node {self.name!r} needs an expression")

    def expressions(self) -> list[str]:
        """Every expression of the node (its parameters', or its own)."""
        out = [v for _, v in self.params]
        if self.expr is not None:
            out.append(self.expr)
        return out


@dataclass(frozen=True)
class GenerativeModel:
    """A model as a statistician writes it: its nodes, their laws and their plates.

    Parameters
    ----------
    nodes : tuple of Node
        In the order they are written (parents before children reads best).
    dim_names : mapping of str to str, optional
        A word for each dim's units (``{"widget": "widget"}``); the dim's name by default.
    index_letters : mapping of str to str, optional
        The index letter of each dim (``{"widget": "i"}``); chosen by the renderer where
        missing.

    Raises
    ------
    ValueError
        For repeated node names, an expression that does not parse or names an unknown
        node, or a cycle among the nodes.
    """

    nodes: tuple[Node, ...]
    dim_names: Mapping[str, str] = field(default_factory=dict)
    index_letters: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        nodes = tuple(self.nodes)
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "dim_names", MappingProxyType(dict(self.dim_names)))
        object.__setattr__(self, "index_letters", MappingProxyType(dict(self.index_letters)))
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"nodes: repeated names {dup}")
        known = set(names)
        for node in nodes:
            for text in node.expressions():
                unknown = parse(text).names() - known
                if unknown:
                    raise ValueError(f"nodes: {node.name!r} refers to unknown node(s) "
                                     f"{sorted(unknown)} in {text!r}")
        self._order()  # raises on cycles

    def __getitem__(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def __contains__(self, name: str) -> bool:
        return any(node.name == name for node in self.nodes)

    @property
    def symbols(self) -> dict[str, Symbol]:
        """Symbol of every node, by name."""
        return {n.name: n.symbol for n in self.nodes}

    def parents(self, name: str) -> list[str]:
        """Names of the nodes ``name``'s law or expression refers to, in node order."""
        used = set().union(*(parse(t).names() for t in self[name].expressions()))
        return [n.name for n in self.nodes if n.name in used]

    def edges(self) -> list[tuple[str, str]]:
        """``(parent, child)`` pairs, in node order."""
        return [(p, n.name) for n in self.nodes for p in self.parents(n.name)]

    def dims(self) -> list[str]:
        """Every dim used, in order of first appearance."""
        return list(dict.fromkeys(d for n in self.nodes for d in n.dims))

    def _order(self) -> list[str]:
        done: list[str] = []
        visiting: set[str] = set()

        def visit(name):
            if name in done:
                return
            if name in visiting:
                raise ValueError(f"nodes: a cycle runs through {name!r}")
            visiting.add(name)
            for parent in self.parents(name):
                visit(parent)
            visiting.discard(name)
            done.append(name)

        for node in self.nodes:
            visit(node.name)
        return done

    def letters(self) -> dict[str, str]:
        """Index letter of every dim: given ones first, then ``i, j, k, ...`` in order."""
        letters = dict(self.index_letters)
        pool = [c for c in "ijklmnpqrs" if c not in letters.values()]
        for dim in self.dims():
            if dim not in letters:
                letters[dim] = pool.pop(0) if pool else dim[:1]
        return letters

    def equation(self, name: str) -> str:
        """Write the node's law in Unicode: ``N₀,ᵢ ~ Uniform(0, N₀,ₘₐₓ)`` (``t₁,ᵢ`` if fixed)."""
        node = self[name]
        letters = self.letters()
        symbols = {n.name: n.symbol.unicode([letters[d] for d in n.dims]) for n in self.nodes}
        head = symbols[name]
        if node.kind == "fixed":
            return head
        bare = {n.name: n.symbol.unicode() for n in self.nodes}
        if node.kind == "deterministic":
            return f"{head} = {render_unicode(parse(node.expr), symbols, bare)}"
        if node.kind == "potential":
            return f"{head}: log p += {render_unicode(parse(node.expr), symbols, bare)}"
        args = ", ".join(render_unicode(parse(v), symbols, bare) for _, v in node.params)
        return f"{head} ~ {node.dist}({args})"


# -- expressions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Expr:
    """A parsed expression, a node of the tree the renderers walk.

    ``op`` is ``"num"``, ``"name"``, ``"neg"``, ``"call"`` (one of :data:`FUNCTIONS`),
    ``"apply"`` (another function, not written out), ``"index"`` (``a[g]``), ``"opaque"``
    (``...``) or a binary operator (``"+"``, ``"-"``, ``"*"``, ``"/"``, ``"**"``); ``args``
    its operands (an :class:`Expr` each, or the number, name or function name).
    """

    op: str
    args: tuple

    def names(self) -> set[str]:
        """Node names used."""
        if self.op == "name":
            return {self.args[0]}
        if self.op in ("num", "opaque"):
            return set()
        return set().union(*(a.names() for a in self.args if isinstance(a, Expr)))


_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def parse(text: str) -> Expr:
    """Parse an expression (Python syntax, see the module docstring) into an :class:`Expr`.

    Raises
    ------
    ValueError
        For a syntax error or anything outside the allowed grammar.
    """
    if not isinstance(text, str):
        raise TypeError(f"expression: expected a string, got {type(text).__name__}")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as err:
        raise ValueError(f"expression: cannot parse {text!r}: {err.msg}") from None

    def walk(node) -> Expr:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
                and not isinstance(node.value, bool):
            return Expr("num", (float(node.value),))
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return Expr("opaque", ())
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            return Expr("index", (walk(node.value), walk(node.slice)))
        if isinstance(node, ast.Name):
            if node.id in ("inf", "pi"):
                return Expr("num", (math.inf if node.id == "inf" else math.pi,))
            return Expr("name", (node.id,))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return Expr("neg", (walk(node.operand),))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return Expr(_BINARY[type(node.op)], (walk(node.left), walk(node.right)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and not node.keywords:
            if node.func.id in FUNCTIONS and len(node.args) == 1:
                return Expr("call", (node.func.id, walk(node.args[0])))
            if node.func.id not in FUNCTIONS:
                return Expr("apply", (node.func.id, *(walk(a) for a in node.args)))
        raise ValueError(f"expression: {ast.unparse(node)!r} in {text!r} is not allowed "
                         f"(numbers, names, + - * / **, unary minus, a[g], f(...), ..., "
                         f"{', '.join(FUNCTIONS)})")

    return walk(tree)


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4, "call": 5, "apply": 5,
               "index": 6, "num": 6, "name": 6, "opaque": 6}
_SUPERSCRIPT = str.maketrans("0123456789-+()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺⁽⁾")


def format_number(x: float) -> str:
    """Write a number compactly: ``5``, ``0.125``, ``1.5×10⁻⁷``, ``∞``."""
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == int(x) and abs(x) < 1e6:
        return str(int(x)).replace("-", "−")
    text = f"{x:.3g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
        return power if mantissa == "1" else f"{mantissa}×{power}"
    return text.replace("-", "−")


def render_unicode(expr: Expr, symbols: Mapping[str, str],
                   bare: Mapping[str, str] | None = None) -> str:
    """Write ``expr`` in Unicode, node names replaced by ``symbols`` (names otherwise).

    Products are written by juxtaposition (``N₀ e^(…)``), ``exp(x)`` as ``e^(x)`` unless
    ``x`` is long, minus signs as ``−``; ``a[g]`` as ``a[gₙ]``, the indexed node by its
    symbol without indices (``bare``).
    """
    bare = symbols if bare is None else bare

    def wrap(child: Expr, parent_prec: int, right: bool = False) -> str:
        text = go(child)
        prec = _PRECEDENCE.get(child.op, 0)
        if child.op == "num" and child.args[0] < 0:
            prec = 0
        if prec < parent_prec or (right and prec == parent_prec and child.op in "+-*/"):
            return f"({text})"
        return text

    def go(e: Expr) -> str:
        op, args = e.op, e.args
        if op == "num":
            return format_number(args[0])
        if op == "name":
            return symbols.get(args[0], args[0])
        if op == "opaque":
            return "…"
        if op == "index":
            base, index = args
            name = base.args[0]
            return f"{bare.get(name, name)}[{go(index)}]"
        if op == "apply":
            return f"{args[0]}({', '.join(go(a) for a in args[1:])})"
        if op == "neg":
            return "−" + wrap(args[0], _PRECEDENCE["neg"])
        if op == "call":
            name, arg = args
            inner = go(arg)
            if name == "exp":
                return f"e^({inner})" if arg.op not in ("name", "num") else f"e^{inner}"
            if name == "sqrt":
                return f"√({inner})" if arg.op not in ("name", "num") else f"√{inner}"
            return f"{FUNCTIONS[name]}({inner})"
        left, right = args
        if op == "*":
            return f"{wrap(left, 2)} {wrap(right, 2, right=True)}"
        if op == "**":
            return f"{wrap(left, 5)}^{wrap(right, 5)}"
        sign = {"+": " + ", "-": " − ", "/": " / "}[op]
        return wrap(left, _PRECEDENCE[op]) + sign + wrap(right, _PRECEDENCE[op], right=True)

    return go(expr)
