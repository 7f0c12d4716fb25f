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
import unicodedata
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
    "Power",
    "Root",
    "Symbol",
    "Term",
    "format_number",
    "merge_tokens",
    "parse",
    "render_tokens",
    "render_unicode",
    "tokens_unicode",
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
# combining accents; NFC composes them with their letter where Unicode has one glyph (ŷ, ñ)
COMBINING = MappingProxyType({"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304"})


# Index letters of well-known dim names (the lecture's i for widgets, BDA's j for groups).
_KNOWN_INDEX = {
    "widget": "i", "widgets": "i", "point": "i", "points": "i", "obs": "n",
    "observation": "n", "observations": "n", "school": "j", "schools": "j", "group": "j",
    "groups": "j", "study": "j", "studies": "j", "county": "j", "counties": "j",
    "time": "t", "draw": "s", "sample": "s",
}
# Letters that read as indices and have a subscript form, in the order they are given out.
_INDEX_POOL = "ijklmnprstuvaeho"


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

    def accented(self) -> str:
        """Return the base with its accent (precomposed ``ŷ`` where Unicode has it, else ``N̂``)."""
        if self.accent is None:
            return self.base
        return unicodedata.normalize("NFC", self.base + COMBINING[self.accent])

    def unicode(self, indices: Iterable[str] = ()) -> str:
        """Write the symbol in Unicode, with ``indices`` appended to its subscripts."""
        base = self.accented()
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

    @classmethod
    def from_prior(cls, name: str, prior, symbol: Symbol, **kwargs) -> Node:
        """Return the latent node of a variable with a prior (a :class:`pymc_hier.Prior`).

        Scalar parameters are written as numbers, array-valued ones as ``...``; ``kwargs``
        go to the node (``description``, ``unit``, ``dims``).
        """
        params = tuple((k, repr(float(v)) if isinstance(v, int | float) else "...")
                       for k, v in prior.params.items())
        return cls(name, "latent", symbol, dist=prior.dist, params=params, **kwargs)

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
        A word for each dim's units (``{"widget": "widget"}``), written on its plate
        ("widget i = 1..100"); the dim's name by default, nothing for a dim named ``""``.
    index_letters : mapping of str to str, optional
        The index letter of each dim (``{"widget": "i"}``); chosen by the renderer where
        missing.
    dim_lengths : mapping of str to int, optional
        The length of each dim, where the description knows it (the PGM reads the
        others off the model).

    Raises
    ------
    ValueError
        For repeated node names, an expression that does not parse or names an unknown
        node, or a cycle among the nodes.
    """

    nodes: tuple[Node, ...]
    dim_names: Mapping[str, str] = field(default_factory=dict)
    index_letters: Mapping[str, str] = field(default_factory=dict)
    dim_lengths: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self):
        nodes = tuple(self.nodes)
        object.__setattr__(self, "nodes", nodes)
        for key in ("dim_names", "index_letters", "dim_lengths"):
            object.__setattr__(self, key, MappingProxyType(dict(getattr(self, key))))
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

    def subset(self, names: Iterable[str]) -> GenerativeModel:
        """Return the description of ``names`` and all they depend on, in node order.

        Raises
        ------
        ValueError
            For a name that is not a node.
        """
        wanted: set[str] = set()
        stack = list(names)
        for name in stack:
            if name not in self:
                raise ValueError(f"var_names: {name!r} is not in the model")
        while stack:
            name = stack.pop()
            if name not in wanted:
                wanted.add(name)
                stack.extend(self.parents(name))
        return GenerativeModel(tuple(n for n in self.nodes if n.name in wanted),
                               self.dim_names, self.index_letters, self.dim_lengths)

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
        """Index letter of every dim, each its own.

        Given letters first, then the conventional one of well-known dim names
        (``widget`` → i, ``school`` → j, ``obs`` → n), then the dim's first letter when it
        is free and has a subscript form, then the first free one of ``i, j, k, l, ...``.
        """
        letters = dict(self.index_letters)
        taken = set(letters.values())
        dims = [d for d in self.dims() if d not in letters]
        for dim in dims:
            letter = _KNOWN_INDEX.get(dim)
            if letter and letter not in taken:
                letters[dim] = letter
                taken.add(letter)
        for dim in dims:
            if dim in letters:
                continue
            first = dim[:1].lower()
            letter = first if first in _INDEX_POOL and first not in taken else next(
                (c for c in _INDEX_POOL if c not in taken), f"i{len(taken)}")
            letters[dim] = letter
            taken.add(letter)
        return letters

    def terms(self, *, indexed: bool = True) -> dict[str, Term]:
        """Every node's symbol with (``indexed``) or without the index letters of its dims."""
        letters = self.letters()
        return {n.name: Term(n.symbol, tuple(letters[d] for d in n.dims) if indexed else ())
                for n in self.nodes}

    def arguments(self, name: str, *, keywords: bool = False) -> list[tuple]:
        """Tokens of each parameter of a random node's law, in order.

        With ``keywords``, parameters that are all numbers are written with their names
        (``β=5``): ``HalfCauchy(5)`` says less than ``HalfCauchy(β=5)``.
        """
        node = self[name]
        terms, bare = self.terms(), self.terms(indexed=False)
        args = [render_tokens(parse(v), terms, bare) for _, v in node.params]
        numbers = all(parse(v).op == "num" or (parse(v).op == "neg"
                                                and parse(v).args[0].op == "num")
                      for _, v in node.params)
        if keywords and numbers:
            args = [merge_tokens((f"{GREEK_NAMES.get(k, k)}=", *a))
                    for (k, _), a in zip(node.params, args, strict=True)]
        return args

    def law(self, name: str, *, keywords: bool = False) -> tuple:
        """Tokens of the right-hand side of the node's law (see :func:`render_tokens`).

        ``Normal(N₀,ᵢ e^(…), σᵢ)`` for a random node, the expression of a deterministic or
        potential one, ``()`` for a fixed one; ``keywords`` as for :meth:`arguments`.
        """
        node = self[name]
        if node.kind == "fixed":
            return ()
        if node.dist is None:
            return render_tokens(parse(node.expr), self.terms(), self.terms(indexed=False))
        args = self.arguments(name, keywords=keywords)
        if not args:
            return (node.dist,)
        out: list = [f"{node.dist}("]
        for k, toks in enumerate(args):
            out.extend(((", ",) if k else ()) + toks)
        return merge_tokens((*out, ")"))

    def equation(self, name: str) -> str:
        """Write the node's law in Unicode: ``N₀,ᵢ ~ Uniform(0, N₀,ₘₐₓ)`` (``t₁,ᵢ`` if fixed)."""
        node = self[name]
        head = self.terms()[name].unicode()
        if node.kind == "fixed":
            return head
        sign = {"deterministic": " = ", "potential": ": log p += "}.get(node.kind, " ~ ")
        return head + sign + tokens_unicode(self.law(name))


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


