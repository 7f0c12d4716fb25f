"""A laid-out scene as a standalone TikZ picture: :func:`render_tikz`.

For papers and slides: the same layout as the matplotlib drawing, written as a LaTeX
document (``standalone`` class, TikZ and amsmath only) in the style of ``tikz-bayesnet``:
``latent``, ``obs``, ``const``, ``det``, ``factor`` and ``plate`` styles defined at the top,
so that one line changes the look of every figure. Compile with ``pdflatex``, or copy the
``tikzpicture`` into a document that defines the same styles.
"""

from __future__ import annotations

from pymc_hier.pgm.layout import Layout
from pymc_hier.pgm.notation import tex
from pymc_hier.pgm.scene import Scene, SceneNode

__all__ = ["render_tikz"]

_PREAMBLE = r"""% A probabilistic graphical model drawn by pymc_hier (export_pgm, formats=("tex",)).
% Coordinates in points, from the Graphviz layout of the PNG and SVG figures.
\documentclass[tikz,border=4pt]{standalone}
\usepackage{amsmath}
\usetikzlibrary{arrows.meta}
\tikzset{
  pgm/.style={line width=0.6pt},
  latent/.style={circle, draw, pgm, inner sep=0pt, align=center, minimum size=#1},
  obs/.style={latent=#1, fill=black!20},
  det/.style={rectangle, draw, pgm, inner sep=0pt, align=center,
              minimum width=#1, minimum height=12pt},
  const/.style={circle, fill=black, inner sep=0pt, minimum size=6.6pt},
  factor/.style={rectangle, draw, fill=black!65, pgm, inner sep=0pt, minimum size=6pt},
  plate/.style={draw, pgm, rounded corners=7pt},
  edge/.style={pgm, -{Stealth[length=5pt, width=4pt]}},
  undirected/.style={pgm},
}
"""


def _p(point) -> str:
    return f"({point[0]:.2f},{point[1]:.2f})"


# Computer Modern sets about 10% wider than the Times-like STIX the layout was measured in
_CM_SCALE = 0.9


def _label(node: SceneNode) -> str:
    rows = []
    for tokens, size in node.lines:
        size *= _CM_SCALE
        font = rf"\fontsize{{{size:.3g}}}{{{size * 1.2:.3g}}}\selectfont"
        rows.append(f"{{{font}${tex(tokens)}$}}")
    return r"\\[-1pt] ".join(rows)


def render_tikz(scene: Scene, layout: Layout) -> bytes:
    """Return the scene as a standalone LaTeX document (UTF-8 bytes)."""
    names = {node.id: f"n{k}" for k, node in enumerate(scene.nodes)}
    out = [_PREAMBLE, r"\begin{document}", r"\begin{tikzpicture}[x=1pt, y=1pt]"]
    for plate in scene.plates:
        (x0, y0, x1, y1), _ = layout.plates[plate.dims]
        head, sep, tail = plate.label.rpartition(" = ")
        word, _, letter = head.rpartition(" ")
        text = (f"{word + ' ' if word else ''}${letter}$ = {tail}" if sep else plate.label)
        out.append(f"  \\draw[plate] {_p((x0, y0))} rectangle {_p((x1, y1))};")
        out.append(f"  \\node[anchor=base east, font=\\fontsize{{11}}{{13}}\\selectfont] at "
                   f"{_p((x1 - 6, y0 + 5))} {{{text}}};")
    for node in scene.nodes:
        x, y = layout.nodes[node.id]
        name = names[node.id]
        comment = f"  % {node.name}"
        if node.shape == "circle":
            style = "obs" if node.kind == "observed" else "latent"
            out += [comment, f"  \\node[{style}={node.width:.2f}pt] ({name}) at {_p((x, y))} "
                             f"{{{_label(node)}}};"]
        elif node.shape == "box":
            out += [comment, f"  \\node[det={node.width:.2f}pt, minimum height="
                             f"{node.height:.2f}pt] ({name}) at {_p((x, y))} "
                             f"{{{_label(node)}}};"]
        else:
            left = x - node.width / 2
            marker = "const" if node.shape == "dot" else "factor"
            out += [comment, f"  \\node[{marker}] ({name}) at {_p((left + 4, y))} {{}};",
                    f"  \\node[anchor=west, inner sep=0pt] at {_p((left + 11, y))} "
                    f"{{{_label(node)}}};"]
    for _, _, points, tip in layout.edges:
        path = _p(points[0])
        for k in range(1, len(points) - 2, 3):
            path += (f" .. controls {_p(points[k])} and {_p(points[k + 1])} .. "
                     f"{_p(points[k + 2])}")
        if tip is not None:
            out.append(f"  \\draw[edge] {path} -- {_p(tip)};")
        else:
            out.append(f"  \\draw[undirected] {path};")
    out += [r"\end{tikzpicture}", r"\end{document}", ""]
    return "\n".join(out).encode("utf-8")
