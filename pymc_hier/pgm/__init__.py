"""Probabilistic graphical models of PyMC models, drawn the way the lecture draws them.

:func:`export_pgm` writes a model's PGM as DOT source, images and TikZ;
:func:`pgm_digraph` returns it as a ``graphviz.Digraph``. By default the PGM shows the
model as written (:func:`pymc_hier.describe_model`), whatever the sampler's
parametrisation; ``view="sampler"`` shows the graph the sampler sees. The package is split
by concern, in the order the drawing flows:

- :mod:`~pymc_hier.pgm.scene`: what is drawn (nodes, labels as tokens, sizes, plates);
- :mod:`~pymc_hier.pgm.notation`: the labels typeset for each renderer (HTML-like,
  plain Unicode, TeX);
- :mod:`~pymc_hier.pgm.dot`: the scene as Graphviz DOT;
- :mod:`~pymc_hier.pgm.layout`: Graphviz's positions, for the drawings below;
- :mod:`~pymc_hier.pgm.draw` (matplotlib) and :mod:`~pymc_hier.pgm.tikz` (LaTeX);
- :mod:`~pymc_hier.pgm.render`: the rendering routes and the formats each writes;
- :mod:`~pymc_hier.pgm.graph`: PyMC's own graph (``style="pymc"``), made total and
  deterministic;
- :mod:`~pymc_hier.pgm.export`: files, written all-or-nothing.
"""

from pymc_hier.pgm.export import FORMATS, STYLES, export_pgm, pgm_digraph
from pymc_hier.pgm.render import RENDERERS, PGMRenderError

__all__ = ["FORMATS", "RENDERERS", "STYLES", "PGMRenderError", "export_pgm", "pgm_digraph"]