_NS = "ǀǀ"  # stands for "::" while Python parses an expression (an identifier character)
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
    try:  # PyMC's nested model names ("inner::x") are names too
        tree = ast.parse(text.replace("::", _NS), mode="eval").body
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
            return Expr("name", (node.id.replace(_NS, "::"),))
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


@dataclass(frozen=True)
class Term:
    """A node's symbol where an expression uses it: the symbol and its index letters."""

    symbol: Symbol
    indices: tuple[str, ...] = ()

    def unicode(self) -> str:
        """Write it in Unicode (``N₀,ᵢ``)."""
        return self.symbol.unicode(self.indices)


@dataclass(frozen=True)
class Power:
    """``base`` to the power ``exponent`` (token tuples), as ``e^x`` or ``s^2``.

    ``grouped`` says that the exponent is compound: renderers without raised text write it
    in parentheses (``e^(−α t)``).
    """

    base: tuple
    exponent: tuple
    grouped: bool = False


@dataclass(frozen=True)
class Root:
    """The square root of ``radicand`` (a token tuple), ``grouped`` when it is compound."""

    radicand: tuple
    grouped: bool = False


def merge_tokens(tokens) -> tuple:
    """Join neighbouring strings of a token sequence (and drop empty ones)."""
    out: list = []
    for tok in tokens:
        if isinstance(tok, str) and out and isinstance(out[-1], str):
            out[-1] += tok
        elif not (isinstance(tok, str) and not tok):
            out.append(tok)
    return tuple(out)


