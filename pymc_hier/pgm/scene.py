"""What a PGM shows, independent of how it is drawn: :func:`build_scene`.

A :class:`Scene` is read off a :class:`~pymc_hier.generative.GenerativeModel` (either view
of :func:`pymc_hier.describe_model`) and the model (dim lengths, values of scalar data):

- latent and observed nodes are circles holding their symbol and law (``~ Normal(μ, τ)``),
  all of one size (the largest any of them needs, with laws wrapped after their commas);
- fixed quantities are dots with their symbol beside (and the value of a scalar:
  ``N₀,ₘₐₓ = 10``), deterministic nodes boxes (``θⱼ = μ + τ θ̃ⱼ``), potentials factors:
  a small square with the term it adds to the log density, joined to its variables by
  undirected edges;
- every dim is a plate named after it ("widget i = 1..100"), nested for variables with
  several dims (the outer plate is the dim that comes first in the model).

Labels are token sequences (:mod:`pymc_hier.pgm.notation` typesets them for each
renderer); sizes are in points, measured on the typeset TeX form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from pytensor.compile import SharedVariable

from pymc_hier.generative import GenerativeModel, Symbol, format_number, merge_tokens
from pymc_hier.pgm.notation import tex, text_size

__all__ = ["DETAIL_PT", "HEAD_PT", "Plate", "Scene", "SceneNode", "build_scene",
           "line_height"]

#: Font sizes (points) of a node's symbol and of its law.
HEAD_PT, DETAIL_PT = 14.0, 9.0
_WRAP_PT = {"circle": 84.0, "box": 170.0, "side": 190.0}
_LINE = 1.25  # line height, in font sizes
_MIN_DIAMETER_PT = 36.0
_DOT_PT = 7.0  # diameter of a fixed quantity's dot
_GAP_PT = 4.0  # between a dot and its label
_PAD_PT = 6.0  # between a circle's label and its border


@dataclass(frozen=True)
class SceneNode:
    """One drawn node.

    ``id`` is its Graphviz name; ``lines`` its label, line by line, each a token tuple
    with its font size; ``width``/``height`` the node's size in points (for a fixed
    quantity or a factor: the marker and its label beside); ``plate`` the dims of the
    plates it sits in, outermost first.
    """

    name: str
    id: str
    kind: str
    lines: tuple[tuple[tuple, float], ...]
    width: float
    height: float
    plate: tuple[str, ...]

    @property
    def shape(self) -> str:
        """``"circle"``, ``"box"``, ``"dot"`` (fixed) or ``"factor"`` (potential)."""
        return {"latent": "circle", "observed": "circle", "deterministic": "box",
                "fixed": "dot", "potential": "factor"}[self.kind]


@dataclass(frozen=True)
class Plate:
    """A plate: the dims of its path (outermost first; the last is its own) and label."""

    dims: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class Scene:
    """Nodes, plates (outer ones first) and edges ``(parent id, child id, kind)``."""

    nodes: tuple[SceneNode, ...]
    plates: tuple[Plate, ...]
    edges: tuple[tuple[str, str, str], ...]

    def node(self, node_id: str) -> SceneNode:
        """Return the node of a Graphviz id."""
        return next(n for n in self.nodes if n.id == node_id)


def node_id(name: str) -> str:
    """Graphviz name of a node: PyMC's, with ``:`` (a port separator there) as ``&``."""
    return name.replace(":", "&")


def _size(tokens, size: float) -> float:
    return text_size(tex(tokens), size)[0]


def line_height(tokens, size: float) -> float:
    """Height in points of a label line: the font's, or more for tall text (``√…``)."""
    return max(_LINE * size, text_size(tex(tokens), size)[1] + 0.3 * size)


def _wrap(prefix: tuple, args: list[tuple], closing: str, width: float) -> list[tuple]:
    """Break ``prefix arg, arg, ... closing`` into lines at most ``width`` wide.

    Breaks go after the commas between arguments, never inside one; an argument too long
    for the first line starts the next.
    """
    pieces = [(*a, ",") for a in args[:-1]] + [(*args[-1], closing)]
    lines = [prefix]
    for k, piece in enumerate(pieces):
        joined = lines[-1] + (() if k == 0 else (" ",)) + piece
        if _size(joined, DETAIL_PT) <= width:
            lines[-1] = joined
        else:
            lines.append(piece)
    return [merge_tokens(line) for line in lines]


def _law_lines(gen: GenerativeModel, name: str, width: float) -> list[tuple]:
    node = gen[name]
    if node.kind == "fixed":
        return []
    if node.dist is None:
        sign = "= " if node.kind == "deterministic" else "log p += "
        return [merge_tokens((sign, *gen.law(name)))]
    args = gen.arguments(name, keywords=True)
    if not args:
        return [(f"~ {node.dist}",)]
    return _wrap((f"~ {node.dist}(",), args, ")", width)


