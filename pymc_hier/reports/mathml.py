"""The model's equations in MathML, which browsers render natively (no script, no fonts).

:func:`equations` writes each latent, observed, computed and potential node of a
:class:`~pymc_hier.generative.GenerativeModel` as ``(left, relation, right)`` MathML
fragments; :func:`expression` walks a parsed :class:`~pymc_hier.generative.Expr` the way
:func:`pymc_hier.generative.render_unicode` does (same precedence, same notation:
products by juxtaposition, ``exp(x)`` as a power of e, ``a[g]`` as a subscript), and
:func:`symbol` writes a :class:`~pymc_hier.generative.Symbol` with its subscripts and
accent. :func:`math` wraps a fragment in a ``<math>`` element. Every fragment is
well-formed XML; text is escaped.
"""

from __future__ import annotations

import html
import math as _math
from collections.abc import Iterable, Mapping

from pymc_hier.generative import (
    _PRECEDENCE,  # the Unicode renderer's, so both agree
    Expr,
    GenerativeModel,
    Node,
    Symbol,
    parse,
)

__all__ = ["equations", "expression", "math", "node_symbols", "number", "symbol"]

_ACCENT_MARKS = {"hat": "\u02c6", "tilde": "\u02dc", "bar": "\u00af"}
_INVISIBLE_TIMES = "<mo>&#x2062;</mo>"
_APPLY = "<mo>&#x2061;</mo>"
_FUNCTION_NAMES = {"log": "log", "logit": "logit", "Phi": "Φ"}


def _esc(text: str) -> str:
    return html.escape(str(text), quote=False)


def _mi(text: str) -> str:
    """Write an identifier: single letters italic, words upright (as MathML Core does)."""
    return f"<mi>{_esc(text)}</mi>"


def _token(text: str) -> str:
    """Write a subscript part: words as identifiers, anything else (``0``, ``½``) as numbers."""
    return _mi(text) if text.isalpha() else f"<mn>{_esc(text)}</mn>"


def _row(*parts: str) -> str:
    return "<mrow>" + "".join(parts) + "</mrow>"


_OPEN, _CLOSE = '<mo stretchy="false">(</mo>', '<mo stretchy="false">)</mo>'


def _paren(fragment: str) -> str:
    """Parentheses that keep their size (stretchy ones get wide gaps in Chromium)."""
    return _row(_OPEN, fragment, _CLOSE)


def math(fragment: str, *, display: str = "inline", displaystyle: bool = False) -> str:
    """Wrap a fragment in a ``<math>`` element.

    ``display="block"`` puts it on its own line; ``displaystyle`` draws fractions and
    superscripts at full size, as in displayed equations.
    """
    attr = ' display="block"' if display == "block" else ""
    attr += ' displaystyle="true"' if displaystyle else ""
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML"{attr}>{fragment}</math>'


def symbol(sym: Symbol, indices: Iterable[str] = ()) -> str:
    """Write a symbol with its accent and subscripts (``indices`` appended to them)."""
    base = _mi(sym.base)
    if sym.accent is not None:
        mark = _ACCENT_MARKS[sym.accent]
        base = f'<mover accent="true">{base}<mo stretchy="false">{_esc(mark)}</mo></mover>'
    subs = [*sym.sub, *indices]
    if not subs:
        return base
    sep = '<mo separator="true">,</mo>'
    return f"<msub>{base}{_row(sep.join(_token(s) for s in subs))}</msub>"


def number(x: float) -> str:
    """Write a number: ``5``, ``0.125``, ``1.5×10⁻⁷`` (with a superscript), ``∞``."""
    if _math.isinf(x):
        return "<mi>∞</mi>" if x > 0 else _row("<mo>−</mo>", "<mi>∞</mi>")
    if x < 0:
        return _row("<mo>−</mo>", number(-x))
    if x == int(x) and abs(x) < 1e6:
        return f"<mn>{int(x)}</mn>"
    text = f"{x:.3g}"
    if "e" not in text:
        return f"<mn>{text}</mn>"
    mantissa, exponent = text.split("e")
    exp = int(exponent)
    sign = number(exp) if exp >= 0 else _row("<mo>−</mo>", number(-exp))
    power = f"<msup><mn>10</mn>{sign}</msup>"
    if mantissa == "1":
        return power
    return _row(f"<mn>{mantissa}</mn>", "<mo>×</mo>", power)


