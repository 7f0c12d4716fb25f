"""Self-contained, reproducible HTML reports: :func:`report`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import matplotlib
import pymc as pm
import xarray as xr

from pymc_hier.ppc import check_model_matches
from pymc_hier.reports import html as H
from pymc_hier.reports.checks import checks_section
from pymc_hier.reports.context import report_context
from pymc_hier.reports.estimates import headline_lines, headline_section, others_section
from pymc_hier.reports.model_section import data_section, model_section
from pymc_hier.reports.per_unit import per_unit_section
from pymc_hier.reports.provenance import provenance_section, timestamp_line
from pymc_hier.reports.sampling import (
    diagnostics_section,
    sampling_status,
    sampling_status_line,
)
from pymc_hier.reports.sensitivity import check_sweep, sensitivity_section
from pymc_hier.reports.workflow import check_cv, check_pooling, workflow_section
from pymc_hier.spec import get_spec

__all__ = ["report", "summary_text"]

_TIMESTAMP_ENV = "PYMC_HIER_REPORT_TIMESTAMP"
#: Matplotlib settings of every figure in a report.
STYLE = {"font.size": 9.0, "axes.titlesize": 9.0, "axes.labelsize": 9.0,
         "legend.fontsize": 8.0, "xtick.labelsize": 8.0, "ytick.labelsize": 8.0,
         "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100.0,
         "svg.hashsalt": "pymc_hier", "svg.fonttype": "none"}


def _check_inputs(idata, model, path, sweep, ci_prob, var_names, truth, title, timestamp,
                  pooling=None, cv=None):
    if not isinstance(idata, xr.DataTree):
        raise TypeError(f"idata: expected an xarray.DataTree (the result of fit), got "
                        f"{type(idata).__name__}")
    if "posterior" not in idata.children:
        raise ValueError("idata: a DataTree with a 'posterior' group is required")
    if not isinstance(model, pm.Model):
        raise TypeError(f"model: expected a pymc.Model, got {type(model).__name__}")
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path: expected a str or path-like, got {type(path).__name__}")
    if isinstance(ci_prob, bool) or not isinstance(ci_prob, int | float):
        raise TypeError(f"ci_prob: expected a number, got {type(ci_prob).__name__}")
    if not 0 < ci_prob < 1:
        raise ValueError(f"ci_prob: must lie in (0, 1), got {ci_prob!r}")
    if var_names is not None and (isinstance(var_names, str)
                                  or not isinstance(var_names, Sequence)
                                  or not all(isinstance(v, str) for v in var_names)):
        raise TypeError("var_names: expected a sequence of variable names")
    if truth is not None and not isinstance(truth, Mapping):
        raise TypeError(f"truth: expected a mapping of true values by variable name, got "
                        f"{type(truth).__name__}")
    for name, value in (("title", title), ("timestamp", timestamp)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name}: expected a str, got {type(value).__name__}")
    if sweep is not None:
        check_sweep(sweep)
    if pooling is not None:
        check_pooling(pooling)
    if cv is not None:
        check_cv(cv)
    check_model_matches(idata, model)
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path: {str(path)!r} is a folder; give the HTML file to write")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"path: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"path: folder {str(parent)!r} is not writable")
    return path, parent


def report(idata: xr.DataTree, model: pm.Model, path: str | os.PathLike, *,
           title: str | None = None, sweep: xr.Dataset | None = None,
           command: str | None = None, timestamp: str | None = None,
           ci_prob: float = 0.9, var_names: Sequence[str] | None = None,
           truth: Mapping | None = None, pooling: xr.Dataset | None = None,
           cv: xr.Dataset | None = None, pgm: str | os.PathLike | None = None) -> Path:
    """Write one self-contained HTML report of a fit, as an analysis reads.

    In order: a summary box (the population parameters with their units, the truth when
    the data carry it and the exact posterior beside MCMC where the family has one, the
    conventions stated once); the model's equations (MathML) and its PGM; the data; the
    per-unit parameters as sorted forest plots (and a shrinkage plot for a normal
    hierarchy), every number folded below; diagnostics (checks against thresholds, rank
    plots, E-BFMI, a funnel plot where NUTS diverged); predictive checks (when ``idata``
    has a ``posterior_predictive`` group); pooling, cross-validation and predictions (where
    ``pooling``, ``cv`` or a ``predictions`` group exist, and which groups suit the
    centred form where NUTS diverged); prior sensitivity (when ``sweep`` is given);
    provenance. Variables internal to the sampler's parametrisation are never shown unless
    ``var_names`` asks for them. Plain PyMC models get the same report, their equations
    read off the graph. The page loads no external resource and runs no script.

    Reports are reproducible: the same inputs give byte-identical files apart from the one
    line holding the timestamp (``<p id="timestamp">``, which also says when the fit was
    made).

    Parameters
    ----------
    idata : xarray.DataTree
        Output of :func:`pymc_hier.fit` (optionally with
        :func:`pymc_hier.sample_predictive` groups).
    model : pymc.Model
        The model that was fitted (checked as :func:`pymc_hier.sample_predictive` does).
    path : path-like
        The HTML file to write; written atomically (nothing is left on failure).
    title : str, optional
        Page title; by default derived from the model's factory.
    sweep : xarray.Dataset, optional
        Output of :func:`pymc_hier.prior_sweep`.
    command : str, optional
        The command line that produced the report (the CLI passes it).
    timestamp : str, optional
        The timestamp line's text; by default when the report and the fit were made (or
        the ``PYMC_HIER_REPORT_TIMESTAMP`` environment variable, for fully fixed output).
    ci_prob : float, default 0.9
        Probability of every interval in the report (equal-tailed; the default matches the
        5% and 95% quantiles :func:`pymc_hier.prior_sweep` records).
    var_names : sequence of str, optional
        Further posterior variables to tabulate (internal ones included).
    truth : mapping, optional
        True values by variable name, shown beside the estimates; added to (and
        overriding) those the model's family reads from the data.
    pooling : xarray.Dataset, optional
        Output of :func:`pymc_hier.compare_pooling` on the same data.
    cv : xarray.Dataset, optional
        Output of :func:`pymc_hier.cross_validate` of this fit.
    pgm : path-like, optional
        The model's PGM as an SVG file that :func:`pymc_hier.export_pgm` wrote with its
        default view and style (``pymc-hier run`` passes its own): embedded as it is
        instead of being drawn again.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    TypeError
        For arguments of the wrong type (``idata`` not a DataTree, ``model`` not a
        ``pm.Model``, ``sweep`` not a Dataset, ...).
    ValueError
        When ``idata`` has no posterior group or was not fitted with ``model``, ``sweep``
        is not a prior sweep, ``path`` is a folder or its folder does not exist or cannot
        be written, or ``var_names`` names variables that are not in the posterior.
    """
    path, parent = _check_inputs(idata, model, path, sweep, ci_prob, var_names, truth,
                                 title, timestamp, pooling, cv)
    pgm_svg = None if pgm is None else _read_svg(pgm)
    spec = get_spec(model)
    family = None if spec is None else spec.family
    if timestamp is None:
        fixed = os.environ.get(_TIMESTAMP_ENV)
        timestamp = fixed or timestamp_line(
            idata, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    with matplotlib.rc_context(STYLE):
        ctx = report_context(idata, model, ci_prob=ci_prob, var_names=var_names,
                             truth=truth, spec=spec)
        sections = [
            ("summary", "Summary", headline_section(ctx, sampling_status(ctx))
             + others_section(ctx)),
            ("model", "Model", model_section(ctx, pgm_svg=pgm_svg)),
            ("data", "Data", data_section(ctx)),
            ("per-unit", "Per-unit estimates", per_unit_section(ctx)),
            ("diagnostics", "Diagnostics", diagnostics_section(ctx)),
            ("checks", "Predictive checks", checks_section(ctx)),
            ("workflow", "Pooling, cross-validation and prediction",
             workflow_section(ctx, pooling, cv)),
            ("sensitivity", "Prior sensitivity",
             sensitivity_section(ctx, sweep, var_names) if sweep is not None else ""),
            ("provenance", "Provenance", provenance_section(idata, sweep, command)),
        ]
    sections = [s for s in sections if s[2]]
    body = "\n".join(H.section(anchor, name, html, css_class="headline"
                               if anchor == "summary" else None)
                     for anchor, name, html in sections)
    if title is None:
        title = (f"{_sentence(spec.factory.removesuffix('_model').replace('_', ' '))} model: "
                 "report"
                 if spec is not None else "PyMC model: report")
    subtitle = _sentence(family.summary) if family is not None and family.summary else (
        "" if family is not None else "A model without a pymc_hier family: its equations "
        "are read off the PyMC graph.")
    text = H.page(title, body, timestamp=timestamp, subtitle=subtitle,
                  contents=[(a, t) for a, t, _ in sections])
    _write_atomically(text, path, parent)
    return path


def summary_text(idata: xr.DataTree, model: pm.Model, *, ci_prob: float = 0.9,
                 truth: Mapping | None = None) -> str:
    """Write the report's summary box as plain text.

    One line a population parameter, then how the draws were made and whether every
    convergence check passed: the same numbers, units, interval and truth as
    :func:`report` with the same arguments (``pymc-hier run`` prints it when it has
    written the report).

    Parameters
    ----------
    idata : xarray.DataTree
        Output of :func:`pymc_hier.fit`.
    model : pymc.Model
        The model that was fitted.
    ci_prob : float, default 0.9
        Probability of the equal-tailed intervals.
    truth : mapping, optional
        True values by variable name, as for :func:`report`.

    Returns
    -------
    str
        Lines separated by newlines, no trailing newline.
    """
    check_model_matches(idata, model)
    ctx = report_context(idata, model, ci_prob=ci_prob, var_names=None, truth=truth,
                         spec=get_spec(model))
    lines = headline_lines(ctx)
    if not lines:
        lines = ["The model has no scalar parameters; see the report's per-unit estimates."]
    return "\n".join([*lines, sampling_status_line(ctx)])


def _read_svg(pgm) -> str:
    """Return the text of the SVG file ``pgm`` (``TypeError``, ``ValueError``: why not)."""
    if not isinstance(pgm, str | os.PathLike):
        raise TypeError(f"pgm: expected a path to an SVG file, got {type(pgm).__name__}")
    try:
        text = Path(pgm).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"pgm: cannot read {str(pgm)!r} ({err})") from None
    if "<svg" not in text[:2000]:
        raise ValueError(f"pgm: {str(pgm)!r} is not an SVG file")
    return text


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _write_atomically(text: str, path: Path, parent: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise ValueError(f"path: cannot write {str(path)!r} ({err.strerror or err})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
