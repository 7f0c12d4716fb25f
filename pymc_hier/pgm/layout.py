"""Where Graphviz puts a scene's nodes, edges and plates: :func:`layout_scene`.

The scene's ``"layout"`` DOT (every node at its measured size, no text) goes through a
Graphviz program with ``-Tjson``; the positions come back in points, ``y`` up. Drawing
from them (:mod:`pymc_hier.pgm.draw`, :mod:`pymc_hier.pgm.tikz`) gives the picture Graphviz
would draw, with labels typeset properly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pymc_hier.exceptions import PGMRenderError
from pymc_hier.pgm.dot import scene_digraph
from pymc_hier.pgm.scene import Scene

__all__ = ["Layout", "layout_scene"]


@dataclass(frozen=True)
class Layout:
    """Positions, in points with ``y`` up.

    ``bbox`` is ``(x0, y0, x1, y1)`` of the drawing; ``nodes`` the centre of each node by
    id; ``plates`` the box and label position of each plate by its dims path; ``edges``
    the Bézier control points of each edge, ``(parent, child, points, tip)`` where ``tip``
    is the arrow's point (None for an undirected edge): points ``p0, c1, c2, p1, c1, c2,
    p2, ...`` as Graphviz writes splines.
    """

    bbox: tuple[float, float, float, float]
    nodes: dict[str, tuple[float, float]]
    plates: dict[tuple[str, ...], tuple[tuple[float, float, float, float], tuple[float, float]]]
    edges: tuple[tuple[str, str, tuple[tuple[float, float], ...], tuple | None], ...]


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


def _spline(pos: str) -> tuple[tuple, tuple | None]:
    points, tip = [], None
    for part in pos.split():
        if part.startswith("e,"):
            tip = _floats(part[2:])
        elif not part.startswith("s,"):
            points.append(_floats(part))
    return tuple(points), tip


def parse_json(text: str, scene: Scene) -> Layout:
    """Read Graphviz's ``-Tjson`` output of :func:`scene_digraph` (flavour ``"layout"``)."""
    data = json.loads(text)
    bbox = _floats(data["bb"])
    by_gvid, nodes, plates = {}, {}, {}
    paths = {"cluster" + "/".join(p.dims): p.dims for p in scene.plates}
    for obj in data.get("objects", []):
        if "nodes" in obj or obj.get("name") in paths:
            if obj.get("name") in paths:
                x0, y0, x1, y1 = _floats(obj["bb"])
                label = _floats(obj["lp"]) if "lp" in obj else (x1, y0)
                plates[paths[obj["name"]]] = ((x0, y0, x1, y1), label)
            continue
        by_gvid[obj["_gvid"]] = obj["name"]
        nodes[obj["name"]] = _floats(obj["pos"])
    edges = []
    for edge in data.get("edges", []):
        points, tip = _spline(edge["pos"])
        edges.append((by_gvid[edge["tail"]], by_gvid[edge["head"]], points, tip))
    return Layout(bbox, nodes, plates, tuple(edges))


def layout_scene(scene: Scene, renderer) -> Layout:
    """Lay the scene out with a Graphviz route (``renderer.render(source, "json")``)."""
    source = scene_digraph(scene, flavour="layout").source.encode("utf-8")
    raw = renderer.render(source, "json", dpi=72)
    try:
        return parse_json(raw.decode("utf-8"), scene)
    except (ValueError, KeyError) as err:
        raise PGMRenderError(f"renderer {renderer.name}: could not read its layout ({err})"
                             ) from err
