"""The lecture's PGM conventions as Graphviz attributes.

As in the lecture's ``daft`` figures: latent variables are circles, observed ones shaded
circles, fixed quantities (``pm.Data``: N0_max, each widget's sigma, measurement times,
manufacture-day bounds, each school's sigma) small filled dots with their label beside,
deterministic nodes boxes, and plates are labelled with their index range (``i = 1..100``).
Labels are Unicode: ``α ~ HalfNormal(σ=1e-06)``, ``θⱼ ~ Normal(μ, τ)``.

Prior hyperparameters a factory registered as ``pm.Data("tau__beta")`` (``hyper_data=True``,
see :func:`pymc_hier.family.prior_variable`) are not drawn: their current values
appear in their variable's label. Data that are the observed values of a random variable
are not drawn either (the shaded circle stands for them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from pymc.model_graph import NodeType, make_graph
from pytensor.compile import SharedVariable

from pymc_hier.pgm.graph import SafeModelGraph
from pymc_hier.pgm.labels import Labeller
from pymc_hier.pgm.notation import format_value, index_letters, symbol, text_width
from pymc_hier.spec import HYPER_SEP

__all__ = ["GRAPH_ATTR", "hidden_names", "lecture_digraph"]

FONT = "Times"
#: Graph attributes of the lecture style.
GRAPH_ATTR = {
    "fontname": FONT, "fontsize": "12", "nodesep": "0.5", "ranksep": "0.4",
    "forcelabels": "true", "newrank": "true",
}
_NODE_ATTR = {"fontname": FONT, "fontsize": "14", "margin": "0.04"}
_EDGE_ATTR = {"arrowsize": "0.7"}
_OBSERVED_FILL = "gray80"
_DETAIL_SIZE = "9"
_DOT_SIZE = "12"
#: Port of a fixed quantity's dot: edges leave from its bottom (``"sigma:dot:s" -> "y"``).
DOT_PORT = "dot"
_WRAP_PT = 90.0
_SYMBOL_PT = 14.0
_MIN_DIAMETER_PT = 40.0


def hidden_names(model) -> list[str]:
    """Names the lecture style leaves out: hyperparameter data and observed-value data."""
    rvs = {v.name for v in model.free_RVs + model.observed_RVs}
    hidden = []
    for var in model.data_vars:
        owner, sep, param = var.name.partition(HYPER_SEP)
        if sep and param and owner in rvs:
            hidden.append(var.name)
    values = {model.rvs_to_values[rv] for rv in model.observed_RVs}
    hidden.extend(v.name for v in model.data_vars if v in values)
    return sorted(set(hidden), key=list(model.named_vars).index)


def _dim_keys(info) -> tuple[str, ...]:
    """One key per dim of a plate: the dim name, or ``#length`` for an unnamed one."""
    return tuple(n if n is not None else f"#{k}" for n, k in zip(info.names, info.lengths,
                                                                  strict=True))


def _html(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _wrap(text: str, width: float = _WRAP_PT) -> list[str]:
    """Break ``text`` into lines about ``width`` points wide (at the detail font size).

    Breaks go after the parameters' commas (``", "``, never inside ``t₀,ᵢ``) and, for a
    first parameter list too long on its own, before its ``(``.
    """
    def fits(line):
        return text_width(line, float(_DETAIL_SIZE)) <= width

    pieces, depth, start = [], 0, 0
    for k, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth >= 1 and text[k + 1:k + 2] == " ":
            pieces.append(text[start:k + 1])
            start = k + 2
    pieces.append(text[start:])
    forced = set()
    head = pieces[0]
    if not fits(head) and text_width(head, float(_DETAIL_SIZE)) > 1.3 * width \
            and 0 < head.find("(") < len(head) - 1:  # "~ HalfCauchy" / "(β=1.5×10⁻⁷)"
        cut = head.index("(")
        pieces[:1] = [head[:cut], head[cut:]]
        forced.add(1)
    lines = [""]
    for k, piece in enumerate(pieces):
        if lines[-1] and (k in forced or not fits(f"{lines[-1]} {piece}")):
            lines.append(piece)
        else:
            lines[-1] = f"{lines[-1]} {piece}" if lines[-1] else piece
    return lines


def _two_line(first: str, detail: str, *, width: float = _WRAP_PT) -> str:
    """HTML label: the symbol, then the detail in a smaller font (wrapped)."""
    small = "<BR/>".join(_html(line) for line in _wrap(detail, width))
    return f'<{_html(first)}<BR/><FONT POINT-SIZE="{_DETAIL_SIZE}">{small}</FONT>>'


def _circle(first: str, detail: str) -> dict:
    """Return a circle around the two-line label, sized from our own text metrics.

    The diameter is the diagonal of the label's box plus a margin, the rule Graphviz
    uses, but computed here so that every renderer draws the same size.
    """
    lines = _wrap(detail)
    width = max([text_width(first, _SYMBOL_PT)]
                + [text_width(line, float(_DETAIL_SIZE)) for line in lines])
    height = 1.2 * (_SYMBOL_PT + float(_DETAIL_SIZE) * len(lines))
    diameter = max(math.hypot(width, height) + 8.0, _MIN_DIAMETER_PT) / 72.0
    return {"shape": "circle", "fixedsize": "true", "width": f"{diameter:.2f}",
            "label": _two_line(first, detail)}


def _dot_label(text: str) -> str:
    """HTML label of a fixed quantity: a filled dot (port ``dot``) with its text beside."""
    return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>'
            f'<TD PORT="{DOT_PORT}"><FONT POINT-SIZE="{_DOT_SIZE}">●</FONT></TD>'
            f'<TD ALIGN="LEFT"> {_html(text)}</TD></TR></TABLE>>')


