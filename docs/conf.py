"""Sphinx configuration for the pymc_hier documentation.

Build (warnings are errors, the examples gallery is executed)::

    .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html

Set ``PYMC_HIER_FAST=1`` to run the gallery examples with tiny draw counts (a quick check
of the build, not for publishing).
"""

import os
from pathlib import Path

import pymc_hier

os.environ.setdefault("MPLBACKEND", "Agg")

HERE = Path(__file__).parent

project = "pymc_hier"
author = "pymc_hier developers"
copyright = "2026, pymc_hier developers"  # noqa: A001
version = release = pymc_hier.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.md5",
                    "auto_examples/*.py", "auto_examples/*.ipynb", "auto_examples/*.zip"]

# -- API reference -------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc docstrings carry the types
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- Markdown (benchmark tables, README fragments) ------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# -- Examples gallery ----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": str(HERE / "auto_examples"),
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "abort_on_example_error": True,
    # show DataFrames and printed values, not the reprs of matplotlib artists
    "ignore_repr_types": r"matplotlib[\.\w]*",
}

# -- HTML ----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "pymc_hier"
html_static_path = ["_static"] if (HERE / "_static").is_dir() else []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False


# -- Generated inputs: the CLI's --help texts ----------------------------------------
def _write_cli_help(out: Path) -> None:
    """Write ``pymc-hier [COMMAND] --help`` to ``out/<command>.txt`` for literalinclude."""
    import argparse

    from pymc_hier.cli import make_parser

    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal width: fix it
    out.mkdir(parents=True, exist_ok=True)
    parser = make_parser()
    texts = {"pymc-hier": parser.format_help()}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            texts.update({name: sub.format_help() for name, sub in action.choices.items()})
    for name, text in texts.items():
        path = out / f"{name}.txt"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


_write_cli_help(HERE / "gen_modules" / "cli")