def expression(expr: Expr, symbols: Mapping[str, str],
               bare: Mapping[str, str] | None = None) -> str:
    """Write a parsed expression in MathML, node names replaced by ``symbols``.

    ``symbols`` maps node names to MathML fragments (with their indices), ``bare`` to the
    same without indices (for the indexed node of ``a[g]``, written ``a`` subscript ``g``).
    """
    bare = symbols if bare is None else bare

    def wrap(child: Expr, parent_prec: int, right: bool = False) -> str:
        text = go(child)
        prec = _PRECEDENCE.get(child.op, 0)
        if child.op == "num" and child.args[0] < 0:
            prec = 0
        if prec < parent_prec or (right and prec == parent_prec and child.op in "+-*/"):
            return _paren(text)
        return text

    def go(e: Expr) -> str:
        op, args = e.op, e.args
        if op == "num":
            return number(args[0])
        if op == "name":
            return symbols.get(args[0]) or _mi(args[0])
        if op == "opaque":
            return "<mi>…</mi>"
        if op == "index":
            base, index = args
            name = base.args[0]
            return f"<msub>{bare.get(name) or _mi(name)}{_row(go(index))}</msub>"
        if op == "apply":
            inner = '<mo separator="true">,</mo>'.join(go(a) for a in args[1:])
            return _row(_mi(args[0]), _APPLY, _paren(inner))
        if op == "neg":
            return _row("<mo>−</mo>", wrap(args[0], _PRECEDENCE["neg"]))
        if op == "call":
            return _call(args[0], args[1], go)
        left, right = args
        if op == "*":
            times = "<mo>·</mo>" if right.op == "num" else _INVISIBLE_TIMES
            return _row(wrap(left, 2), times, wrap(right, 2, right=True))
        if op == "/":
            return f"<mfrac>{_row(go(left))}{_row(go(right))}</mfrac>"
        if op == "**":
            return f"<msup>{wrap(left, 5)}{_row(go(right))}</msup>"
        sign = {"+": "+", "-": "−"}[op]
        return _row(wrap(left, _PRECEDENCE[op]), f"<mo>{sign}</mo>",
                    wrap(right, _PRECEDENCE[op], right=True))

    return go(expr)


def _call(name: str, arg: Expr, go) -> str:
    inner = go(arg)
    if name == "exp":
        return f'<msup><mi mathvariant="normal">e</mi>{_row(inner)}</msup>'
    if name == "sqrt":
        return f"<msqrt>{inner}</msqrt>"
    if name == "abs":
        bar = '<mo fence="true" stretchy="false">|</mo>'
        return _row(bar, inner, bar)
    if name == "invlogit":
        head = f"<msup>{_mi('logit')}{_row('<mo>−</mo>', '<mn>1</mn>')}</msup>"
        return _row(head, _APPLY, _paren(inner))
    return _row(_mi(_FUNCTION_NAMES.get(name, name)), _APPLY, _paren(inner))


def _law(node: Node, symbols, bare) -> str:
    """``Dist(p1, p2)``: the parameters in the distribution's order, unnamed."""
    dist = _mi(node.dist or "")
    if not node.params:
        return dist
    sep = '<mo separator="true">,</mo>'
    args = sep.join(expression(parse(v), symbols, bare) for _, v in node.params)
    return _row(dist, _APPLY, _paren(args))


def equations(gen: GenerativeModel) -> list[tuple[str, str, str, str]]:
    """Each node's law as ``(name, left, relation, right)`` MathML fragments.

    Latent and observed nodes are written ``x ~ Dist(...)``, deterministic ones
    ``x = expression``, potentials ``log p += expression``; fixed nodes (data) have no law
    and are left out. Nodes come in the description's order.
    """
    symbols = node_symbols(gen)
    bare = {n.name: symbol(n.symbol) for n in gen.nodes}
    out = []
    for node in gen.nodes:
        left = symbols[node.name]
        if node.kind == "fixed":
            continue
        if node.kind == "deterministic":
            out.append((node.name, left, "<mo>=</mo>",
                        expression(parse(node.expr), symbols, bare)))
        elif node.kind == "potential":
            out.append((node.name, _row(_mi("log"), _APPLY, _mi("p")), "<mo>+=</mo>",
                        expression(parse(node.expr), symbols, bare)))
        else:
            out.append((node.name, left, "<mo>∼</mo>", _law(node, symbols, bare)))
    return out


def node_symbols(gen: GenerativeModel) -> dict[str, str]:
    """Each node's symbol with its index letters, as a MathML fragment."""
    letters = gen.letters()
    return {n.name: symbol(n.symbol, [letters[d] for d in n.dims]) for n in gen.nodes}