def _scalar_value(model, name: str) -> str | None:
    var = model.named_vars.get(name) if model is not None else None
    if isinstance(var, SharedVariable):
        value = np.asarray(var.get_value(borrow=True))
        if value.size == 1 and value.dtype.kind in "iuf":
            return format_number(float(value.ravel()[0]))
    return None


def build_scene(gen: GenerativeModel, *, model=None,
                symbols: Mapping[str, str | Symbol] | None = None,
                lengths: Mapping[str, int | None] | None = None) -> Scene:
    """Lay out what the PGM of ``gen`` shows (not where: that is Graphviz's job).

    Parameters
    ----------
    gen : GenerativeModel
        The description to draw.
    model : pymc.Model, optional
        The model it describes: values of its scalar ``pm.Data`` are written beside their
        dot (``N₀,ₘₐₓ = 10``).
    symbols : mapping, optional
        Symbols by node name replacing the description's (a string is taken whole).
    lengths : mapping of str to int, optional
        Dim lengths the description does not give (plates say ``1..N`` where unknown).
    """
    if symbols:
        nodes = tuple(replace(n, symbol=symbols[n.name] if isinstance(symbols[n.name], Symbol)
                              else Symbol(str(symbols[n.name])))
                      if n.name in symbols else n for n in gen.nodes)
        gen = replace(gen, nodes=nodes)
    order = {d: k for k, d in enumerate(gen.dims())}
    letters = gen.letters()
    terms = gen.terms()
    known = {**(lengths or {}), **gen.dim_lengths}

    drafts = []
    for node in gen.nodes:
        head = (terms[node.name],)
        plate = tuple(sorted(node.dims, key=order.__getitem__))
        if node.kind in ("latent", "observed"):
            lines = [(head, HEAD_PT)] + [(line, DETAIL_PT) for line in
                                         _law_lines(gen, node.name, _WRAP_PT["circle"])]
        elif node.kind == "deterministic":
            lines = [(head, HEAD_PT)] + [(line, DETAIL_PT) for line in
                                         _law_lines(gen, node.name, _WRAP_PT["box"])]
        elif node.kind == "fixed":
            value = _scalar_value(model, node.name)
            lines = [(head + ((f" = {value}",) if value is not None else ()), HEAD_PT)]
        else:
            lines = [(merge_tokens(head + (": ",) + _law_lines(gen, node.name, 1e9)[0]),
                      DETAIL_PT + 2)]
        drafts.append((node, plate, lines))

    def block(lines):
        width = max(_size(toks, size) for toks, size in lines)
        height = sum(line_height(toks, size) for toks, size in lines)
        return width, height

    diameter = _MIN_DIAMETER_PT
    for node, _, lines in drafts:
        if node.kind in ("latent", "observed"):
            w, h = block(lines)
            diameter = max(diameter, math.hypot(w, h) + _PAD_PT)
    for k, (node, plate, lines) in enumerate(drafts):  # use the room every circle has
        if node.kind in ("latent", "observed") and node.dist is not None:
            wide = [lines[0]] + [(line, DETAIL_PT) for line in
                                 _law_lines(gen, node.name, diameter - 2 * _PAD_PT)]
            if len(wide) < len(lines) and math.hypot(*block(wide)) + _PAD_PT <= diameter:
                drafts[k] = (node, plate, wide)
    out = []
    for node, plate, lines in drafts:
        w, h = block(lines)
        if node.kind in ("latent", "observed"):
            width = height = diameter
        elif node.kind == "deterministic":
            width, height = w + 14.0, h + 8.0
        else:
            width, height = _DOT_PT + _GAP_PT + w + 2.0, max(h, _DOT_PT)
        out.append(SceneNode(node.name, node_id(node.name), node.kind, tuple(lines),
                             round(width, 2), round(height, 2), plate))

    paths = dict.fromkeys(n.plate[:k] for n in out for k in range(1, len(n.plate) + 1))
    plates = tuple(Plate(path, _plate_label(gen, path[-1], letters, known)) for path in paths)
    edges = []
    for parent, child in gen.edges():
        kind = "factor" if gen[child].kind == "potential" else "arrow"
        edges.append((node_id(parent), node_id(child), kind))
    return Scene(tuple(out), tuple(sorted(plates, key=lambda p: len(p.dims))), tuple(edges))


def _plate_label(gen: GenerativeModel, dim: str, letters, lengths) -> str:
    word = gen.dim_names.get(dim, "" if dim.startswith("#") else dim)
    n = lengths.get(dim)
    text = f"{letters[dim]} = 1..{'N' if n is None else n}"
    return f"{word} {text}" if word else text