def render_tokens(expr: Expr, symbols: Mapping, bare: Mapping | None = None) -> tuple:
    """Write ``expr`` as a sequence of tokens that any renderer can typeset.

    Tokens are strings (text as written: ``"−"``, ``" + "``, ``"Normal("``), :class:`Term`
    (a node's symbol with its indices, the value of ``symbols`` for its name: a string is
    taken as text), :class:`Power` and :class:`Root`. Products are written by
    juxtaposition, minus signs as ``−``, ``a[g]`` with the indexed node's ``bare`` symbol
    (without indices).
    """
    bare = symbols if bare is None else bare

    def prec_of(child: Expr) -> int:
        if child.op == "num" and child.args[0] < 0:
            return 0
        return _PRECEDENCE.get(child.op, 0)

    def wrap(child: Expr, parent_prec: int, right: bool = False) -> tuple:
        toks = go(child)
        prec = prec_of(child)
        if prec < parent_prec or (right and prec == parent_prec and child.op in "+-*/"):
            return ("(", *toks, ")")
        return toks

    def go(e: Expr) -> tuple:
        op, args = e.op, e.args
        if op == "num":
            return (format_number(args[0]),)
        if op == "name":
            return (symbols.get(args[0], args[0]),)
        if op == "opaque":
            return ("…",)
        if op == "index":
            base, index = args
            name = base.args[0]
            return (bare.get(name, name), "[", *go(index), "]")
        if op == "apply":
            out: list = [f"{args[0]}("]
            for k, a in enumerate(args[1:]):
                out.extend(((", ",) if k else ()) + go(a))
            return (*out, ")")
        if op == "neg":
            return ("−", *wrap(args[0], _PRECEDENCE["neg"]))
        if op == "call":
            name, arg = args
            simple = arg.op in ("name", "num")
            if name == "exp":
                return (Power(("e",), go(arg), grouped=not simple),)
            if name == "sqrt":
                return (Root(go(arg), grouped=not simple),)
            return (f"{FUNCTIONS[name]}(", *go(arg), ")")
        left, right = args
        if op == "*":
            return (*wrap(left, 2), " ", *wrap(right, 2, right=True))
        if op == "**":
            return (Power(wrap(left, 5), go(right), grouped=prec_of(right) < 5),)
        sign = {"+": " + ", "-": " − ", "/": " / "}[op]
        return (*wrap(left, _PRECEDENCE[op]), sign, *wrap(right, _PRECEDENCE[op], right=True))

    return merge_tokens(go(expr))


def tokens_unicode(tokens) -> str:
    """Write tokens (:func:`render_tokens`) as one Unicode string: ``N₀,ᵢ e^(−α t₁,ᵢ)``."""
    out = []
    for tok in tokens:
        if isinstance(tok, Term):
            out.append(tok.unicode())
        elif isinstance(tok, Power):
            exponent = tokens_unicode(tok.exponent)
            out.append(f"{tokens_unicode(tok.base)}^"
                       + (f"({exponent})" if tok.grouped else exponent))
        elif isinstance(tok, Root):
            radicand = tokens_unicode(tok.radicand)
            out.append(f"√({radicand})" if tok.grouped else f"√{radicand}")
        else:
            out.append(str(tok))
    return "".join(out)


def render_unicode(expr: Expr, symbols: Mapping[str, str],
                   bare: Mapping[str, str] | None = None) -> str:
    """Write ``expr`` in Unicode, node names replaced by ``symbols`` (names otherwise).

    Products are written by juxtaposition (``N₀ e^(…)``), ``exp(x)`` as ``e^(x)`` unless
    ``x`` is a name or number (``e^x``), minus signs as ``−``; ``a[g]`` as ``a[gₙ]``, the
    indexed node by its symbol without indices (``bare``).
    """
    return tokens_unicode(render_tokens(expr, symbols, bare))
