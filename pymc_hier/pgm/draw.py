"""Drawing a laid-out scene with matplotlib: :func:`draw_scene`, :func:`render_matplotlib`.

Graphviz places the nodes (:mod:`pymc_hier.pgm.layout`); matplotlib draws them, in the
style of ``daft``: circles, shaded observations, dots for fixed quantities, rounded plates,
the edges along Graphviz's splines. Labels are typeset by matplotlib's mathtext in STIX
(a Times-like font with its math), so hats, tildes, subscripts and exponents sit where TeX
would put them, on every platform and with only pip-installed packages. Output is
byte-identical for the same scene (no dates, fixed SVG ids).
"""

from __future__ import annotations

import io
import math

from pymc_hier.pgm.layout import Layout
from pymc_hier.pgm.notation import FONT_RC, tex
from pymc_hier.pgm.scene import Scene, SceneNode, line_height

__all__ = ["FORMATS", "draw_scene", "render_matplotlib"]

#: Image formats of the matplotlib route.
FORMATS = ("svg", "png", "pdf", "jpeg")
_MARGIN = 4.0
_LW = 0.9
_FILL = {"observed": "0.8"}
_PLATE_PT = 11.0
_RC = {**FONT_RC, "svg.hashsalt": "pymc_hier-pgm", "svg.fonttype": "path",
       "path.simplify": False}


def _math(tokens) -> str:
    return f"${tex(tokens)}$"


def _plate_text(label: str) -> str:
    """``"widget i = 1..100"`` with its index letter in math italic."""
    head, sep, tail = label.rpartition(" = ")
    word, _, letter = head.rpartition(" ")
    return f"{word + ' ' if word else ''}${letter}$ = {tail}" if sep else label


def _lines(ax, node: SceneNode, x: float, y: float, *, left: float | None = None):
    """Stack the node's lines around ``y`` (centred on ``x``, or from ``left``)."""
    slots = [line_height(tokens, size) for tokens, size in node.lines]
    top = y + sum(slots) / 2
    for (tokens, size), slot in zip(node.lines, slots, strict=True):
        base = top - slot / 2 - 0.32 * size
        top -= slot
        ax.text(left if left is not None else x, base, _math(tokens), fontsize=size,
                ha="left" if left is not None else "center", va="baseline")


def draw_scene(scene: Scene, layout: Layout):
    """Return a matplotlib ``Figure`` of the scene (1 unit = 1 point, y up)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, FancyBboxPatch, Polygon, Rectangle
    from matplotlib.path import Path

    x0, y0, x1, y1 = layout.bbox
    width, height = x1 - x0 + 2 * _MARGIN, y1 - y0 + 2 * _MARGIN
    fig = Figure(figsize=(width / 72.0, height / 72.0))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x0 - _MARGIN, x1 + _MARGIN)
    ax.set_ylim(y0 - _MARGIN, y1 + _MARGIN)
    ax.set_axis_off()

    for plate in scene.plates:
        (px0, py0, px1, py1), (lx, ly) = layout.plates[plate.dims]
        ax.add_patch(FancyBboxPatch((px0, py0), px1 - px0, py1 - py0, lw=_LW, fc="none",
                                    ec="black", boxstyle="round,pad=0,rounding_size=7"))
        ax.text(px1 - 6, py0 + 5, _plate_text(plate.label), fontsize=_PLATE_PT, ha="right",
                va="baseline")

    for _, _, points, tip in layout.edges:
        codes = [Path.MOVETO] + [Path.CURVE4] * (len(points) - 1)
        ax.add_patch(_patch(Path(points, codes), _LW))
        if tip is not None:
            (ex, ey), (tx, ty) = points[-1], tip
            length = math.hypot(tx - ex, ty - ey) or 1.0
            nx, ny = -(ty - ey) / length * 0.36 * length, (tx - ex) / length * 0.36 * length
            ax.add_patch(Polygon([(tx, ty), (ex + nx, ey + ny), (ex - nx, ey - ny)],
                                 closed=True, fc="black", ec="black", lw=_LW * 0.5))

    for node in scene.nodes:
        x, y = layout.nodes[node.id]
        if node.shape == "circle":
            ax.add_patch(Circle((x, y), node.width / 2, lw=_LW, ec="black",
                                fc=_FILL.get(node.kind, "white")))
            _lines(ax, node, x, y)
        elif node.shape == "box":
            ax.add_patch(Rectangle((x - node.width / 2, y - node.height / 2), node.width,
                                   node.height, lw=_LW, ec="black", fc="white"))
            _lines(ax, node, x, y)
        else:
            left = x - node.width / 2
            if node.shape == "dot":
                ax.add_patch(Circle((left + 4, y), 3.3, fc="black", ec="none"))
            else:
                ax.add_patch(Rectangle((left + 1, y - 3), 6, 6, fc="0.35", ec="black",
                                       lw=_LW * 0.6))
            _lines(ax, node, x, y, left=left + 11)
    return fig


def _patch(path, lw):
    from matplotlib.patches import PathPatch

    return PathPatch(path, fc="none", ec="black", lw=lw, capstyle="butt")


def render_matplotlib(scene: Scene, layout: Layout, fmt: str, *, dpi: int) -> bytes:
    """Return the scene drawn as ``fmt`` (svg, png, pdf or jpeg) at ``dpi`` for bitmaps."""
    import matplotlib as mpl

    with mpl.rc_context(_RC):
        fig = draw_scene(scene, layout)
        buf = io.BytesIO()
        if fmt == "jpeg":
            fig.savefig(buf, format="jpeg", dpi=dpi, facecolor="white",
                        pil_kwargs={"quality": 92})
        else:
            metadata = {"svg": {"Date": None}, "png": {"Software": None},
                        "pdf": {"CreationDate": None, "Producer": None}}[fmt]
            fig.savefig(buf, format=fmt, dpi=dpi, facecolor="white", metadata=metadata)
    return buf.getvalue()