def lecture_digraph(model, *, symbols: Mapping[str, str] | None = None, var_names=None):
    """Return the model's ``graphviz.Digraph`` in the lecture's style.

    Parameters
    ----------
    model : pymc.Model
        The model.
    symbols : mapping of str to str, optional
        Display symbols by variable name, replacing the automatic ones
        (see :func:`pymc_hier.pgm.notation.symbol`).
    var_names : iterable of str, optional
        Draw only these variables and their ancestors.

    Returns
    -------
    graphviz.Digraph
    """
    graph = SafeModelGraph(model, hidden=hidden_names(model))
    plates = graph.get_plates(var_names=var_names)
    edges = graph.edges(var_names=var_names)

    letters = index_letters(k for p in plates for k in _dim_keys(p.dim_info))
    indices = {node.var.name: tuple(letters[k] for k in _dim_keys(p.dim_info))
               for p in plates for node in p.variables}
    named = {}
    for name, var in model.named_vars.items():
        dims = model.named_vars_to_dims.get(name) or ()
        idx = indices.get(name, tuple(letters[d] for d in dims if d in letters))
        named[var] = None if name in graph.hidden else symbol(name, indices=idx,
                                                               symbols=symbols)
    labeller = Labeller(named)
    parents: dict[str, list[str]] = {}
    for child, parent in edges:
        parents.setdefault(child, []).append(parent)

    attrs = {}
    for plate in plates:
        for node in plate.variables:
            attrs[node.var.name] = _node_attrs(node, named, labeller, parents, model)

    def formatter(var):
        return dict(attrs[var.name])

    def plate_label(info) -> str:
        return ", ".join(f"{letters[k]} = 1..{'N' if n is None else n}"
                         for k, n in zip(_dim_keys(info), info.lengths, strict=True))

    fixed = {n.var.name.replace(":", "&") for p in plates for n in p.variables
             if n.node_type == NodeType.DATA}
    edges = [(c, f"{p}:{DOT_PORT}:s" if p in fixed else p) for c, p in edges]
    digraph = make_graph(model.name, plates=plates, edges=edges,
                         node_formatters=dict.fromkeys(NodeType, formatter),
                         graph_attr=dict(GRAPH_ATTR), create_plate_label=plate_label)
    digraph.node_attr.update(_NODE_ATTR)
    digraph.edge_attr.update(_EDGE_ATTR)
    return digraph


def _node_attrs(node, named, labeller: Labeller, parents, model) -> dict:
    var = node.var
    sym = named[var]
    kind = node.node_type
    if kind in (NodeType.FREE_RV, NodeType.OBSERVED_RV):
        out = _circle(sym, f"~ {labeller.dist(var)}")
        if kind == NodeType.OBSERVED_RV:
            out.update(style="filled", fillcolor=_OBSERVED_FILL)
        return out
    if kind == NodeType.DETERMINISTIC:
        inputs = labeller.parents(var)
        detail = f"= f({', '.join(inputs)})"
        return {"shape": "box", "label": _two_line(sym, detail, width=2 * _WRAP_PT)}
    if kind == NodeType.DATA:
        text = sym
        if isinstance(var, SharedVariable) and var.get_value(borrow=True).size == 1:
            text = f"{sym} = {format_value(var.get_value(borrow=True))}"
        return {"shape": "plain", "label": _dot_label(text)}
    # potential: a small black square, as daft draws factors
    return {"shape": "square", "width": "0.12", "fixedsize": "true", "style": "filled",
            "fillcolor": "black", "label": "", "xlabel": f"{sym}: potential"}
